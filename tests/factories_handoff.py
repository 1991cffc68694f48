"""Factories for work sessions, checklists, handoff codes and the routing directory."""
import struct
import zlib
from datetime import timedelta

from escalation.handoff import checklists, routing, service, worksession
from escalation.models import Claim, Escalation, QueueMember

from .factories import NOW, make_case, make_inbox, make_queue

SECRET = "test-secret-key"  # the app fixture's SECRET_KEY


def png_bytes(width=1, height=1) -> bytes:
    """A real, tiny PNG."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40


def make_checklist(org, actor, *, name="Printer jam", steps=None):
    checklist = checklists.create_checklist(org, actor, name=name, applies_to="Printers", now=NOW)
    for step in steps if steps is not None else default_steps():
        checklists.add_step(checklist, actor, now=NOW, **step)
    return checklist


def default_steps():
    return [
        dict(title="Power cycle the printer"),
        dict(title="Read the page counter", value_kind="number"),
        dict(title="Which tray jams", value_kind="choice", choices_text="Tray 1\nTray 2\nManual feed"),
        dict(title="Toner seated", value_kind="yesno"),
        dict(title="Photo of the error display", photo_required=True),
        dict(title="Error code shown", value_kind="text"),
    ]


def make_worked_case(org, worker, *, queue=None, **overrides):
    """An unescalated case assigned to ``worker``, in a queue the worker belongs to."""
    queue = queue or make_queue(org, members=[worker])
    if not QueueMember.select().where((QueueMember.queue == queue) & (QueueMember.member == worker)).exists():
        QueueMember.create(queue=queue, member=worker)
    return make_case(org, queue, assignee=worker, **overrides)


def escalate_and_claim(case, owner, *, inbox=None, now=NOW, minutes=60):
    """Put the case in an inbox, claimed by ``owner`` (as the inboxes area does), without
    recording events (the tests that need events record them)."""
    inbox = inbox or make_inbox(case.organisation, owners=[owner], assignment_minutes=minutes)
    escalation = Escalation.create(organisation=case.organisation_id, case=case, inbox=inbox,
                                   origin_queue=case.queue_id, origin_agent=case.assignee_id,
                                   escalated_by=case.assignee_id, escalated_at=now)
    expires = now + timedelta(minutes=minutes)
    Claim.create(organisation=case.organisation_id, escalation=escalation, case=case,
                 member=owner, claimed_at=now, expires_at=expires)
    case.inbox = inbox
    case.escalation_id = escalation.id
    case.claimed_by = owner
    case.claim_expires_at = expires
    case.save()
    return inbox


def issue(case, actor, now=NOW):
    return service.issue_code(case, actor, secret_key=SECRET, now=now)


def start(case, actor, checklist=None, now=NOW):
    return worksession.start_session(case, actor, checklist=checklist, now=now)


def make_entry(org, actor, **values):
    inbox = values.pop("inbox", None)
    catalog = values.pop("catalog", "")
    fields = dict(asset_type="Laser printer", issue="Paper jam", keywords="toner tray",
                  contact_name="Pia Print", department="Facilities", email="pia@example.test",
                  phone="+46 8 123 45")
    fields.update(values)
    return routing.create_entry(org, actor, values=fields, inbox=inbox, catalog=catalog, now=NOW)


def make_catalog_item(org, *, category="Hardware", name="Laptops"):
    """A catalog item (in a new category named ``category``, or in that category object)."""
    from escalation.escalations.models import CatalogCategory, CatalogItem
    if isinstance(category, str):
        category = CatalogCategory.create(organisation=org, name=category)
    return CatalogItem.create(organisation=org, category=category, name=name)


def came_in_through(case, item, *, now=NOW):
    """Record an escalation form for ``item`` on the case (as the escalation form does), so the
    case's catalog item is ``item``."""
    from escalation.escalations.models import EscalationPacket
    inbox = make_inbox(case.organisation, owners=[])
    escalation = Escalation.create(organisation=case.organisation_id, case=case, inbox=inbox,
                                   origin_queue=case.queue_id, origin_agent=case.assignee_id,
                                   escalated_by=case.assignee_id, escalated_at=now)
    return EscalationPacket.create(organisation=case.organisation_id, escalation=escalation,
                                   case=case, item=item, submitted_at=now)
