"""The escalation form's domain: the service catalog, escalation paths, uploads, submitting the
form (escalating into the path's next inbox with the packet kept), the next tier and sending back.

Escalating and moving themselves belong to the inboxes area (``escalation.inboxes.service``):
these functions call ``escalate``/``move``/``de_escalate`` inside their own transaction.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from markupsafe import escape
from peewee import JOIN, IntegrityError, fn
from peewee import Case as SqlCase

from .. import audit, sqlcache
from ..db import database
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..cases import service as cases_service
from ..models import Case, Contact, Escalation, Inbox, Member, Queue, User
from ..permissions import can_manage_org, can_view_case, can_work_case, is_staff_lead
from . import attachments as files
from . import rules
from . import thumbnails as thumbs
from .models import (Attachment, AttachmentContent, AttachmentThumbnail, CatalogCategory,
                     CatalogItem, EscalationPacket, PathStep)

BOUNCE_LIMIT = 2           # flagged when a case has gone back and forth more than this
PENDING_LIFETIME = timedelta(days=2)
PEOPLE_LIMIT = 10


def _inboxes():
    from ..inboxes import service
    return service


# ---------------------------------------------------------------------------------------------
# The catalog

def ensure_default_catalog(org, *, now) -> CatalogItem:
    """Hantering → Eskalering for this organisation, created the first time it is needed. Its
    path starts as the organisation's escalation inboxes above L1, lowest tier first."""
    item = CatalogItem.get_or_none((CatalogItem.organisation == org)
                                   & (CatalogItem.key == "escalation"))
    if item is not None:
        return item
    with database.atomic():
        category, _ = _create_once(CatalogCategory, org, "handling", created_at=now)
        item, created = _create_once(CatalogItem, org, "escalation", category=category,
                                     created_at=now)
        if created:
            inboxes = (Inbox.for_org(org).where(Inbox.tier > 1)
                       .order_by(Inbox.tier, fn.LOWER(Inbox.name)))
            for position, inbox in enumerate(inboxes):
                PathStep.create(organisation=org, item=item, inbox=inbox, position=position)
    return item


def _create_once(model, org, key, **fields):
    """Insert the built-in row, or find the one a concurrent request inserted first:
    (row, whether this call created it)."""
    try:
        with database.atomic():
            return model.create(organisation=org, key=key, **fields), True
    except IntegrityError:
        return model.get((model.organisation == org) & (model.key == key)), False


def default_item(org, *, now) -> CatalogItem:
    item = ensure_default_catalog(org, now=now)
    if item.archived_at is None:
        return item
    return CatalogItem.for_org(org).first() or item


def _require_admin(actor):
    if not can_manage_org(actor):
        raise Forbidden()


def _clean(text, limit=200):
    return re.sub(r"\s+", " ", text or "").strip()[:limit]


def create_category(org, actor, *, name, description="", now) -> CatalogCategory:
    _require_admin(actor)
    with database.atomic():
        position = (CatalogCategory.select(fn.MAX(CatalogCategory.position))
                    .where(CatalogCategory.organisation == org).scalar() or 0) + 1
        category = CatalogCategory.create(organisation=org, name=_clean(name),
                                          description=(description or "").strip(),
                                          position=position, created_at=now)
        audit.record(actor, "escalations.category_created", organisation=org, subject=category,
                     now=now, name=category.name)
    return category


def update_category(category, actor, *, name, description, archived, now) -> CatalogCategory:
    _require_admin(actor)
    with database.atomic():
        changed = (CatalogCategory.update(name=_clean(name),
                                          description=(description or "").strip(),
                                          archived_at=now if archived else None)
                   .where((CatalogCategory.id == category.id)
                          & (CatalogCategory.organisation == actor.organisation_id)).execute())
        if not changed:
            raise NotFound()
        audit.record(actor, "escalations.category_changed", organisation=category.organisation_id,
                     subject=category, now=now, name=_clean(name), archived=bool(archived))
    return CatalogCategory.get_by_id(category.id)


def create_item(category, actor, *, name, description="", now) -> CatalogItem:
    _require_admin(actor)
    with database.atomic():
        position = (CatalogItem.select(fn.MAX(CatalogItem.position))
                    .where(CatalogItem.category == category).scalar() or 0) + 1
        item = CatalogItem.create(organisation=category.organisation_id, category=category,
                                  name=_clean(name), description=(description or "").strip(),
                                  position=position, created_at=now)
        audit.record(actor, "escalations.item_created", organisation=category.organisation_id,
                     subject=item, now=now, name=item.name)
    return item


