"""The escalation form's own tables: the service catalog, escalation paths, the packets (the form
as submitted, immutable) and attachments (stored in the database, so every app server sees them).
"""
import json

from flask_babel import lazy_gettext as _l
from peewee import (
    BlobField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from ..clock import utcnow
from ..db import BaseModel
from ..models import Case, Escalation, Inbox, Member, Organisation, utc_field

# Built-in catalog entries: stored with a ``key`` and an empty name, shown in the reader's language
# until an admin gives them a name of their own.
BUILTIN_LABELS = {
    "handling": _l("Handling"),
    "escalation": _l("Escalation"),
}
BUILTIN_DESCRIPTIONS = {
    "handling": _l("Handling cases the front line cannot resolve."),
    "escalation": _l("Escalate a case to the next tier with everything the specialists need."),
}


class BuiltinNamed:
    """Built-in rows (with a ``key``) show their standard name and description in the reader's
    language until an admin gives them their own."""

    def label(self):
        return self.name or BUILTIN_LABELS.get(self.key, "")

    def text(self):
        return self.description or BUILTIN_DESCRIPTIONS.get(self.key, "")

    def __str__(self):
        return str(self.label())


class CatalogCategory(BuiltinNamed, BaseModel):
    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    key = CharField(max_length=40, null=True)
    name = CharField(max_length=200, default="")
    description = TextField(default="")
    position = IntegerField(default=0)
    archived_at = utc_field(null=True)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "catalog_category"
        indexes = ((("organisation", "key"), True),)

    @classmethod
    def for_org(cls, org, *, include_archived=False):
        query = cls.select().where(cls.organisation == org)
        if not include_archived:
            query = query.where(cls.archived_at.is_null())
        return query.order_by(cls.position, cls.id)


class CatalogItem(BuiltinNamed, BaseModel):
    """One thing the catalog offers: its form's extra required fields, help texts, minimum lengths
    and its escalation path (``PathStep``)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    category = ForeignKeyField(CatalogCategory, backref="items", on_delete="CASCADE")
    key = CharField(max_length=40, null=True)
    name = CharField(max_length=200, default="")
    description = TextField(default="")
    position = IntegerField(default=0)
    min_description_length = IntegerField(default=40)
    min_troubleshooting_length = IntegerField(default=20)
    required_json = TextField(default="[]")  # optional fields this item makes required
    help_json = TextField(default="{}")      # field name -> the item's own help text
    archived_at = utc_field(null=True)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "catalog_item"
        indexes = ((("organisation", "key"), True), (("category", "position"), False))

    @property
    def required_fields(self) -> list[str]:
        return list(json.loads(self.required_json or "[]"))

    @property
    def help_texts(self) -> dict[str, str]:
        return dict(json.loads(self.help_json or "{}"))

    @classmethod
    def for_org(cls, org, *, include_archived=False):
        query = (cls.select(cls, CatalogCategory).join(CatalogCategory)
                 .where(cls.organisation == org))
        if not include_archived:
            query = query.where(cls.archived_at.is_null() & CatalogCategory.archived_at.is_null())
        return query.order_by(CatalogCategory.position, CatalogCategory.id, cls.position, cls.id)


class PathStep(BaseModel):
    """One inbox in an item's escalation path, in ``position`` order (the front-line queue the
    case starts in comes before the first step)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    item = ForeignKeyField(CatalogItem, backref="path_steps", on_delete="CASCADE")
    inbox = ForeignKeyField(Inbox, on_delete="CASCADE")
    position = IntegerField(default=0)

    class Meta:
        table_name = "escalation_path_step"
        indexes = ((("item", "inbox"), True), (("item", "position"), False))

    @classmethod
    def path_of(cls, item):
        """The item's live steps (deleted inboxes left out), in order, with their inboxes."""
        return (cls.select(cls, Inbox).join(Inbox)
                .where((cls.item == item) & Inbox.deleted_at.is_null())
                .order_by(cls.position, cls.id))


class EscalationPacket(BaseModel):
    """The escalation form exactly as submitted, kept with the escalation it started. Never
    updated (the database refuses it)."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    escalation = ForeignKeyField(Escalation, unique=True, on_delete="CASCADE")
    case = ForeignKeyField(Case, on_delete="CASCADE")
    item = ForeignKeyField(CatalogItem, null=True, on_delete="SET NULL")
    submitted_by = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    submitted_at = utc_field(default=utcnow)
    data_json = TextField(default="{}")

    class Meta:
        table_name = "escalation_packet"
        indexes = ((("case", "submitted_at"), False),)

    @property
    def data(self):
        return json.loads(self.data_json or "{}")

    @classmethod
    def latest_for(cls, case):
        return (cls.select().where(cls.case == case)
                .order_by(cls.submitted_at.desc(), cls.id.desc()).first())


class Attachment(BaseModel):
    """A file given with the form. Pending (no case yet) while it belongs to a form being filled
    in, identified by the form's token; attached to the case when the form is submitted."""

    organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
    case = ForeignKeyField(Case, null=True, on_delete="CASCADE")
    packet = ForeignKeyField(EscalationPacket, null=True, on_delete="SET NULL")
    form_token = CharField(max_length=64, null=True)
    uploaded_by = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    name = CharField(max_length=200)
    content_type = CharField(max_length=100)
    size = IntegerField()
    sha256 = CharField(max_length=64)
    created_at = utc_field(default=utcnow)
    attached_at = utc_field(null=True)

    class Meta:
        table_name = "attachment"
        indexes = ((("organisation", "form_token"), False), (("case", "created_at"), False))

    @property
    def is_image(self):
        return self.content_type in PREVIEWABLE_IMAGES

    @property
    def is_pending(self):
        return self.case_id is None

    @classmethod
    def pending_for(cls, member, token):
        if not token:
            return cls.select().where(cls.id.is_null())
        return (cls.select().where((cls.organisation == member.organisation_id)
                                   & (cls.uploaded_by == member.id) & (cls.form_token == token)
                                   & cls.case.is_null())
                .order_by(cls.id))

    @classmethod
    def count_pending(cls, member, token):
        return cls.pending_for(member, token).order_by().count()


# Images a browser shows in an <img>; HEIC is kept but offered as a download only.
PREVIEWABLE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


class AttachmentContent(BaseModel):
    """The bytes of an attachment, in their own table so listing attachments never loads them."""

    attachment = ForeignKeyField(Attachment, primary_key=True, on_delete="CASCADE")
    data = BlobField()

    class Meta:
        table_name = "attachment_content"


class AttachmentThumbnail(BaseModel):
    """The small preview of an image attachment (``thumbnails.make``), made when the file is
    stored, or on first request for files stored before thumbnails existed. ``data`` is empty when
    the image could not be decoded (or is too large to decode safely): then it has none, and the
    file is shown by its name."""

    attachment = ForeignKeyField(Attachment, primary_key=True, on_delete="CASCADE")
    content_type = CharField(max_length=100, default="")
    width = IntegerField(default=0)
    height = IntegerField(default=0)
    data = BlobField(null=True)
    created_at = utc_field(default=utcnow)

    class Meta:
        table_name = "attachment_thumbnail"

    @property
    def has_image(self):
        return self.data is not None


# Created by migration 0020; the thumbnails table came later (0021).
MODELS = [CatalogCategory, CatalogItem, PathStep, EscalationPacket, Attachment, AttachmentContent]
THUMBNAIL_MODELS = [AttachmentThumbnail]
