"""Cases: the agent's reply queue, the conversation with the contact and the case's own state.

Every public function that changes something is one transaction that writes its audit event(s).
State changes re-read the case row under a lock (FOR UPDATE on PostgreSQL; SQLite transactions
hold the write lock from BEGIN IMMEDIATE), check the state the actor saw, then apply a
conditional UPDATE on ``Case.version``: the affected row count is the truth.

Reply, note and status changes never touch an escalated case's route (inbox and claim).
"""
import json
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import JOIN, fn

from .. import audit, sqlcache
from ..db import database, is_postgres, skip_locked
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..models import (
    CASE_STATUSES,
    LOCALES,
    PRIORITIES,
    PRIORITY_LABELS,
    AuditEvent,
    Case,
    Contact,
    Escalation,
    Inbox,
    InboxOwner,
    Member,
    Message,
    Queue,
    QueueMember,
    User,
)
from ..permissions import can_reassign, is_staff_lead

OPEN_STATUSES = ("open", "waiting")
# What a reply may do to the status at the same time ("" keeps it).
REPLY_THEN = ("", "waiting", "resolved")
CHANNELS = ("phone", "email", "in_person", "other")
MAX_BODY = 20_000

STALE = _l("Someone else changed this case first. Reload it and try again.")
NOTE_MAX = 10000
NOTE_NEEDED = _l("Write what solved the problem: the resolution note.")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. /]{3,50}$")


@dataclass(frozen=True)
class ContactDetails:
    """A contact's fields as typed (a new contact, or the new values of one)."""

    name: str
    email: str | None = None
    phone: str | None = None
    locale: str | None = None

    def cleaned(self):
        return ContactDetails(name=(self.name or "").strip(),
                              email=(self.email or "").strip().lower() or None,
                              phone=(self.phone or "").strip() or None,
                              locale=self.locale or None)


# ---------------------------------------------------------------------------------------------
# Reading (no state changes)

def queues_of(member):
    """The open queues this member belongs to."""
    return _queues_query(member.organisation_id, member.id)


def _queues_query(organisation_id, member_id):
    return (Queue.select().join(QueueMember)
            .where((QueueMember.member == member_id)
                   & (Queue.organisation == organisation_id) & Queue.archived_at.is_null())
            .order_by(fn.LOWER(Queue.name)))


def queues_for_new_case(member):
    """Where this member may file a new case: their own queues; leads may use every queue."""
    if is_staff_lead(member):
        return Queue.for_org(member.organisation_id)
    return queues_of(member)


_TEMPLATES: dict = {}


def _run(key, build, *args):
    """The rows of ``build(*args)`` exactly as peewee gives them (models, or tuples with their
    fields converted), with the SQL compiled once per process (``sqlcache``): the case page runs
    these on every view, and building and compiling the SQL cost more than running it."""
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATES[key] = build(*args)
    return list(template._get_cursor_wrapper(sqlcache.execute(key, build, *args)))


def _case_query(organisation, case_id):
    requester, requested_for = Contact.alias("requester_contact"), Contact.alias("for_contact")
    return (Case.select(Case, Queue, requester, requested_for, Inbox)
            .join(Queue, on=(Case.queue == Queue.id), attr="queue")
            .switch(Case).join(requester, JOIN.LEFT_OUTER, on=(Case.requester == requester.id),
                               attr="requester")
            .switch(Case).join(requested_for, JOIN.LEFT_OUTER,
                               on=(Case.requested_for == requested_for.id), attr="requested_for")
            .switch(Case).join(Inbox, JOIN.LEFT_OUTER, on=(Case.inbox == Inbox.id), attr="inbox")
            .where((Case.id == case_id) & (Case.organisation == organisation)))


def _members_query(ids):
    return (Member.select(Member, User).join(User, on=(Member.user == User.id), attr="user")
            .where(Member.id.in_(ids)))