@dataclass
class ItemSettings:
    name: str
    description: str = ""
    min_description_length: int = 40
    min_troubleshooting_length: int = 20
    required_fields: list = field(default_factory=list)
    help_texts: dict = field(default_factory=dict)
    archived: bool = False


def update_item(item, actor, settings: ItemSettings, *, now) -> CatalogItem:
    _require_admin(actor)
    required = [name for name in rules.OPTIONAL_FIELDS if name in settings.required_fields]
    helps = {name: text.strip()[:1000] for name, text in settings.help_texts.items()
             if name in rules.ALWAYS_REQUIRED + rules.OPTIONAL_FIELDS and (text or "").strip()}
    with database.atomic():
        changed = (CatalogItem.update(
            name=_clean(settings.name), description=(settings.description or "").strip(),
            min_description_length=max(0, int(settings.min_description_length)),
            min_troubleshooting_length=max(0, int(settings.min_troubleshooting_length)),
            required_json=json.dumps(required), help_json=json.dumps(helps, ensure_ascii=False),
            archived_at=now if settings.archived else None)
            .where((CatalogItem.id == item.id)
                   & (CatalogItem.organisation == actor.organisation_id)).execute())
        if not changed:
            raise NotFound()
        audit.record(actor, "escalations.item_changed", organisation=item.organisation_id,
                     subject=item, now=now, name=_clean(settings.name), required=required,
                     archived=bool(settings.archived))
    return CatalogItem.get_by_id(item.id)


# ---------------------------------------------------------------------------------------------
# Escalation paths

def path_of(item) -> list[Inbox]:
    """The inboxes of the item's path (its SQL compiled once: the case page asks every view)."""
    return [step.inbox for step in sqlcache.select(("escalations.path",), PathStep.path_of,
                                                   getattr(item, "id", item))]


def add_path_step(item, inbox, actor, *, now) -> PathStep:
    _require_admin(actor)
    if inbox.organisation_id != item.organisation_id or inbox.deleted_at is not None:
        raise NotFound()
    with database.atomic():
        if PathStep.select().where((PathStep.item == item) & (PathStep.inbox == inbox)).exists():
            raise Invalid([("inbox", _l("That inbox is already in the path."))])
        position = (PathStep.select(fn.MAX(PathStep.position))
                    .where(PathStep.item == item).scalar() or 0) + 1
        step = PathStep.create(organisation=item.organisation_id, item=item, inbox=inbox,
                               position=position)
        audit.record(actor, "escalations.path_changed", organisation=item.organisation_id,
                     subject=item, now=now, added=inbox.id, path=_path_ids(item))
    return step


def move_path_step(step, actor, *, up: bool, now) -> None:
    """Swap the step with its neighbour above (``up``) or below."""
    _require_admin(actor)
    with database.atomic():
        steps = list(PathStep.select().where(PathStep.item == step.item_id)
                     .order_by(PathStep.position, PathStep.id))
        index = next((i for i, s in enumerate(steps) if s.id == step.id), None)
        if index is None:
            raise NotFound()
        other = index - 1 if up else index + 1
        if not 0 <= other < len(steps):
            return
        steps[index], steps[other] = steps[other], steps[index]
        for position, each in enumerate(steps):
            if each.position != position:
                PathStep.update(position=position).where(PathStep.id == each.id).execute()
        audit.record(actor, "escalations.path_changed", organisation=step.organisation_id,
                     subject=step.item, now=now, moved=step.inbox_id, path=_path_ids(step.item_id))


def remove_path_step(step, actor, *, now) -> None:
    _require_admin(actor)
    with database.atomic():
        if not PathStep.delete().where(PathStep.id == step.id).execute():
            raise NotFound()
        audit.record(actor, "escalations.path_changed", organisation=step.organisation_id,
                     subject=step.item, now=now, removed=step.inbox_id,
                     path=_path_ids(step.item_id))


def _path_ids(item):
    return [s.inbox_id for s in PathStep.select(PathStep.inbox)
            .where(PathStep.item == item).order_by(PathStep.position, PathStep.id)]


