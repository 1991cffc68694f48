"""Plain factory functions. Every factory takes the organisation explicitly."""
import itertools
from datetime import datetime

from escalation.models import (Case, Contact, Inbox, InboxOwner, Member, Message, Organisation,
                               Queue, QueueMember, User)

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_hash_cache = {}

NOW = datetime(2026, 11, 2, 9, 30)  # a Monday morning, UTC


def password_hash():
    if "hash" not in _hash_cache:
        from escalation.auth.service import hash_password
        _hash_cache["hash"] = hash_password(PASSWORD)
    return _hash_cache["hash"]


def make_org(**overrides):
    n = next(_counter)
    fields = dict(name=f"Org {n}", slug=f"org-{n}", default_locale="en", timezone="Europe/Stockholm")
    fields.update(overrides)
    return Organisation.create(**fields)


def make_user(**overrides):
    n = next(_counter)
    fields = dict(email=f"user{n}@example.test", name=f"User {n}", password_hash=password_hash(),
                  locale="en")
    fields.update(overrides)
    return User.create(**fields)


def make_member(org, role="agent", *, user=None, active=True, **user_fields):
    user = user or make_user(**user_fields)
    return Member.create(organisation=org, user=user, role=role, active=active)


def make_queue(org, *, members=(), **overrides):
    n = next(_counter)
    fields = dict(organisation=org, name=f"Queue {n}", tier=1)
    fields.update(overrides)
    queue = Queue.create(**fields)
    for member in members:
        QueueMember.create(queue=queue, member=member)
    return queue


def make_contact(org, **overrides):
    n = next(_counter)
    fields = dict(organisation=org, name=f"Contact {n}", email=f"contact{n}@example.test",
                  locale="en")
    fields.update(overrides)
    return Contact.create(**fields)


def make_case(org, queue=None, *, requester=None, first_message=None, **overrides):
    queue = queue or make_queue(org)
    requester = requester if requester is not None else make_contact(org)
    created = overrides.pop("created_at", NOW)
    fields = dict(organisation=org, subject=f"Case {next(_counter)}", queue=queue,
                  requester=requester, status="open", reply_status="needs_response",
                  waiting_since=created, created_at=created, updated_at=created, priority=2)
    fields.update(overrides)
    case = Case.create(**fields)
    if first_message:
        Message.create(organisation=org, case=case, kind="in", body=first_message,
                       contact=requester, created_at=created)
    return case


def make_inbox(org, *, owners=(), **overrides):
    n = next(_counter)
    fields = dict(organisation=org, name=f"Inbox {n}", tier=2, batch_size=3, assignment_minutes=60)
    fields.update(overrides)
    inbox = Inbox.create(**fields)
    for owner in owners:
        InboxOwner.create(inbox=inbox, member=owner)
    return inbox