def case_with_people(organisation, case_id, *, viewer=None):
    """One case of the organisation (None if it has no such case) with everything its page
    header shows: queue, requester, requested-for and inbox in one query; assignee and claimant,
    each with their user, in a second when it has them and they are not ``viewer`` (the signed-in
    member, loaded with their user already). PostgreSQL takes ~1.5 ms to plan the nine tables in
    one query, ten times the two."""
    found = _run(("cases.case_with_people",), _case_query, organisation, case_id)
    if not found:
        return None
    case = found[0]
    members = {viewer.id: viewer} if viewer is not None else {}
    ids = tuple(sorted({i for i in (case.assignee_id, case.claimed_by_id)
                        if i is not None and i not in members}))
    if ids:
        members.update((m.id, m) for m in _run(("cases.case_members", len(ids)), _members_query,
                                                ids))
    for name, member_id in (("assignee", case.assignee_id), ("claimed_by", case.claimed_by_id)):
        if member_id in members:
            case.__rel__[name] = members[member_id]  # as a join would (no lazy query)
    return case


def reply_queue_of(member):
    """``Case.reply_queue_of`` as it is meant to be: cases with this member, not escalated, whose
    contact waits for a reply, oldest first, with requester and queue. (The core model's version
    passes ``join_type="LEFT OUTER"``, which renders invalid SQL; the lead is told.)"""
    return _reply_queue_query(member.organisation_id, member.id)