def next_inbox(path: list[Inbox], case) -> Inbox | None:
    """The inbox after the case's place in the path. A case outside the path (in a queue, or in an
    inbox since removed from the path) goes to the first path inbox of a higher tier."""
    ids = [inbox.id for inbox in path]
    if case.inbox_id in ids:
        index = ids.index(case.inbox_id)
        return path[index + 1] if index + 1 < len(path) else None
    tier = case.inbox.tier if case.inbox_id else case.queue.tier
    return next((inbox for inbox in path if inbox.tier > tier), None)


def previous_inbox(path: list[Inbox], case) -> Inbox | None:
    """The inbox one step down the path, or None when the step down is the queue it came from."""
    ids = [inbox.id for inbox in path]
    if case.inbox_id in ids:
        index = ids.index(case.inbox_id)
        return path[index - 1] if index > 0 else None
    lower = [inbox for inbox in path if inbox.tier < case.inbox.tier]
    return lower[-1] if lower else None


_UNKNOWN = object()


def item_of(case, *, now, packet=_UNKNOWN) -> CatalogItem:
    """The catalog item the case was escalated through (its latest form), else the default.
    ``packet``: the case's latest packet (or None) when the caller has it already."""
    if packet is _UNKNOWN:
        packet = EscalationPacket.latest_for(case)
    if packet is not None and packet.item_id is not None:
        return packet.item
    return default_item(case.organisation_id, now=now)


# ---------------------------------------------------------------------------------------------
# People: the requester and requested-for are contacts; members are offered too.

@dataclass
class Person:
    name: str
    email: str | None
    contact: Contact | None = None
    member: Member | None = None

    @property
    def key(self) -> str:
        """What the form's field holds for this person (and what ``resolve_person`` reads)."""
        if self.email:
            return f"{self.name} <{self.email}>"
        if self.contact is not None:
            return f"{self.name} (#{self.contact.id})"
        return self.name

    @property
    def kind(self):
        return "member" if self.member is not None and self.contact is None else "contact"


def person_of_contact(contact) -> Person | None:
    if contact is None:
        return None
    return Person(contact.name, contact.email, contact=contact)


def people_matching(org, text, *, limit=PEOPLE_LIMIT) -> list[Person]:
    """Contacts and active members whose name or email contains the text, contacts first."""
    needle = (text or "").strip().lower()
    needle = re.sub(r"\s*<[^>]*>?\s*$|\s*\(#\d+\)\s*$", "", needle) or needle
    members = Member.active_in(org)
    if needle:
        members = members.where(fn.LOWER(User.name).contains(needle)
                                | fn.LOWER(User.email).contains(needle))
    found = [person_of_contact(c)
             for c in cases_service.search_contacts(org, needle, limit=limit)]
    seen = {(p.email or "").lower() for p in found if p.email}
    for member in members.limit(limit):
        if member.user.email.lower() not in seen:
            found.append(Person(member.user.name, member.user.email, member=member))
    return found[:limit]


def resolve_person(org, text, field_name) -> Person:
    """The one contact or member the typed text names: "Name <email>", "Name (#id)", an email or a
    name. Raises ``Invalid`` for the field when nobody or several people match."""
    text = (text or "").strip()
    by_id = re.search(r"\(#(\d+)\)\s*$", text)
    if by_id:
        contact = Contact.get_or_none((Contact.id == int(by_id.group(1)))
                                      & (Contact.organisation == org))
        if contact is not None:
            return person_of_contact(contact)
    email = re.search(r"<([^<>\s]+@[^<>\s]+)>\s*$", text)
    email = email.group(1) if email else (text if re.fullmatch(r"[^@\s]+@[^@\s]+", text) else None)
    if email:
        found = _by_email(org, email)
    else:
        found = _by_name(org, text)
    if len(found) == 1:
        return found[0]
    if found:
        raise Invalid([(field_name, _l("Several people match “%(text)s”. Pick one from the list "
                                       "(it shows their email).", text=escape(text)))])
    # escape(): a lazy string is rendered as HTML as it is (flask_babel's LazyString.__html__),
    # so what the user typed must be escaped before it goes into one.
    raise Invalid([(field_name, _l("Nobody in the organisation matches “%(text)s”. Pick someone "
                                   "from the list, or add a new contact below.",
                                   text=escape(text)))])


