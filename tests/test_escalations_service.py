"""The escalation form's domain, called directly with a fixed ``now`` on both backends."""
import threading
from datetime import timedelta

import pytest
from peewee import IntegrityError, InternalError, OperationalError

from escalation.db import database
from escalation.errors import Conflict, Forbidden, Invalid
from escalation.escalations import rules, service
from escalation.escalations.models import (Attachment, CatalogCategory, CatalogItem,
                                           EscalationPacket, PathStep)
from escalation.inboxes import service as inboxes
from escalation.models import AuditEvent, Case, Escalation

from . import factories
from . import factories_escalations as fx
from .factories import NOW
from .factories_escalations import desk  # noqa: F401  (fixture)


@pytest.fixture
def mail_app(app):
    """Service calls that send mail need the app (no SMTP_HOST: the mail is logged); lazy
    messages are read in a request's language."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield app


# ------------------------------------------------------------------------------------------------
# The catalog

def test_default_catalog_is_created_once_with_the_inboxes_above_l1(org, db):
    l3 = factories.make_inbox(org, name="Engineers", tier=3)
    l2 = factories.make_inbox(org, name="Hardware", tier=2)
    item = service.ensure_default_catalog(org, now=NOW)
    again = service.ensure_default_catalog(org, now=NOW + timedelta(minutes=1))

    assert item.id == again.id
    assert (item.key, item.category.key) == ("escalation", "handling")
    assert CatalogItem.select().where(CatalogItem.organisation == org).count() == 1
    assert CatalogCategory.select().where(CatalogCategory.organisation == org).count() == 1
    assert [i.id for i in service.path_of(item)] == [l2.id, l3.id]


def test_default_catalog_created_concurrently_exists_once(org, db, app):
    """Two requests opening the catalog at once: one creates it, the other finds it."""
    barrier = threading.Barrier(2)
    found, errors = [], []

    def open_catalog():
        try:
            with database.connection_context():
                barrier.wait()
                found.append(service.ensure_default_catalog(org, now=NOW).id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    database.close()
    threads = [threading.Thread(target=open_catalog) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.connect(reuse_if_open=True)
    assert not errors
    assert len(set(found)) == 1
    assert CatalogItem.select().where(CatalogItem.organisation == org).count() == 1


def test_path_steps_move_and_are_removed(org, admin, db):
    a, b, c = (factories.make_inbox(org, tier=t) for t in (2, 3, 4))
    item = service.ensure_default_catalog(org, now=NOW)
    assert [i.id for i in service.path_of(item)] == [a.id, b.id, c.id]
    step_c = PathStep.get((PathStep.item == item) & (PathStep.inbox == c))
    service.move_path_step(step_c, admin, up=True, now=NOW)
    assert [i.id for i in service.path_of(item)] == [a.id, c.id, b.id]
    service.remove_path_step(PathStep.get(PathStep.inbox == a), admin, now=NOW)
    assert [i.id for i in service.path_of(item)] == [c.id, b.id]
    with pytest.raises(Invalid):
        service.add_path_step(item, b, admin, now=NOW)
    service.add_path_step(item, a, admin, now=NOW)
    assert [i.id for i in service.path_of(item)] == [c.id, b.id, a.id]
    assert AuditEvent.select().where(AuditEvent.action == "escalations.path_changed").count() == 3


def test_only_admins_change_the_catalog(org, agent, db):
    item = service.ensure_default_catalog(org, now=NOW)
    with pytest.raises(Forbidden):
        service.create_category(org, agent, name="Hardware", now=NOW)
    with pytest.raises(Forbidden):
        service.add_path_step(item, factories.make_inbox(org), agent, now=NOW)


# ------------------------------------------------------------------------------------------------
# Submitting

def test_submit_from_a_case_escalates_into_the_next_inbox_with_the_packet(desk, mail_app):
    requester = factories.make_contact(desk.org, name="Lena Lind")
    case = factories.make_case(desk.org, desk.queue, requester=requester, assignee=desk.agent,
                               priority=2)
    photo = service.store_uploads(desk.agent, "t" * 20, [("photo.png", fx.png())],
                                  limits=service.UploadLimits(), now=NOW)[0][0]
    packet = service.submit_form(desk.agent, desk.item, fx.form_values(requester), case=case,
                                 token="t" * 20, now=NOW)

    case = Case.get_by_id(case.id)
    assert case.inbox_id == desk.l2.id and case.assignee_id is None and case.priority == 3
    escalation = Escalation.get_by_id(case.escalation_id)
    assert packet.escalation_id == escalation.id and packet.item_id == desk.item.id
    data = packet.data
    assert data["serial_number"] == fx.SERIAL
    assert data["from"] == {"kind": "queue", "id": desk.queue.id, "name": "Servicedesk", "tier": 1}
    assert data["to"]["id"] == desk.l2.id and data["to"]["tier"] == 2
    assert data["requester"]["name"] == "Lena Lind"
    assert [a["id"] for a in data["attachments"]] == [photo.id]
    attached = Attachment.get_by_id(photo.id)
    assert attached.case_id == case.id and attached.packet_id == packet.id
    assert attached.form_token is None
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.case == case)
               .order_by(AuditEvent.id)]
    assert "escalation.escalated" in actions and "escalations.form_submitted" in actions
    assert "case.priority_changed" in actions
    assert actions[-1] == "escalations.requester_notified"


def test_submit_from_the_catalog_opens_the_case_in_the_members_l1_queue(desk, mail_app):
    requester = factories.make_contact(desk.org)
    packet = service.submit_form(desk.agent, desk.item, fx.form_values(requester), now=NOW)
    case = Case.get_by_id(packet.case_id)
    assert case.queue_id == desk.queue.id and case.requester_id == requester.id
    assert case.inbox_id == desk.l2.id
    assert packet.data["case_created"] is True
    assert case.messages.count() == 1  # the description, as the requester's first message


def test_a_member_named_as_requester_becomes_a_contact_once(desk, mail_app, supervisor):
    person = service.resolve_person(desk.org, "sam@example.test", "requester")
    values = fx.form_values(person)
    first = service.submit_form(desk.agent, desk.item, values, now=NOW)
    second = service.submit_form(desk.agent, desk.item, values, now=NOW)
    contact = Case.get_by_id(first.case_id).requester
    assert contact.member_id == supervisor.id and contact.email == "sam@example.test"
    assert Case.get_by_id(second.case_id).requester_id == contact.id


def test_server_refuses_an_incomplete_form_whatever_the_browser_sent(desk, mail_app):
    requester = factories.make_contact(desk.org)
    with pytest.raises(Invalid) as refused:
        service.submit_form(desk.agent, desk.item,
                            fx.form_values(requester, serial_number="  ", troubleshooting=""),
                            now=NOW)
    assert {field for field, _ in refused.value.reasons} == {"serial_number", "troubleshooting"}
    assert Case.select().count() == 0 and EscalationPacket.select().count() == 0


def test_item_requirements_apply_on_the_server(desk, mail_app, admin):
    service.update_item(desk.item, admin, service.ItemSettings(
        name="", required_fields=["requested_for", "attachments"], min_description_length=500),
        now=NOW)
    item = CatalogItem.get_by_id(desk.item.id)
    with pytest.raises(Invalid) as refused:
        service.submit_form(desk.agent, item, fx.form_values(factories.make_contact(desk.org)),
                            now=NOW)
    assert {f for f, _ in refused.value.reasons} == {"requested_for", "attachments", "description"}


def test_a_short_description_needs_the_agents_confirmation_on_the_server(desk, mail_app):
    requester = factories.make_contact(desk.org)
    with pytest.raises(Invalid) as refused:
        service.submit_form(desk.agent, desk.item,
                            fx.form_values(requester, description="Svart skärm."), now=NOW)
    assert [field for field, _ in refused.value.reasons] == ["description"]
    assert "shorter than the recommended 40 characters" in str(refused.value.reasons[0][1])
    assert Case.select().count() == 0
    # Confirming never excuses an empty description: that one is required.
    with pytest.raises(Invalid) as empty:
        service.submit_form(desk.agent, desk.item, fx.form_values(requester, description="  "),
                            short_confirmed=True, now=NOW)
    assert [field for field, _ in empty.value.reasons] == ["description"]
    packet = service.submit_form(desk.agent, desk.item,
                                 fx.form_values(requester, description="Svart skärm."),
                                 short_confirmed=True, now=NOW)
    assert packet.data["description"] == "Svart skärm."
    assert packet.data["short_confirmed_fields"] == ["description"]
    event = AuditEvent.get(AuditEvent.action == "escalations.form_submitted")
    assert event.data["short_confirmed_fields"] == ["description"]


def test_short_troubleshooting_needs_the_agents_confirmation_on_the_server(desk, mail_app):
    requester = factories.make_contact(desk.org)
    short = fx.form_values(requester, troubleshooting="Omstart.")
    with pytest.raises(Invalid) as refused:
        service.submit_form(desk.agent, desk.item, short, now=NOW)
    assert [field for field, _ in refused.value.reasons] == ["troubleshooting"]
    assert "troubleshooting text is shorter than the recommended 20 characters" in str(
        refused.value.reasons[0][1])
    assert Case.select().count() == 0 and EscalationPacket.select().count() == 0
    # Confirming never excuses an empty troubleshooting text: that one is required.
    with pytest.raises(Invalid) as empty:
        service.submit_form(desk.agent, desk.item, fx.form_values(requester, troubleshooting=" "),
                            short_confirmed=True, now=NOW)
    assert empty.value.reasons == [("troubleshooting", rules.REQUIRED_MESSAGES["troubleshooting"])]
    packet = service.submit_form(desk.agent, desk.item, short, short_confirmed=True, now=NOW)
    assert packet.data["troubleshooting"] == "Omstart."
    assert packet.data["short_confirmed_fields"] == ["troubleshooting"]
    event = AuditEvent.get(AuditEvent.action == "escalations.form_submitted")
    assert event.data["short_confirmed_fields"] == ["troubleshooting"]


def test_the_short_warning_is_in_the_members_language(desk, app):
    requester = factories.make_contact(desk.org)
    with app.test_request_context(headers={"Accept-Language": "sv"}):
        with pytest.raises(Invalid) as refused:
            service.submit_form(desk.agent, desk.item,
                                fx.form_values(requester, troubleshooting="Omstart."), now=NOW)
        assert str(refused.value.reasons[0][1]).startswith(
            "Felsökningen är kortare än de rekommenderade 20 tecknen.")


def test_one_confirmation_covers_both_short_texts(desk, mail_app):
    values = fx.form_values(factories.make_contact(desk.org), description="Svart skärm.",
                            troubleshooting="Omstart.")
    with pytest.raises(Invalid) as refused:
        service.submit_form(desk.agent, desk.item, values, now=NOW)
    assert [field for field, _ in refused.value.reasons] == ["description", "troubleshooting"]
    packet = service.submit_form(desk.agent, desk.item, values, short_confirmed=True, now=NOW)
    assert packet.data["short_confirmed_fields"] == ["description", "troubleshooting"]
    event = AuditEvent.get(AuditEvent.action == "escalations.form_submitted")
    assert event.data["short_confirmed_fields"] == ["description", "troubleshooting"]


def test_long_enough_texts_are_not_recorded_as_short_even_if_confirmed(desk, mail_app):
    packet = service.submit_form(desk.agent, desk.item,
                                 fx.form_values(factories.make_contact(desk.org)),
                                 short_confirmed=True, now=NOW)
    assert packet.data["short_confirmed_fields"] == []


def test_no_path_means_no_escalation(org, agent, mail_app):
    factories.make_queue(org, members=[agent], tier=1)
    item = service.ensure_default_catalog(org, now=NOW)  # no inboxes: an empty path
    with pytest.raises(Invalid) as refused:
        service.submit_form(agent, item, fx.form_values(factories.make_contact(org)), now=NOW)
    assert refused.value.reasons[0][0] is None
    assert Case.select().count() == 0


def test_packets_cannot_be_changed(desk, mail_app):
    packet = service.submit_form(desk.agent, desk.item,
                                 fx.form_values(factories.make_contact(desk.org)), now=NOW)
    with pytest.raises((IntegrityError, InternalError, OperationalError)):
        with database.atomic():
            (EscalationPacket.update(data_json="{}")
             .where(EscalationPacket.id == packet.id).execute())
    assert EscalationPacket.get_by_id(packet.id).data["serial_number"] == fx.SERIAL


# ------------------------------------------------------------------------------------------------
# Between tiers

def _escalated(desk, mail_app):
    requester = factories.make_contact(desk.org)
    case = factories.make_case(desk.org, desk.queue, requester=requester, assignee=desk.agent)
    service.submit_form(desk.agent, desk.item, fx.form_values(requester), case=case, now=NOW)
    return Case.get_by_id(case.id)


def test_next_tier_follows_the_path_and_needs_what_was_tried(desk, mail_app):
    case = _escalated(desk, mail_app)
    with pytest.raises(Invalid):
        service.escalate_next_tier(case, desk.l2_owner, tried="  ", now=NOW)
    escalation = service.escalate_next_tier(case, desk.l2_owner, tried="Swapped the SSD.",
                                            now=NOW + timedelta(minutes=5))
    assert escalation.inbox_id == desk.l3.id and escalation.from_inbox_id == desk.l2.id
    assert escalation.reason == "Swapped the SSD."
    case = Case.get_by_id(case.id)
    with pytest.raises(Forbidden):  # not an owner of L3
        service.escalate_next_tier(case, desk.l2_owner, tried="x", now=NOW)


def test_last_tier_has_no_next(desk, mail_app, supervisor):
    case = _escalated(desk, mail_app)
    inboxes.move(case, desk.l4, supervisor, reason="straight to the vendor", now=NOW)
    with pytest.raises(Invalid):
        service.escalate_next_tier(Case.get_by_id(case.id), supervisor, tried="x", now=NOW)


def test_send_back_moves_down_then_de_escalates_to_the_agent(desk, mail_app, supervisor):
    case = _escalated(desk, mail_app)
    service.escalate_next_tier(case, supervisor, tried="Checked the logs.", now=NOW)
    case = Case.get_by_id(case.id)
    with pytest.raises(Invalid):
        service.send_back(case, supervisor, reason="", now=NOW)
    service.send_back(case, supervisor, reason="Need the exact error text.", now=NOW)
    case = Case.get_by_id(case.id)
    assert case.inbox_id == desk.l2.id
    service.send_back(case, supervisor, reason="Ask the user for a photo.", now=NOW)
    case = Case.get_by_id(case.id)
    assert case.inbox_id is None and case.assignee_id == desk.agent.id
    event = (AuditEvent.select().where(AuditEvent.action == "escalations.sent_back")
             .order_by(AuditEvent.id.desc()).first())
    assert event.data["to_name"] == "Servicedesk"
    assert event.data["reason"] == "Ask the user for a photo."


def test_an_inbox_removed_from_the_path_still_has_a_next_and_previous_tier(desk, mail_app,
                                                                          supervisor):
    case = _escalated(desk, mail_app)
    service.escalate_next_tier(case, supervisor, tried="Ran diagnostics.", now=NOW)  # now in L3
    fx.set_path(desk.item, [desk.l2, desk.l4])  # L3 is taken out of the path
    case = Case.get_by_id(case.id)
    path = service.path_of(desk.item)
    assert service.next_inbox(path, case).id == desk.l4.id
    assert service.previous_inbox(path, case).id == desk.l2.id
    service.escalate_next_tier(case, supervisor, tried="Vendor must replace the board.", now=NOW)
    assert Case.get_by_id(case.id).inbox_id == desk.l4.id


def test_a_deleted_inbox_is_skipped(desk, mail_app, supervisor):
    desk.l2.deleted_at = NOW
    desk.l2.save()
    requester = factories.make_contact(desk.org)
    packet = service.submit_form(desk.agent, desk.item, fx.form_values(requester), now=NOW)
    assert Case.get_by_id(packet.case_id).inbox_id == desk.l3.id


def test_bounce_flag_after_more_than_two_round_trips(desk, mail_app, supervisor):
    case = _escalated(desk, mail_app)
    counts = []
    for round_trip in range(3):
        service.escalate_next_tier(Case.get_by_id(case.id), supervisor, tried=f"try {round_trip}",
                                   now=NOW)
        service.send_back(Case.get_by_id(case.id), supervisor, reason=f"back {round_trip}", now=NOW)
        counts.append(service.bounce_counts([case.id]).get(case.id, 0))
    assert counts == [1, 2, 3]
    assert not service.is_bouncing(2) and service.is_bouncing(3)
    # A de-escalation back to L1 counts as a return too.
    service.send_back(Case.get_by_id(case.id), supervisor, reason="back to L1", now=NOW)
    assert service.bounce_counts([case.id])[case.id] == 4
    # Who escalated each step comes with the history (the panel lists them by name).
    named = [e for e in service.history_of(case) if e.escalated_by_id is not None]
    assert named and all("escalated_by" in e.__rel__ and "user" in e.escalated_by.__rel__
                         for e in named)


def test_moving_a_case_someone_else_just_moved_is_a_conflict(desk, mail_app, supervisor):
    case = _escalated(desk, mail_app)
    stale = Case.get_by_id(case.id)
    service.escalate_next_tier(Case.get_by_id(case.id), supervisor, tried="first", now=NOW)
    with pytest.raises(Conflict):
        service.send_back(stale, supervisor, reason="too late", now=NOW)


# ------------------------------------------------------------------------------------------------
# Uploads

def test_uploads_are_checked_limited_and_kept_pending(desk, db):
    limits = service.UploadLimits(max_bytes=2000, max_count=2)
    stored, refused = service.store_uploads(
        desk.agent, "x" * 20,
        [("a.png", fx.png()), ("big.log", b"x" * 2001), ("b.pdf", fx.PDF), ("c.log", fx.LOG)],
        limits=limits, now=NOW)
    assert [a.name for a in stored] == ["a.png", "b.pdf"]
    assert len(refused) == 2  # too large; one too many
    assert Attachment.count_pending(desk.agent, "x" * 20) == 2
    again, _ = service.store_uploads(desk.agent, "x" * 20, [("a.png", fx.png())], limits=limits,
                                     now=NOW)
    assert again == []  # the same file is not kept twice


def test_old_pending_uploads_are_cleared(desk, db):
    service.store_uploads(desk.agent, "y" * 20, [("a.png", fx.png())],
                          limits=service.UploadLimits(), now=NOW - timedelta(days=3))
    service.store_uploads(desk.agent, "z" * 20, [("b.pdf", fx.PDF)],
                          limits=service.UploadLimits(), now=NOW)
    assert Attachment.count_pending(desk.agent, "y" * 20) == 0
    assert Attachment.count_pending(desk.agent, "z" * 20) == 1


def test_two_agents_sending_the_form_for_one_case_at_once_escalate_it_once(desk, mail_app,
                                                                          supervisor):
    requester = factories.make_contact(desk.org)
    case = factories.make_case(desk.org, desk.queue, requester=requester, assignee=desk.agent)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def send(actor):
        try:
            with mail_app.test_request_context(), database.connection_context():
                mine = Case.get_by_id(case.id)
                barrier.wait()
                service.submit_form(actor, desk.item, fx.form_values(requester), case=mine,
                                    now=NOW)
                outcomes.append("escalated")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    database.close()
    threads = [threading.Thread(target=send, args=(who,)) for who in (desk.agent, supervisor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.connect(reuse_if_open=True)
    assert not errors, errors
    assert sorted(outcomes) == ["conflict", "escalated"]
    assert EscalationPacket.select().where(EscalationPacket.case == case).count() == 1
    assert Escalation.select().where(Escalation.case == case).count() == 1