def _reply_queue_query(organisation_id, member_id):
    return (Case.select(Case, Contact, Queue)
            .join(Contact, JOIN.LEFT_OUTER, on=(Case.requester == Contact.id), attr="requester")
            .switch(Case).join(Queue, on=(Case.queue == Queue.id), attr="queue")
            .where((Case.organisation == organisation_id)
                   & (Case.assignee == member_id)
                   & Case.inbox.is_null()
                   & (Case.reply_status == "needs_response")
                   & Case.status.in_(OPEN_STATUSES))
            .order_by(Case.waiting_since, Case.id))


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A case as the reply queue lists it: the columns the landing shows, not whole rows of the
    case, its contact and its queue (building those cost more than the query)."""

    id: int
    subject: str
    priority: int
    waiting_since: object
    requester: "Person | None"
    queue: "Person"  # the queue's id and name

    def priority_label(self):
        return PRIORITY_LABELS.get(self.priority, self.priority)


def reply_queue(member, *, limit):
    """The first ``limit`` cases of the member's reply queue (``QueueRow``), and how many there
    are in all."""
    rows = [QueueRow(r[0], r[1], r[2], r[3], _person(r[4], r[5]), Person(r[6], r[7]))
            for r in _run(("cases.reply_queue",), _reply_queue_page, member.organisation_id,
                          member.id, limit)]
    total = len(rows) if len(rows) < limit else reply_queue_of(member).count()
    return rows, total


def _reply_queue_page(organisation_id, member_id, limit):
    return (_reply_queue_query(organisation_id, member_id)
            .select(Case.id, Case.subject, Case.priority, Case.waiting_since, Contact.id,
                    Contact.name, Queue.id, Queue.name)
            .limit(limit).tuples())


def member_queues(member) -> list:
    """``queues_of(member)`` as a list (the landing's; its SQL compiled once)."""
    return _run(("cases.queues_of",), _queues_query, member.organisation_id, member.id)


def next_case_for(member, after_case=None):
    """The oldest case in this member's reply queue (other than ``after_case``), or None."""
    query = reply_queue_of(member)
    if after_case is not None:
        query = query.where(Case.id != getattr(after_case, "id", after_case))
    return query.first()


def is_inbox_owner(member, case) -> bool:
    if case.inbox_id is None:
        return False
    return InboxOwner.select().where((InboxOwner.inbox == case.inbox_id)
                                     & (InboxOwner.member == member.id)).exists()


def has_escalation_history(member, case) -> bool:
    """The member escalated this case from their own work at some point (read-only access)."""
    return Escalation.select().where((Escalation.case == case.id)
                                     & (Escalation.origin_agent == member.id)).exists()


def search_contacts(organisation, text, *, limit=10, after=None):
    """Contacts of the organisation whose name, email or phone contains ``text``, by name.
    ``after`` (a contact) continues a list after that contact (keyset: lower(name), id)."""
    query = Contact.select().where(Contact.organisation == organisation)
    text = (text or "").strip()
    if text:
        query = query.where(Contact.name.contains(text) | Contact.email.contains(text)
                            | Contact.phone.contains(text))
    if after is not None:
        key = fn.LOWER(Contact.name)
        after_key = after.name.lower()
        query = query.where((key > after_key) | ((key == after_key) & (Contact.id > after.id)))
    return query.order_by(fn.LOWER(Contact.name), Contact.id).limit(limit)


def find_contact(organisation, contact_id):
    """A contact of the organisation, or None."""
    return Contact.get_or_none((Contact.id == contact_id) & (Contact.organisation == organisation))


def contact_cases(contact, *, limit=50):
    """The newest cases this contact asked for, or that were asked for on their behalf."""
    return (Case.select(Case, Queue).join(Queue)
            .where((Case.organisation == contact.organisation_id)
                   & ((Case.requester == contact.id) | (Case.requested_for == contact.id)))
            .order_by(Case.id.desc()).limit(limit))


@dataclass
class TimelineEntry:
    kind: str  # "message" or "event"
    at: object  # when
    rank: float  # order among entries of the same instant (the event id)
    id: int
    item: object


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str


@dataclass(slots=True)
class TimelineMessage:
    """A message as the timeline shows it: in, out or note, with who wrote or sent it."""

    id: int
    kind: str
    body: str
    created_at: object
    author: Person | None
    contact: Person | None


@dataclass(slots=True)
class TimelineEvent:
    """An audit event as the timeline shows it (the attributes of ``AuditEvent`` that event
    templates use, with ``actor`` as a person with a name)."""

    id: int
    case_id: int
    organisation_id: int
    action: str
    subject_type: str
    subject_id: int | None
    data_json: str
    created_at: object
    actor: Person | None
    _data: dict | None = None

    @property
    def actor_id(self):
        return self.actor.id if self.actor else None

    @property
    def data(self):
        if self._data is None:
            self._data = json.loads(self.data_json or "{}")
        return self._data


def _person(person_id, name):
    return Person(person_id, name) if person_id is not None else None


def _timeline_messages(case_id):
    # The contact's name by a subquery: joining ``contact`` made PostgreSQL hash the whole
    # table (6 ms at 20 000 contacts) for a handful of names.
    contact_name = Contact.select(Contact.name).where(Contact.id == Message.contact)
    return (Message.select(Message.id, Message.kind, Message.body, Message.created_at,
                           Message.author, User.name, Message.contact, contact_name)
            .join(Member, JOIN.LEFT_OUTER, on=(Message.author == Member.id))
            .join(User, JOIN.LEFT_OUTER, on=(Member.user == User.id))
            .where(Message.case == case_id)
            .order_by(Message.created_at, Message.id).tuples())


def _timeline_events(case_id):
    # The case was loaded organisation-scoped; filtering on the organisation as well would let
    # SQLite walk every event of the organisation instead of the (case, created_at) index.
    return (AuditEvent.select(AuditEvent.id, AuditEvent.action, AuditEvent.subject_type,
                              AuditEvent.subject_id, AuditEvent.data_json,
                              AuditEvent.created_at, AuditEvent.actor, User.name)
            .join(Member, JOIN.LEFT_OUTER, on=(AuditEvent.actor == Member.id))
            .join(User, JOIN.LEFT_OUTER, on=(Member.user == User.id))
            .where(AuditEvent.case == case_id)
            .order_by(AuditEvent.created_at, AuditEvent.id).tuples())


@dataclass(frozen=True, slots=True)
class TimelineRows:
    """A case's timeline as the database returned it (raw driver rows, before any field
    conversion): everything the timeline shows, so equal rows render equal HTML."""

    case_id: int
    messages: tuple
    events: tuple
    message_columns: tuple
    event_columns: tuple

    def same_as(self, other) -> bool:
        return (other is not None and self.case_id == other.case_id
                and self.messages == other.messages and self.events == other.events)


def timeline_rows(case) -> TimelineRows:
    """The two queries of the timeline (messages, events), as raw rows."""
    found = []
    for key, build in ((("cases.timeline_messages",), _timeline_messages),
                       (("cases.timeline_events",), _timeline_events)):
        cursor = sqlcache.execute(key, build, case.id)
        rows = tuple(tuple(row) for row in cursor.fetchall())
        found.append((rows, tuple(cursor.description or ())))
        cursor.close()
    (messages, message_columns), (events, event_columns) = found
    return TimelineRows(case.id, messages, events, message_columns, event_columns)


class _Replay:
    """A spent cursor's rows again, for peewee's result wrapper (which converts the fields)."""

    def __init__(self, description, rows):
        self.description = description
        self._rows = iter(rows)

    def fetchone(self):
        return next(self._rows, None)

    def close(self):
        pass


def _converted(key, build, case_id, rows, columns):
    """``rows`` as ``_run`` would give them (fields converted by peewee)."""
    template = _TEMPLATES.get(key)
    if template is None:
        template = _TEMPLATES[key] = build(case_id)
    return list(template._get_cursor_wrapper(_Replay(columns, rows)))


def timeline_of(case, rows: TimelineRows | None = None):
    """Messages and audit events of a case, interleaved by time, each with who: two queries of
    plain rows whatever the length (none when ``rows`` of ``timeline_rows`` are given). A
    message's own event ("case.replied" ...) is shown as the message, at that event's place, so
    things done in one transaction read in order."""
    if rows is None:
        rows = timeline_rows(case)
    messages = [
        TimelineMessage(row[0], row[1], row[2], row[3], _person(row[4], row[5]),
                        _person(row[6], row[7]))
        for row in _converted(("cases.timeline_messages",), _timeline_messages, case.id,
                              rows.messages, rows.message_columns)]
    events = [
        TimelineEvent(row[0], case.id, case.organisation_id, row[1], row[2], row[3], row[4],
                      row[5], _person(row[6], row[7]))
        for row in _converted(("cases.timeline_events",), _timeline_events, case.id,
                              rows.events, rows.event_columns)]
    shown = {m.id for m in messages}
    own_event = {e.subject_id: e.id for e in events
                 if e.subject_type == "message" and e.subject_id in shown}
    entries = [TimelineEntry("message", m.created_at, own_event.get(m.id, float("inf")), m.id, m)
               for m in messages]
    entries += [TimelineEntry("event", e.created_at, e.id, 0, e) for e in events
                if not (e.subject_type == "message" and own_event.get(e.subject_id) == e.id)]
    entries.sort(key=lambda entry: (entry.at, entry.rank, entry.id))
    return entries


# ---------------------------------------------------------------------------------------------
# Validation

def _text(value, field, *, required=True, limit=MAX_BODY, message=None):
    value = (value or "").strip()
    if required and not value:
        raise Invalid([(field, message or _l("This field is required."))])
    if len(value) > limit:
        raise Invalid([(field, _l("This is too long (at most %(max)d characters).", max=limit))])
    return value


def _contact_problems(organisation, details, *, exclude_id=None):
    problems = []
    if not details.name:
        problems.append(("name", _l("Enter the contact's name.")))
    elif len(details.name) > 200:
        problems.append(("name", _l("This is too long (at most %(max)d characters).", max=200)))
    if details.email and (len(details.email) > 254 or not _EMAIL.match(details.email)):
        problems.append(("email", _l("Enter an email address like name@example.com.")))
    elif details.email:
        taken = Contact.select().where((Contact.organisation == organisation)
                                       & (fn.LOWER(Contact.email) == details.email))
        if exclude_id is not None:
            taken = taken.where(Contact.id != exclude_id)
        if taken.exists():
            problems.append(("email", _l("Another contact already has this email address.")))
    if details.phone and not _PHONE.match(details.phone):
        problems.append(("phone", _l("Enter a phone number with digits, spaces, + or -.")))
    if details.locale and details.locale not in LOCALES:
        problems.append(("locale", _l("Choose a language from the list.")))
    return problems


def _check_contact(organisation, details, *, exclude_id=None, prefix=""):
    problems = _contact_problems(organisation, details, exclude_id=exclude_id)
    if problems:
        raise Invalid([(prefix + field, message) for field, message in problems])


# ---------------------------------------------------------------------------------------------
# Contacts

def create_contact(actor, *, details: ContactDetails, now) -> Contact:
    details = details.cleaned()
    with database.atomic():
        _check_contact(actor.organisation_id, details)
        return _insert_contact(actor, details, now)


def _insert_contact(actor, details, now):
    contact = Contact.create(organisation=actor.organisation_id, name=details.name,
                             email=details.email, phone=details.phone, locale=details.locale,
                             created_at=now)
    audit.record(actor, "contact.created", organisation=actor.organisation_id, subject=contact,
                 now=now, name=contact.name)
    return contact


def update_contact(contact, actor, *, details: ContactDetails, now) -> Contact:
    details = details.cleaned()
    if contact.organisation_id != actor.organisation_id:
        raise NotFound()
    with database.atomic():
        _check_contact(contact.organisation_id, details, exclude_id=contact.id)
        changed = {name: getattr(details, name) for name in ("name", "email", "phone", "locale")
                   if getattr(contact, name) != getattr(details, name)}
        if not changed:
            return contact
        Contact.update(**changed).where(Contact.id == contact.id).execute()
        for name, value in changed.items():
            setattr(contact, name, value)
        audit.record(actor, "contact.updated", organisation=contact.organisation_id,
                     subject=contact, now=now, fields=sorted(changed))
    return contact


# ---------------------------------------------------------------------------------------------
# Creating a case (a phone call, a walk-in)

def create_case(actor, *, queue, subject, description, priority, requester,
                requested_for=None, assign_to_me=True, channel="phone", now) -> Case:
    """A new case with the description as its first inbound message. ``requester`` and
    ``requested_for`` are a Contact of the organisation or ``ContactDetails`` for a new one."""
    org = actor.organisation_id
    problems = []
    subject = (subject or "").strip()
    description = (description or "").strip()
    if not subject:
        problems.append(("subject", _l("Give the case a short, meaningful subject.")))
    elif len(subject) > 200:
        problems.append(("subject", _l("This is too long (at most %(max)d characters).", max=200)))
    if not description:
        problems.append(("description", _l("Describe what the contact needs.")))
    elif len(description) > MAX_BODY:
        problems.append(("description", _l("This is too long (at most %(max)d characters).",
                                           max=MAX_BODY)))
    if priority not in PRIORITIES:
        problems.append(("priority", _l("Choose a priority from the list.")))
    if channel not in CHANNELS:
        channel = "other"
    with database.atomic():
        allowed = queues_for_new_case(actor).where(Queue.id == getattr(queue, "id", queue)).first()
        if allowed is None:
            problems.append(("queue", _l("Choose one of your queues.")))
        for prefix, who in (("requester_", requester), ("requested_for_", requested_for)):
            if isinstance(who, ContactDetails):
                problems += [(prefix + f, m) for f, m in _contact_problems(org, who.cleaned())]
            elif who is not None and who.organisation_id != org:
                problems.append((prefix.rstrip("_"), _l("That contact is not available.")))
        if requester is None:
            problems.append(("requester", _l("Choose the requester or enter a new contact.")))
        if problems:
            raise Invalid(problems)
        if isinstance(requester, ContactDetails):
            requester = _insert_contact(actor, requester.cleaned(), now)
        if isinstance(requested_for, ContactDetails):
            requested_for = _insert_contact(actor, requested_for.cleaned(), now)
        if requested_for is not None and requested_for.id == requester.id:
            requested_for = None
        case = Case.create(organisation=org, subject=subject, requester=requester,
                           requested_for=requested_for, queue=allowed,
                           assignee=actor.id if assign_to_me else None, status="open",
                           reply_status="needs_response", priority=priority, waiting_since=now,
                           created_at=now, updated_at=now)
        message = Message.create(organisation=org, case=case, kind="in", body=description,
                                 contact=requester, created_at=now)
        audit.record(actor, "case.created", organisation=org, case=case, subject=case, now=now,
                     queue=allowed.id, queue_name=allowed.name, priority=priority, channel=channel,
                     requester=requester.id, requester_name=requester.name,
                     requested_for=requested_for.id if requested_for else None,
                     requested_for_name=requested_for.name if requested_for else None,
                     assignee=actor.id if assign_to_me else None,
                     assignee_name=actor.name if assign_to_me else None, message=message.id)
    return case


# ---------------------------------------------------------------------------------------------
# Changing a case: the shared steps

def _locked(case):
    """The case's row as it is now, locked for this transaction."""
    query = Case.select().where((Case.id == case.id) & (Case.organisation == case.organisation_id))
    if is_postgres():
        query = query.for_update()
    row = query.first()
    if row is None:
        raise NotFound()
    return row


def _check_route_unchanged(seen, row):
    """The actor decided on the case as they saw it: if it moved since, they must look again."""
    if (seen.assignee_id, seen.inbox_id) != (row.assignee_id, row.inbox_id):
        raise Conflict(STALE)


def _apply(case, row, *, now, **changes):
    """Conditional UPDATE on the version read under the lock; then ``case`` shows the new state."""
    changes.update(version=row.version + 1, updated_at=now)
    updated = (Case.update(**changes)
               .where((Case.id == row.id) & (Case.version == row.version)).execute())
    if updated != 1:
        raise Conflict(STALE)
    for name in ("status", "reply_status", "priority", "assignee", "queue", "inbox",
                 "claimed_by", "claim_expires_at", "waiting_since", "escalation_id"):
        setattr(case, name, changes.get(name, getattr(row, _column(name))))
    case.version = changes["version"]
    case.updated_at = now


def _column(name):
    field = Case._meta.fields[name]
    return field.name + "_id" if hasattr(field, "rel_model") else field.name


def _status_changes(row, new_status, now):
    """What a status implies for the reply status and the waiting clock."""
    if new_status in ("resolved", "closed"):
        return dict(status=new_status, reply_status="closed", waiting_since=None)
    if new_status == "waiting":
        return dict(status="waiting", reply_status="responded", waiting_since=None)
    if row.status in ("resolved", "closed"):  # reopened: back in someone's reply queue
        return dict(status="open", reply_status="needs_response", waiting_since=now)
    return dict(status="open")


def _record_status(actor, case, old, new, now, **data):
    action = {"resolved": "case.resolved", "closed": "case.closed"}.get(new, "case.status_changed")
    audit.record(actor, action, organisation=case.organisation_id, case=case, subject=case,
                 now=now, **{"from": old, "to": new}, **data)


def resolution_note(note) -> str:
    """Resolving always needs a resolution note (what solved the problem): every way of
    resolving a case checks it here. Returns the note, trimmed; ``Invalid`` on "note" without."""
    note = (note or "").strip()
    if not note:
        raise Invalid([("note", NOTE_NEEDED)])
    if len(note) > NOTE_MAX:
        raise Invalid([("note", _l("That is too long (at most %(num)d characters).",
                                   num=NOTE_MAX))])
    return note


def _member_name(member_id):
    if member_id is None:
        return None
    member = Member.select(Member, User).join(User).where(Member.id == member_id).first()
    return member.name if member else None


# ---------------------------------------------------------------------------------------------
# The conversation

def reply(case, actor, *, body, now, then_status="", note=None) -> Message:
    """A reply to the contact. The case no longer needs a response; an unassigned case in the
    queue pool becomes the replier's. ``then_status`` may set "waiting" or "resolved" too;
    resolving needs the resolution ``note``. (The case page resolves through the SLA area's
    ``reply_and_resolve``, which also asks the requester to confirm.)"""
    body = _text(body, "body", message=_l("Write a reply before sending it."))
    if then_status not in REPLY_THEN:
        raise Invalid([("then", _l("Choose a status from the list."))])
    if then_status == "resolved":
        note = resolution_note(note)
    with database.atomic():
        row = _locked(case)
        _check_route_unchanged(case, row)
        if row.status == "closed":
            raise Invalid([("body", _l("This case is closed. Reopen it before replying."))])
        changes = dict(reply_status="responded", waiting_since=None)
        takes = row.assignee_id is None and row.inbox_id is None
        if takes:
            changes["assignee"] = actor.id
        if then_status and then_status != row.status:
            changes.update(_status_changes(row, then_status, now))
        _apply(case, row, now=now, **changes)
        if takes:
            audit.record(actor, "case.assigned", organisation=row.organisation_id, case=case,
                         subject=case, now=now, via="reply", to=actor.id, to_name=actor.name)
        message = Message.create(organisation=row.organisation_id, case=row.id, kind="out",
                                 body=body, author=actor.id, contact=row.requester_id,
                                 created_at=now)
        audit.record(actor, "case.replied", organisation=row.organisation_id, case=case,
                     subject=message, now=now, message=message.id)
        if "status" in changes:
            _record_status(actor, case, row.status, changes["status"], now,
                           **({"note": note} if changes["status"] == "resolved" else {}))
    return message


def add_note(case, actor, *, body, now) -> Message:
    """An internal note: never sent to the contact."""
    body = _text(body, "body", message=_l("Write the note before saving it."))
    with database.atomic():
        row = _locked(case)
        _check_route_unchanged(case, row)
        _apply(case, row, now=now)
        message = Message.create(organisation=row.organisation_id, case=row.id, kind="note",
                                 body=body, author=actor.id, created_at=now)
        audit.record(actor, "case.note_added", organisation=row.organisation_id, case=case,
                     subject=message, now=now, message=message.id)
    return message


def record_inbound(case, *, body, now, actor=None, contact=None, channel=None) -> Message:
    """A message from the contact (a channel, or a member logging a call or an email). The case
    needs a response again; its waiting clock starts unless it is already running; a case
    waiting on the requester (or resolved) opens again. Its route is untouched."""
    body = _text(body, "body", message=_l("Write down what the contact said."))
    with database.atomic():
        row = _locked(case)
        if row.status == "closed":
            raise Invalid([("body", _l("This case is closed. Open a new case for the contact."))])
        changes = dict(reply_status="needs_response",
                       waiting_since=row.waiting_since if row.reply_status == "needs_response"
                       and row.waiting_since else now)
        if row.status in ("waiting", "resolved"):
            changes["status"] = "open"
        _apply(case, row, now=now, **changes)
        sender = contact.id if contact is not None else row.requester_id
        message = Message.create(organisation=row.organisation_id, case=row.id, kind="in",
                                 body=body, contact=sender, author=getattr(actor, "id", None),
                                 created_at=now)
        audit.record(actor, "case.message_received", organisation=row.organisation_id, case=case,
                     subject=message, now=now, message=message.id,
                     channel=channel if channel in CHANNELS else None)
        if "status" in changes:
            _record_status(actor, case, row.status, "open", now)
    return message


# ---------------------------------------------------------------------------------------------
# The case's state

def change_status(case, actor, *, status, now, note=None):
    """A new status. Resolving needs the resolution ``note`` (the case page resolves through the
    SLA area's ``resolve_with_note``, which also asks the requester to confirm)."""
    if status not in CASE_STATUSES:
        raise Invalid([("status", _l("Choose a status from the list."))])
    if status == "resolved":
        note = resolution_note(note)
    with database.atomic():
        row = _locked(case)
        _check_route_unchanged(case, row)
        if row.status == status:
            raise Invalid([("status", _l("The case already has this status."))])
        _apply(case, row, now=now, **_status_changes(row, status, now))
        _record_status(actor, case, row.status, status, now,
                       **({"note": note} if status == "resolved" else {}))


def change_priority(case, actor, *, priority, now):
    if priority not in PRIORITIES:
        raise Invalid([("priority", _l("Choose a priority from the list."))])
    with database.atomic():
        row = _locked(case)
        _check_route_unchanged(case, row)
        if row.priority == priority:
            raise Invalid([("priority", _l("The case already has this priority."))])
        _apply(case, row, now=now, priority=priority)
        audit.record(actor, "case.priority_changed", organisation=row.organisation_id, case=case,
                     subject=case, now=now, **{"from": row.priority, "to": priority})


def reassign(case, actor, *, assignee, now):
    """Give the case to an active member of the organisation, or (``assignee=None``) back to its
    queue's pool. Supervisors and up. Escalated cases move through their inbox instead."""
    if not can_reassign(actor):
        raise Forbidden()
    with database.atomic():
        row = _locked(case)
        _check_route_unchanged(case, row)
        if row.inbox_id is not None:
            raise Invalid([("assignee", _l("This case is escalated: move or de-escalate it from "
                                           "its inbox instead."))])
        target = None
        if assignee is not None:
            target = (Member.select(Member, User).join(User)
                      .where((Member.id == getattr(assignee, "id", assignee))
                             & (Member.organisation == row.organisation_id)
                             & (Member.active == True)).first())  # noqa: E712
            if target is None:
                raise Invalid([("assignee", _l("Choose an active member of the organisation."))])
        if row.assignee_id == getattr(target, "id", None):
            raise Invalid([("assignee", _l("The case is already there."))])
        _apply(case, row, now=now, assignee=getattr(target, "id", None))
        data = {"from": row.assignee_id, "from_name": _member_name(row.assignee_id)}
        if target is None:
            audit.record(actor, "case.unassigned", organisation=row.organisation_id, case=case,
                         subject=case, now=now, queue=row.queue_id, **data)
        else:
            audit.record(actor, "case.reassigned", organisation=row.organisation_id, case=case,
                         subject=case, now=now, to=target.id, to_name=target.name, **data)


def take(case, actor, *, now):
    """An agent takes an unassigned case from the queue pool (a phone call about it, say)."""
    with database.atomic():
        row = _locked(case)
        if row.assignee_id is not None or row.inbox_id is not None \
                or row.status not in OPEN_STATUSES:
            raise Conflict(_l("Someone else has this case now."))
        _apply(case, row, now=now, assignee=actor.id)
        audit.record(actor, "case.assigned", organisation=row.organisation_id, case=case,
                     subject=case, now=now, via="take", to=actor.id, to_name=actor.name)


def request_more(member, *, now, batch_size) -> list[Case]:
    """Take up to ``batch_size`` unassigned, unescalated, open cases from the member's queues:
    most urgent first, then the longest waiting. Two members asking at once never get the same
    case: the rows are locked (SKIP LOCKED on PostgreSQL; SQLite serialises writers) and the
    conditional UPDATE's returned rows are the ones taken."""
    if batch_size < 1:
        return []
    with database.atomic():
        queue_ids = [q.id for q in queues_of(member)]
        if not queue_ids:
            return []
        candidates = skip_locked(
            Case.pool_of(queue_ids).where(Case.organisation == member.organisation_id)
            .order_by(Case.priority.desc(), Case.waiting_since, Case.id).limit(batch_size))
        ids = [case.id for case in candidates]
        if not ids:
            return []
        taken = {row.id for row in
                 Case.update(assignee=member.id, updated_at=now, version=Case.version + 1)
                 .where(Case.id.in_(ids) & Case.assignee.is_null() & Case.inbox.is_null()
                        & Case.status.in_(OPEN_STATUSES))
                 .returning(Case.id).execute()}
        cases = list(Case.select(Case, Contact, Queue)
                     .join(Contact, JOIN.LEFT_OUTER, on=(Case.requester == Contact.id),
                           attr="requester")
                     .switch(Case).join(Queue)
                     .where(Case.id.in_(list(taken)))
                     .order_by(Case.priority.desc(), Case.waiting_since, Case.id)) if taken else []
        for case in cases:
            audit.record(member, "case.assigned", organisation=member.organisation_id, case=case,
                         subject=case, now=now, via="request_more", to=member.id,
                         to_name=member.name)
    return cases