def _by_email(org, email):
    email = email.lower()
    contacts = list(Contact.select().where((Contact.organisation == org)
                                           & (fn.LOWER(Contact.email) == email))
                    .order_by(Contact.id).limit(1))
    if contacts:
        return [person_of_contact(contacts[0])]  # the oldest wins when an address is shared
    members = list(Member.active_in(org).where(fn.LOWER(User.email) == email).limit(1))
    return [Person(m.user.name, m.user.email, member=m) for m in members]


def _by_name(org, name):
    lowered = name.lower()
    contacts = list(Contact.for_org(org).where(fn.LOWER(Contact.name) == lowered).limit(2))
    if contacts:
        return [person_of_contact(c) for c in contacts]
    members = list(Member.active_in(org).where(fn.LOWER(User.name) == lowered).limit(2))
    return [Person(m.user.name, m.user.email, member=m) for m in members]


def _contact_for(person: Person | None, org, actor, *, now) -> Contact | None:
    """The person as a contact: a member asking the desk gets (or has) a contact of their own."""
    if person is None:
        return None
    if person.contact is not None:
        return person.contact
    member = person.member
    contact = Contact.get_or_none((Contact.organisation == org) & (Contact.member == member))
    if contact is None:
        contact = Contact.create(organisation=org, name=member.user.name, email=member.user.email,
                                 locale=member.user.locale, member=member, created_at=now)
        audit.record(actor, "contact.created", organisation=org, subject=contact, now=now,
                     name=contact.name, member=member.id)
    return contact


# ---------------------------------------------------------------------------------------------
# Attachments

@dataclass
class UploadLimits:
    max_bytes: int = files.DEFAULT_MAX_BYTES
    max_count: int = files.DEFAULT_MAX_COUNT
    max_pixels: int = thumbs.DEFAULT_MAX_PIXELS  # larger images are kept without a thumbnail


def store_uploads(actor, token, uploads, *, limits: UploadLimits, now):
    """Keep the acceptable files as pending attachments of the form ``token``; returns (stored,
    refusals). Refused files are reported, never stored; the rest are kept even when the form
    itself is invalid, so nobody picks a file twice. Images get their thumbnail as they are
    stored (none when they do not decode: the file is kept all the same)."""
    stored, refusals = [], []
    uploads = [(name, data) for name, data in uploads if name or data]
    if not uploads:
        return stored, refusals
    # Checking and thumbnailing take time: done before the transaction, so no lock waits on it.
    checked_files = []
    for raw_name, data in uploads:
        try:
            checked = files.check(raw_name, data, max_bytes=limits.max_bytes)
        except files.Refused as refused:
            checked_files.append((None, None, refused.message))
            continue
        thumbnail = thumbs.make(checked.data, checked.content_type, max_pixels=limits.max_pixels)
        checked_files.append((checked, thumbnail, None))
    with database.atomic():
        Attachment.delete().where(
            (Attachment.organisation == actor.organisation_id) & Attachment.case.is_null()
            & (Attachment.created_at < now - PENDING_LIFETIME)).execute()
        pending = list(Attachment.pending_for(actor, token))
        count, hashes = len(pending), {a.sha256 for a in pending}
        for checked, thumbnail, refusal in checked_files:
            if refusal is not None:
                refusals.append(refusal)
                continue
            if checked.sha256 in hashes:
                continue
            if count >= limits.max_count:
                refusals.append(_l("At most %(max)d files can be attached; “%(name)s” was not "
                                   "added.", max=limits.max_count, name=escape(checked.name)))
                continue
            attachment = Attachment.create(
                organisation=actor.organisation_id, form_token=token, uploaded_by=actor,
                name=checked.name, content_type=checked.content_type, size=checked.size,
                sha256=checked.sha256, created_at=now)
            AttachmentContent.create(attachment=attachment, data=checked.data)
            if checked.content_type in thumbs.DECODERS:
                _save_thumbnail(attachment, thumbnail, now=now)
            stored.append(attachment)
            count += 1
            hashes.add(checked.sha256)
    return stored, refusals


def attachment_content(attachment) -> bytes:
    content = AttachmentContent.get_by_id(attachment.id)
    return bytes(content.data)


# ---------------------------------------------------------------------------------------------
# Thumbnails

