"""Notifications: in the app (header count, list, read) and by email through a real SMTP server."""
import json

from escalation.cases import service as cases
from escalation.inboxes import service as inboxes
from escalation.sla.ladder import sweep
from escalation.sla.models import Notification
from escalation.sla.notifications import deliver_pending

from .factories import NOW, make_contact, make_inbox, make_member
from .factories_sla import (app_ctx, body_of, fresh, hours, mail_to, minutes,  # noqa: F401
                            new_case, set_settings, smtp_server, strict_sla)


# ---------------------------------------------------------------------------------------------
# Who is told what


def test_inbox_owners_hear_of_a_new_escalation(org, agent):
    owner, other_owner = make_member(org, "agent"), make_member(org, "agent")
    l2 = make_inbox(org, owners=[owner, other_owner, agent], tier=2)
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), l2, agent, reason="Disk", now=NOW)
    told = Notification.select().where(Notification.kind == "new_escalation")
    assert sorted(n.member_id for n in told) == sorted([owner.id, other_owner.id])  # not the actor


def test_the_requester_hears_of_tier_changes_replies_and_resolution(org, agent):
    requester = make_contact(org, email="req@example.test")
    owner = make_member(org, "agent")
    l2 = make_inbox(org, owners=[owner], tier=2)
    l2b = make_inbox(org, owners=[owner], tier=2)
    case = new_case(org, agent, requester=requester)
    cases.reply(fresh(case), agent, body="Looking into it", now=NOW + minutes(5))
    inboxes.escalate(fresh(case), l2, agent, reason="Disk", now=NOW + minutes(10))
    inboxes.move(fresh(case), l2b, owner, reason="", now=NOW + minutes(20))  # same tier: quiet
    cases.change_status(fresh(case), agent, status="resolved", note="New disk", now=NOW + hours(1))
    kinds = [n.kind for n in Notification.select().where(Notification.contact == requester.id)
             .order_by(Notification.id)]
    assert kinds == ["replied", "escalated_tier", "resolved"]


def test_requested_for_is_told_only_when_the_organisation_wants(org, agent):
    requester = make_contact(org)
    on_behalf = make_contact(org)
    case = new_case(org, agent, requester=requester, requested_for=on_behalf)
    cases.reply(fresh(case), agent, body="Hi", now=NOW + minutes(5))
    assert Notification.select().where(Notification.contact == on_behalf.id).count() == 0
    set_settings(org, notify_requested_for=True)
    cases.reply(fresh(case), agent, body="Again", now=NOW + minutes(10))
    assert Notification.select().where(Notification.contact == on_behalf.id).count() == 1


def test_claimants_are_warned_before_a_claim_lapses_once(app_ctx, org, agent):
    owner = make_member(org, "agent")
    l2 = make_inbox(org, owners=[owner], assignment_minutes=60)
    case = new_case(org, agent)
    inboxes.escalate(fresh(case), l2, agent, reason="Disk", now=NOW)
    inboxes.claim_case(fresh(case), owner, now=NOW)
    sweep(NOW + minutes(45))
    assert Notification.select().where(Notification.kind == "claim_lapsing").count() == 0
    sweep(NOW + minutes(51))
    sweep(NOW + minutes(55))
    lapsing = list(Notification.select().where(Notification.kind == "claim_lapsing"))
    assert [n.member_id for n in lapsing] == [owner.id]


# ---------------------------------------------------------------------------------------------
# Email in each recipient's language, through a real SMTP server


def test_emails_in_swedish_and_english(app_ctx, smtp_server, org, agent):
    svensk = make_contact(org, name="Sven", email="sven@example.test", locale="sv")
    english = make_contact(org, name="Emma", email="emma@example.test", locale="en")
    owner = make_member(org, "agent", email="owner@example.test", locale="sv")
    l2 = make_inbox(org, owners=[owner], tier=2, name="Hårdvara L2")
    first = new_case(org, agent, requester=svensk, subject="Skrivaren brinner")
    second = new_case(org, agent, requester=english, subject="Printer on fire")
    inboxes.escalate(fresh(first), l2, agent, reason="Disk", now=NOW)
    inboxes.escalate(fresh(second), l2, agent, reason="Disk", now=NOW)
    assert deliver_pending(NOW) == 4
    assert deliver_pending(NOW) == 0  # each sent once
    sv_mail, = mail_to(smtp_server, "sven@example.test")
    en_mail, = mail_to(smtp_server, "emma@example.test")
    assert sv_mail["Subject"] == f"Ditt ärende #{first.id}: Skrivaren brinner"
    assert "specialister" in body_of(sv_mail)
    assert en_mail["Subject"] == f"Your case #{second.id}: Printer on fire"
    assert "specialists" in body_of(en_mail)
    owner_mails = mail_to(smtp_server, "owner@example.test")
    assert len(owner_mails) == 2
    assert owner_mails[0]["Subject"].startswith("Ny eskalering i Hårdvara L2")
    assert f"https://desk.example.test/cases/{first.id}" in body_of(owner_mails[0])
    assert all(n.email_status == "sent" for n in Notification.select())


