"""Notifications: an in-app list for members, and email (through ``escalation.mail``) for members
and contacts, each in the recipient's own language.

Creating a notification only writes a row, inside the caller's transaction; emails are sent after
commit by ``deliver_pending`` (the sweep runs it every minute), each claimed by a conditional
update first, so concurrent sweeps never send one twice. A ``dedupe_key`` makes the same notice
impossible to create twice (insert, and on IntegrityError let it be).
"""
import json
import logging
from datetime import datetime, timedelta

from flask_babel import force_locale, format_timedelta
from flask_babel import lazy_gettext as _l
from peewee import SQL, IntegrityError, fn

from .. import sqlcache
from ..audit import _default
from ..db import database
from ..models import Case, Contact, Member, Message, Organisation, User
from .models import Notification

log = logging.getLogger("escalation.sla.notifications")

CLOCK_LABELS = {
    "first_response": _l("First response"),
    "next_response": _l("Next response"),
    "resolution": _l("Resolution"),
    "tier": _l("Tier target"),
}

# kind -> the line shown in the app (formatted with the notification's data).
TEXTS = {
    "new_escalation": _l("New escalation in %(inbox)s: #%(case)s %(subject)s"),
    "claim_lapsing": _l("Your claim on #%(case)s %(subject)s lapses soon"),
    "sla_warning": _l("%(clock)s of #%(case)s %(subject)s: %(left)s of business time left"),
    "sla_breach": _l("%(clock)s of #%(case)s %(subject)s is overdue by %(over)s"),
    "released": _l("Your claim on #%(case)s %(subject)s was released: its SLA was breached"),
    "reopened": _l("#%(case)s %(subject)s was reopened by the requester"),
    "escalated_tier": _l("Your case #%(case)s was passed on to our specialists"),
    "replied": _l("There is a new reply on your case #%(case)s"),
    "resolved": _l("Your case #%(case)s has been resolved"),
    "auto_closed": _l("Your case #%(case)s has been closed"),
}
MAIL_TEMPLATES = {kind: "sla_" + kind.removeprefix("sla_") for kind in TEXTS}


def duration(seconds):
    """Business time as words in the current language ("3 hours", "2 days")."""
    return format_timedelta(timedelta(seconds=abs(int(seconds or 0))), granularity="minute",
                            threshold=1.1)


def text_of(notification):
    data = dict(notification.data)
    if "clock" in data:
        data["clock"] = str(CLOCK_LABELS.get(data["clock"], data["clock"]))
    for key in ("left", "over"):
        if key in data:
            data[key] = duration(data[key])
    data.setdefault("case", notification.case_id)
    data.setdefault("subject", "")
    data.setdefault("inbox", "")
    template = TEXTS.get(notification.kind)
    return str(template) % data if template is not None else notification.kind


# ---------------------------------------------------------------------------------------------
# Creating


def _create(fields, dedupe):
    if dedupe is None:
        return Notification.create(**fields)
    try:
        with database.atomic():
            return Notification.create(dedupe_key=dedupe[:200], **fields)
    except IntegrityError:
        return None


def _case_data(case):
    return {"case": case.id, "subject": case.subject} if case is not None else {}


def notify_member(member, kind, *, now, case=None, dedupe=None, email=True, **data):
    """One notification for a member of the organisation (in the app, and by email)."""
    if member is None or not member.active:
        return None
    address = User.select(User.email).where(User.id == member.user_id).scalar() if email else None
    fields = dict(organisation=member.organisation_id, member=member.id,
                  case=case.id if case is not None else None, kind=kind, created_at=now,
                  data_json=json.dumps({**_case_data(case), **data}, default=_default),
                  email_to=address, email_status="pending" if address else "none")
    return _create(fields, f"{dedupe}:m{member.id}" if dedupe else None)


def notify_contact(contact, kind, *, now, case, dedupe=None, **data):
    """An email to a requester (contacts have no in-app list)."""
    if contact is None or not contact.email:
        return None
    fields = dict(organisation=contact.organisation_id, contact=contact.id, case=case.id,
                  kind=kind, created_at=now, read_at=now, email_to=contact.email,
                  email_status="pending",
                  data_json=json.dumps({**_case_data(case), **data}, default=_default))
    return _create(fields, f"{dedupe}:c{contact.id}" if dedupe else None)


def requesters_of(case, settings):
    """The requester, and the requested-for person when the organisation notifies them too."""
    people = [case.requester_id]
    if settings.notify_requested_for and case.requested_for_id not in (None, case.requester_id):
        people.append(case.requested_for_id)
    ids = [person for person in people if person is not None]
    return list(Contact.select().where(Contact.id.in_(ids))) if ids else []


# ---------------------------------------------------------------------------------------------
# Reading


def _unread_query(member_id):
    # COUNT(*): PostgreSQL answers it from the (member, read_at) index alone.
    return (Notification.select(fn.COUNT(SQL("*")))
            .where((Notification.member == member_id) & Notification.read_at.is_null()))