def _save_thumbnail(attachment, thumbnail, *, now) -> AttachmentThumbnail:
    """Store the thumbnail, or the fact that there is none (``thumbnail`` None)."""
    if thumbnail is None:
        return AttachmentThumbnail.create(attachment=attachment, created_at=now)
    return AttachmentThumbnail.create(
        attachment=attachment, content_type=thumbnail.content_type, width=thumbnail.width,
        height=thumbnail.height, data=thumbnail.data, created_at=now)


def thumbnail_of(attachment, *, max_pixels=thumbs.DEFAULT_MAX_PIXELS,
                 now) -> AttachmentThumbnail | None:
    """The attachment's thumbnail, made now when the file was stored before thumbnails existed;
    None when it has none (not an image a browser shows, or one that does not decode)."""
    if attachment.content_type not in thumbs.DECODERS:
        return None
    found = AttachmentThumbnail.get_or_none(AttachmentThumbnail.attachment == attachment.id)
    if found is None:
        made = thumbs.make(attachment_content(attachment), attachment.content_type,
                           max_pixels=max_pixels)
        try:
            with database.atomic():
                found = _save_thumbnail(attachment, made, now=now)
        except IntegrityError:  # another request made it first: theirs is the same
            found = AttachmentThumbnail.get(AttachmentThumbnail.attachment == attachment.id)
    return found if found.has_image else None


def make_missing_thumbnails(*, max_pixels=thumbs.DEFAULT_MAX_PIXELS, now) -> dict[str, int]:
    """Thumbnails for every image attachment that has none yet (``flask escalations
    thumbnails``): how many were made and how many images have none."""
    missing = (Attachment.select(Attachment.id, Attachment.content_type)
               .join(AttachmentThumbnail, JOIN.LEFT_OUTER,
                     on=(AttachmentThumbnail.attachment == Attachment.id))
               .where(Attachment.content_type.in_(list(thumbs.DECODERS))
                      & AttachmentThumbnail.attachment.is_null())
               .order_by(Attachment.id))
    counts = {"made": 0, "without": 0}
    for attachment in list(missing):
        made = thumbnail_of(attachment, max_pixels=max_pixels, now=now)
        counts["made" if made is not None else "without"] += 1
    return counts


@dataclass
class ThumbnailState:
    ready: bool        # False: the image has none (does not decode); show the file's name
    width: int = 0
    height: int = 0


def thumbnail_states(attachment_ids) -> dict[int, ThumbnailState]:
    """What is known of these attachments' thumbnails (without loading any bytes), by attachment
    id. An image with no entry yet gets its thumbnail on first request."""
    ids = [int(i) for i in attachment_ids]
    if not ids:
        return {}
    rows = (AttachmentThumbnail.select(AttachmentThumbnail.attachment,
                                       AttachmentThumbnail.width, AttachmentThumbnail.height,
                                       AttachmentThumbnail.data.is_null(False).alias("present"))
            .where(AttachmentThumbnail.attachment.in_(ids)).dicts())
    return {row["attachment"]: ThumbnailState(bool(row["present"]), row["width"], row["height"])
            for row in rows}


def may_download(member, attachment) -> bool:
    """Pending files: only their uploader. Attached files: whoever may see the case."""
    if attachment.organisation_id != member.organisation_id:
        return False
    if attachment.case_id is None:
        return attachment.uploaded_by_id == member.id
    return may_see_case(member, attachment.case)


def may_see_case(member, case) -> bool:
    """The case page's own rule (an inbox's owners, whoever escalated it from their work, leads)."""
    owner = history = False
    if case.inbox_id is not None and not is_staff_lead(member):
        owner = cases_service.is_inbox_owner(member, case)
        history = not owner and cases_service.has_escalation_history(member, case)
    return can_view_case(member, case, is_inbox_owner=owner, has_history=history)


def attachments_of(case):
    return (Attachment.select().where(Attachment.case == case)
            .order_by(Attachment.created_at, Attachment.id))


# ---------------------------------------------------------------------------------------------
# Submitting the form

@dataclass
class FormValues:
    requester: Person
    subject: str
    description: str
    troubleshooting: str
    serial_number: str
    colleagues: str
    priority: int
    requested_for: Person | None = None
    colleagues_note: str = ""


def l1_queue_of(member) -> Queue | None:
    """The member's front-line queue: the first L1 queue they may open cases in."""
    return cases_service.queues_for_new_case(member).where(Queue.tier == 1).first()