def test_a_failing_smtp_server_is_retried_later(app_ctx, app, org, agent):
    requester = make_contact(org, email="req@example.test")
    case = new_case(org, agent, requester=requester)
    cases.reply(fresh(case), agent, body="Hi", now=NOW + minutes(5))
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1)  # nothing listens there
    assert deliver_pending(NOW + minutes(6)) == 0
    notice = Notification.get(Notification.contact == requester.id)
    assert notice.email_status == "pending" and notice.email_attempts == 1


# ---------------------------------------------------------------------------------------------
# In the app


def make_notice(org, member, kind="new_escalation", **data):
    from escalation.sla.notifications import notify_member
    case = new_case(org, make_member(org, "agent"))
    return notify_member(member, kind, now=NOW, case=case, inbox="Hardware L2", **data)


def test_header_shows_the_unread_count(client, login, org, agent):
    make_notice(org, agent)
    make_notice(org, agent)
    login(agent)
    page = client.get("/").get_data(as_text=True)
    assert 'id="unread-count"' in page and "2<span" in page
    fragment = client.get("/sla/notifications/count", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "2" in fragment.get_data(as_text=True)


def test_list_and_mark_all_read_plain(client, login, org, agent):
    notice = make_notice(org, agent)
    login(agent)
    page = client.get("/sla/notifications").get_data(as_text=True)
    assert f"New escalation in Hardware L2: #{notice.case_id}" in page
    response = client.post("/sla/notifications/read")
    assert response.status_code == 303
    assert "1 notification marked as read." in client.get("/sla/notifications").get_data(as_text=True)
    assert Notification.get_by_id(notice.id).read_at is not None


def test_mark_all_read_htmx(client, login, org, agent):
    make_notice(org, agent)
    login(agent)
    response = client.post("/sla/notifications/read", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "notifications-changed" in json.loads(response.headers["HX-Trigger"])
    assert "HX-Request" in response.headers["Vary"]


def test_opening_a_notification_marks_it_read(client, login, org, agent):
    notice = make_notice(org, agent)
    login(agent)
    response = client.post(f"/sla/notifications/{notice.id}/open")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{notice.case_id}")
    assert Notification.get_by_id(notice.id).read_at is not None


def test_someone_elses_notification_is_404(client, login, org, agent, supervisor):
    notice = make_notice(org, supervisor)
    login(agent)
    assert client.post(f"/sla/notifications/{notice.id}/open").status_code == 404
    assert Notification.get_by_id(notice.id).read_at is None


def test_notifications_in_swedish(client, login, org, agent):
    agent.user.locale = "sv"
    agent.user.save()
    notice = make_notice(org, agent)
    login(agent)
    page = client.get("/sla/notifications").get_data(as_text=True)
    assert f"Ny eskalering i Hardware L2: #{notice.case_id}" in page


def test_notifications_need_sign_in(client):
    assert client.get("/sla/notifications").status_code == 302
    assert client.get("/sla/notifications/count", htmx=True).status_code == 401


def test_the_generic_tier_mail_is_skipped_when_the_escalation_form_told_the_requester(app, org):
    from escalation import audit
    from escalation.sla.models import Notification
    from escalation.sla.notifications import deliver_pending, notify_contact

    from .factories import NOW, make_case, make_contact

    told, untold = (make_case(org, requester=make_contact(org)) for _ in range(2))
    with app.app_context():
        for case in (told, untold):
            notify_contact(case.requester, "escalated_tier", now=NOW, case=case, tier=2)
        audit.record(None, "escalations.requester_notified", organisation=org, case=told, now=NOW)
        deliver_pending(NOW)
    status = {n.case_id: n.email_status for n in Notification.select()}
    assert status == {told.id: "skipped", untold.id: "sent"}


def test_the_reply_mail_carries_the_reply_and_the_last_message_of_an_escalation(
        app_ctx, smtp_server, org, agent):
    requester = make_contact(org, name="Sven", email="sven@example.test", locale="sv")
    l2 = make_inbox(org, owners=[make_member(org, "agent")], tier=1)  # same tier: no tier mail
    case = new_case(org, agent, requester=requester, subject="Skärmen")
    cases.reply(fresh(case), agent, body="Vi tittar på det.", now=NOW + minutes(5))
    inboxes.escalate(fresh(case), l2, agent, reason="Skärm", now=NOW + minutes(10),
                     message="Jag lämnar över till våra tekniker, de hör av sig i dag.")
    assert deliver_pending(NOW + minutes(11)) == 3  # the two replies, and the inbox owner's news
    first, second = mail_to(smtp_server, "sven@example.test")
    assert "Vi tittar på det." in body_of(first)
    assert "de hör av sig i dag" not in body_of(first)
    assert "Jag lämnar över till våra tekniker, de hör av sig i dag." in body_of(second)