def unread_count(member) -> int:
    """The header's badge on every page: its SQL compiled once (sqlcache)."""
    return sqlcache.rows(("sla.unread",), _unread_query, member.id)[0][0] or 0


def recent_for(member, *, limit=50):
    return list(Notification.select()
                .where(Notification.member == member.id)
                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))


def mark_read(member, *, now, notification_id=None) -> int:
    """Mark one (or every) unread notification of this member as read; the count changed."""
    with database.atomic():
        query = Notification.update(read_at=now).where(
            (Notification.member == member.id) & Notification.read_at.is_null())
        if notification_id is not None:
            query = query.where(Notification.id == notification_id)
        return query.execute()


# ---------------------------------------------------------------------------------------------
# Sending (after commit)


def _locale_of(notification):
    if notification.member_id:
        row = (Member.select(User.locale, Organisation.default_locale).join(User)
               .switch(Member).join(Organisation).where(Member.id == notification.member_id)
               .tuples().first())
    else:
        row = (Contact.select(Contact.locale, Organisation.default_locale).join(Organisation)
               .where(Contact.id == notification.contact_id).tuples().first())
    return (row[0] or row[1]) if row else None


def _claim_for_sending(notification_id, now) -> bool:
    stale = now - timedelta(minutes=10)
    with database.atomic():
        return Notification.update(email_status="sending", email_claimed_at=now,
                                   email_attempts=Notification.email_attempts + 1).where(
            (Notification.id == notification_id)
            & ((Notification.email_status == "pending")
               | ((Notification.email_status == "sending")
                  & (Notification.email_claimed_at < stale)))).execute() == 1


def _finish(notification_id, status, now):
    with database.atomic():
        Notification.update(email_status=status, emailed_at=now).where(
            Notification.id == notification_id).execute()


def external_url(endpoint, **values):
    """An absolute URL for a mail: from the request when there is one, else from the
    ``PUBLIC_URL`` setting (the sweep runs outside any request)."""
    from urllib.parse import urlsplit

    from flask import current_app, has_request_context, url_for
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = urlsplit(current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:8000")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def mail_context(notification):
    """What every notification mail template gets: the text, the case, the data and links."""
    case = Case.get_or_none(Case.id == notification.case_id) if notification.case_id else None
    context = dict(notification=notification, data=notification.data, case=case,
                   text=text_of(notification), duration=duration, case_url=None, link=None)
    if case is not None and notification.member_id:
        context["case_url"] = external_url("cases.show", case_id=case.id)
    if notification.kind == "replied" and case is not None:
        context["reply"] = _reply_text(case.id, notification.data.get("reply_at"))
    if notification.kind == "resolved" and notification.data.get("resolution"):
        from .models import Resolution
        from .resolution import token_for
        resolution = Resolution.get_or_none(Resolution.id == notification.data["resolution"])
        if resolution is not None and resolution.answered_at is None:
            context["link"] = external_url("sla.confirm", token=token_for(resolution))
            context["resolution"] = resolution
    return context


def _reply_text(case_id, reply_at):
    """The reply the mail is about: the case's outgoing message at that time (a reply, or the
    last message sent with an escalation), so the requester reads it in the mail itself."""
    query = Message.select(Message.body).where((Message.case == case_id) & (Message.kind == "out"))
    if reply_at:
        query = query.where(Message.created_at <= datetime.fromisoformat(reply_at))
    found = query.order_by(Message.created_at.desc(), Message.id.desc()).first()
    return found.body if found is not None else None


def _told_by_the_escalation_form(notification) -> bool:
    """The escalation form mails the requester itself, with the case's details; the generic
    "passed on to specialists" notice would be a second mail about the same step."""
    if notification.kind != "escalated_tier" or notification.case_id is None:
        return False
    from ..models import AuditEvent
    return AuditEvent.select().where(
        (AuditEvent.case == notification.case_id)
        & (AuditEvent.action == "escalations.requester_notified")
        & (AuditEvent.created_at >= notification.created_at - timedelta(minutes=1))).exists()


def deliver_pending(now, *, limit=100) -> int:
    """Send pending notification emails; returns how many were sent."""
    from ..mail import deliver
    ids = [row.id for row in Notification.select(Notification.id)
           .where((Notification.email_status == "pending")
                  | ((Notification.email_status == "sending")
                     & (Notification.email_claimed_at < now - timedelta(minutes=10))))
           .order_by(Notification.created_at, Notification.id).limit(limit)]
    sent = 0
    for notification_id in ids:
        if not _claim_for_sending(notification_id, now):
            continue  # another sweep has it
        notification = Notification.get_by_id(notification_id)
        if _told_by_the_escalation_form(notification):
            _finish(notification_id, "skipped", now)
            continue
        locale = _locale_of(notification)
        with force_locale(locale or "sv"):
            context = mail_context(notification)
        ok = deliver(notification.email_to, MAIL_TEMPLATES.get(notification.kind, "sla_generic"),
                     locale, **context)
        if ok:
            sent += 1
        _finish(notification_id, "sent" if ok else
                ("failed" if notification.email_attempts >= 3 else "pending"), now)
    return sent