def submit_form(actor, item, values: FormValues, *, case=None, token=None, short_confirmed=False,
                now):
    """Escalate the case (created first when there is none) into the item's next inbox, with the
    form kept as an immutable packet and the pending attachments attached. Returns the packet.
    A description or troubleshooting text shorter than the item's minimum is refused unless
    ``short_confirmed`` (the agent saw the warning and chose to send it anyway; one confirmation
    covers both). The packet and the audit event record which texts were confirmed short. The
    requester is told by email after the transaction has committed."""
    with database.atomic():
        kept = list(Attachment.pending_for(actor, token))
        snapshot = _values_dict(values)
        snapshot["attachments"] = kept
        problems = rules.packet_problems(snapshot, item, short_confirmed=short_confirmed)
        if problems:
            raise Invalid(problems)
        if case is not None and case.organisation_id != actor.organisation_id:
            raise NotFound()
        if case is not None and not may_work_case(actor, case):
            raise Forbidden()
        requester = _contact_for(values.requester, actor.organisation_id, actor, now=now)
        requested_for = _contact_for(values.requested_for, actor.organisation_id, actor, now=now)
        if requested_for is not None and requested_for.id == requester.id:
            requested_for = None
        created = case is None
        if created:
            case = _open_case(actor, values, requester, requested_for, now=now)
        target = next_inbox(path_of(item), case)
        if target is None:
            raise Invalid([(None, _l("“%(item)s” has no next tier to escalate to from here. Ask an "
                                     "administrator to set up its escalation path.",
                                     item=item.label()))])
        origin = _place_of(case)
        if not created and case.priority != int(values.priority):
            cases_service.change_priority(case, actor, priority=int(values.priority), now=now)
        escalation = _escalate_or_move(case, target, actor, reason=_reason(values), now=now)
        if not created:
            _update_case_people(case, requester, requested_for, now=now)
        data = _packet_data(item, values, requester, requested_for, kept, origin, target, created)
        data["short_confirmed_fields"] = rules.short_fields(snapshot, item) if short_confirmed \
            else []
        packet = EscalationPacket.create(
            organisation=actor.organisation_id, escalation=escalation, case=case, item=item,
            submitted_by=actor, submitted_at=now,
            data_json=json.dumps(data, ensure_ascii=False))
        _attach(kept, case, packet, now=now)
        audit.record(actor, "escalations.form_submitted", organisation=actor.organisation_id,
                     case=case, subject=packet, now=now, escalation_id=escalation.id,
                     inbox_id=target.id, item_id=item.id, case_created=created,
                     short_confirmed_fields=data["short_confirmed_fields"])
    notify_requester(packet, now=now)
    return packet


def _values_dict(values: FormValues):
    return {"requester": values.requester, "requested_for": values.requested_for,
            "subject": values.subject, "description": values.description,
            "troubleshooting": values.troubleshooting,
            "serial_number": rules.normalise_serial(values.serial_number),
            "colleagues": values.colleagues, "colleagues_note": values.colleagues_note,
            "priority": values.priority}


def _owns_inbox(member, case):
    return cases_service.is_inbox_owner(member, case)


def may_work_case(member, case) -> bool:
    """Escalate it with the form: whoever may work on the case."""
    return can_work_case(member, case, is_inbox_owner=_owns_inbox(member, case))


def _open_case(actor, values, requester, requested_for, *, now) -> Case:
    """A case opened from the catalog: in the member's L1 queue, with them, the description as the
    requester's first message (the cases area's own ``create_case``)."""
    queue = l1_queue_of(actor)
    if queue is None:
        raise Invalid([(None, _l("You are in no front-line (L1) queue to open the case in. Ask "
                                 "an administrator to add you to one."))])
    return cases_service.create_case(
        actor, queue=queue, subject=_clean(values.subject), description=values.description,
        priority=int(values.priority), requester=requester, requested_for=requested_for,
        assign_to_me=True, channel="other", now=now)


def _place_of(case) -> dict:
    if case.inbox_id is not None:
        return {"kind": "inbox", "id": case.inbox_id, "name": case.inbox.name,
                "tier": case.inbox.tier}
    return {"kind": "queue", "id": case.queue_id, "name": case.queue.name, "tier": case.queue.tier}


def _escalate_or_move(case, target, actor, *, reason, now):
    if case.inbox_id is None:
        return _inboxes().escalate(case, target, actor, reason=reason, now=now)
    return _inboxes().move(case, target, actor, reason=reason, now=now)


def _reason(values):
    """The escalation record's reason: the form's subject (the packet holds the rest)."""
    return _clean(values.subject)


def _update_case_people(case, requester, requested_for, *, now):
    """The form names the requester and requested-for; the case follows it."""
    people = dict(requester=requester.id, requested_for=requested_for.id if requested_for else None)
    if (case.requester_id, case.requested_for_id) == (people["requester"], people["requested_for"]):
        return
    changed = (Case.update(version=Case.version + 1, updated_at=now, **people)
               .where((Case.id == case.id) & (Case.version == case.version)).execute())
    if changed != 1:
        raise Conflict(_l("The case has moved since you opened it. Reload and try again."))
    case.version += 1
    case.requester_id, case.requested_for_id = people["requester"], people["requested_for"]


def _person_data(contact):
    if contact is None:
        return None
    return {"contact_id": contact.id, "name": contact.name, "email": contact.email,
            "phone": contact.phone}


def _packet_data(item, values, requester, requested_for, kept, origin, target, created):
    return {
        "item": {"id": item.id, "key": item.key, "name": item.name,
                 "category": {"id": item.category_id, "key": item.category.key,
                              "name": item.category.name}},
        "requester": _person_data(requester),
        "requested_for": _person_data(requested_for),
        "subject": _clean(values.subject),
        "description": values.description.strip(),
        "troubleshooting": values.troubleshooting.strip(),
        "serial_number": rules.normalise_serial(values.serial_number),
        "colleagues": values.colleagues,
        "colleagues_note": (values.colleagues_note or "").strip(),
        "priority": int(values.priority),
        "attachments": [{"id": a.id, "name": a.name, "content_type": a.content_type,
                         "size": a.size, "sha256": a.sha256} for a in kept],
        "from": origin,
        "to": {"kind": "inbox", "id": target.id, "name": target.name, "tier": target.tier},
        "case_created": created,
    }


def _attach(kept, case, packet, *, now):
    if kept:
        (Attachment.update(case=case, packet=packet, attached_at=now, form_token=None)
         .where(Attachment.id.in_([a.id for a in kept])).execute())


def discard_pending(actor, token, attachment_id, *, now) -> None:
    """Take a pending file off the form before it is sent."""
    with database.atomic():
        Attachment.delete().where(
            (Attachment.id == attachment_id) & (Attachment.uploaded_by == actor.id)
            & (Attachment.form_token == token) & Attachment.case.is_null()).execute()


# ---------------------------------------------------------------------------------------------
# Between tiers: next tier, send back, and the back-and-forth flag

def may_move_between_tiers(member, case) -> bool:
    """An owner of the case's inbox (the claimant is one) or an owner/admin/supervisor."""
    if case.inbox_id is None or case.organisation_id != member.organisation_id:
        return False
    return is_staff_lead(member) or _owns_inbox(member, case)


def escalate_next_tier(case, actor, *, tried, now) -> Escalation:
    """Move a case from its inbox to the next inbox of its path, saying what this tier tried."""
    tried = (tried or "").strip()
    if not tried:
        raise Invalid([("tried", _l("Write down what this tier has tried before passing the "
                                    "case on."))])
    with database.atomic():
        _require_in_inbox(case, actor)
        target = next_inbox(path_of(item_of(case, now=now)), case)
        if target is None:
            raise Invalid([(None, _l("This case is at the last tier of its escalation path."))])
        return _inboxes().move(case, target, actor, reason=tried, now=now)


def send_back(case, actor, *, reason, now):
    """Return the case one tier down its path (to the queue it came from at the first step)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid([("reason", _l("Say why the case goes back, so the tier below knows what "
                                     "is missing."))])
    with database.atomic():
        _require_in_inbox(case, actor)
        from_inbox = case.inbox
        target = previous_inbox(path_of(item_of(case, now=now)), case)
        if target is not None:
            _inboxes().move(case, target, actor, reason=reason, now=now)
        else:
            # To the agent who escalated it (the pool when they have left the queue).
            _inboxes().de_escalate(case, actor, now=now, to="agent", reason=reason)
        audit.record(actor, "escalations.sent_back", organisation=case.organisation_id, case=case,
                     subject=case, now=now, reason=reason, from_inbox=from_inbox.id,
                     from_name=from_inbox.name, from_tier=from_inbox.tier,
                     to_inbox=target.id if target else None,
                     to_name=target.name if target else case.queue.name,
                     to_tier=target.tier if target else case.queue.tier)


def _require_in_inbox(case, actor):
    if case.organisation_id != actor.organisation_id:
        raise NotFound()
    fresh = Case.get_by_id(case.id)
    if fresh.inbox_id is None or fresh.version != case.version:
        raise Conflict(_l("The case has moved since you opened it. Reload and try again."))
    if not may_move_between_tiers(actor, fresh):
        raise Forbidden()


def _bounce_query(case_ids):
    FromInbox, ToInbox = Inbox.alias(), Inbox.alias()
    moved_down = SqlCase(None, [(FromInbox.tier > ToInbox.tier, 1)], 0)
    returned = SqlCase(None, [(Escalation.end_reason == "de_escalated", 1)], 0)
    return (Escalation.select(Escalation.case, fn.SUM(moved_down + returned))
            .join(FromInbox, JOIN.LEFT_OUTER, on=(Escalation.from_inbox == FromInbox.id))
            .switch(Escalation).join(ToInbox, on=(Escalation.inbox == ToInbox.id))
            .where(Escalation.case.in_(case_ids))
            .group_by(Escalation.case))


def bounce_counts(case_ids) -> dict[int, int]:
    """How many times each case went back down a tier (sent back, moved down, de-escalated).
    One query for any number of cases (the threads view asks for a page of them), its SQL
    compiled once per length of the padded id list."""
    ids = sqlcache.padded(case_ids)
    if not ids:
        return {}
    rows = sqlcache.rows(("escalations.bounces", len(ids)), _bounce_query, ids)
    return {case_id: int(n) for case_id, n in rows if n}


def is_bouncing(count: int) -> bool:
    return count > BOUNCE_LIMIT


def history_of(case) -> list[Escalation]:
    """The case's escalation records, oldest first, with their inboxes and people (who
    escalated included: the panel names them). Its SQL is compiled once: the case page asks on
    every view."""
    return sqlcache.select(("escalations.history",), _history_query, getattr(case, "id", case))


def _history_query(case_id):
    FromInbox, EscalatedBy = Inbox.alias(), Member.alias()
    return (Escalation.select(Escalation, Inbox, Queue, FromInbox, EscalatedBy, User)
                .join(Inbox, on=(Escalation.inbox == Inbox.id), attr="inbox")
                .switch(Escalation).join(EscalatedBy, JOIN.LEFT_OUTER,
                                         on=(Escalation.escalated_by == EscalatedBy.id),
                                         attr="escalated_by")
                .join(User, JOIN.LEFT_OUTER, on=(EscalatedBy.user == User.id), attr="user")
                .switch(Escalation).join(Queue, JOIN.LEFT_OUTER,
                                         on=(Escalation.origin_queue == Queue.id),
                                         attr="origin_queue")
                .switch(Escalation).join(FromInbox, JOIN.LEFT_OUTER,
                                         on=(Escalation.from_inbox == FromInbox.id),
                                         attr="from_inbox")
                .where(Escalation.case == case_id)
                .order_by(Escalation.escalated_at, Escalation.id))


# ---------------------------------------------------------------------------------------------
# Telling the requester

def notify_requester(packet, *, now) -> bool:
    """Email the requester, in their language, that the case went to the specialists. Runs after
    the escalation has committed; a failed send is logged and recorded, never undone."""
    from ..mail import deliver
    case = Case.get_by_id(packet.case_id)
    contact = case.requester
    if contact is None or not contact.email:
        return False
    org = case.organisation
    locale = contact.locale or org.default_locale
    data = packet.data
    sent = deliver(contact.email, "escalated_requester", locale, case=case, contact=contact,
                   organisation=org, subject=data.get("subject") or case.subject,
                   tier=data.get("to", {}).get("tier"))
    with database.atomic():
        audit.record(None, "escalations.requester_notified", organisation=org, case=case,
                     subject=packet, now=now, sent=sent, locale=locale, email=contact.email)
    return sent
