"""Work sessions: running a checklist on a case, step by step, with values, photos and notes.

Each save is its own small transaction, so a dropped connection or a closed tab loses at most the
field being typed. Photos are kept in the database (every app server sees them); their type is
decided from their bytes, never from the name or the browser's claim.
"""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn
from werkzeug.utils import secure_filename

from .. import audit
from ..db import database
from ..errors import Conflict, Invalid
from .models import ChecklistStep, SessionPhoto, SessionStep, WorkSession

PHOTO_MAX_BYTES = 10 * 1024 * 1024
# Allowed photo types: content type -> file extension.
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
               "image/heic": "heic", "image/heif": "heif"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
YES_NO = ("yes", "no")
YES_NO_LABELS = {"yes": _l("Yes"), "no": _l("No")}


# ---------------------------------------------------------------------------------------------
# Photos


def detect_image_type(data: bytes) -> str | None:
    """The content type of a JPEG, PNG, WebP or HEIC/HEIF image, judged from its first bytes;
    None for anything else."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    return None


class Upload:
    """A file as received: its name as the browser gave it, and its bytes."""

    def __init__(self, filename, data: bytes):
        self.filename = filename or ""
        self.data = data

    @classmethod
    def from_storage(cls, storage, *, limit=PHOTO_MAX_BYTES):
        """From a werkzeug FileStorage (None when no file was chosen). Reads at most one byte
        past the limit, so an oversized file is refused without holding it all."""
        if storage is None or not getattr(storage, "filename", ""):
            return None
        return cls(storage.filename, storage.stream.read(limit + 1))


def _checked_photo(upload, field):
    if len(upload.data) == 0:
        raise Invalid([(field, _l("That file is empty."))])
    if len(upload.data) > PHOTO_MAX_BYTES:
        raise Invalid([(field, _l("A photo can be at most %(size)d MB.",
                                  size=PHOTO_MAX_BYTES // (1024 * 1024)))])
    content_type = detect_image_type(upload.data)
    if content_type is None:
        raise Invalid([(field, _l("Only JPEG, PNG, WebP and HEIC photos can be added."))])
    stem = secure_filename(upload.filename).rsplit(".", 1)[0][:150] or "photo"
    return content_type, f"{stem}.{PHOTO_TYPES[content_type]}"


def _store_photo(session, actor, upload, *, step=None, field="photo", now):
    content_type, filename = _checked_photo(upload, field)
    photo = SessionPhoto.create(organisation=session.organisation_id, session=session,
                                step=step, filename=filename, content_type=content_type,
                                size=len(upload.data), data=upload.data, taken_by=actor,
                                created_at=now)
    return photo


def photo_bytes(photo) -> bytes:
    """The stored bytes (PostgreSQL hands back a memoryview)."""
    row = SessionPhoto.select(SessionPhoto.data).where(SessionPhoto.id == photo.id).first()
    return bytes(row.data)


# ---------------------------------------------------------------------------------------------
# Sessions


def _require_open(session):
    if session.finished_at is not None:
        raise Conflict(_l("This work session is finished."))


def start_session(case, actor, *, checklist=None, now) -> WorkSession:
    """Open a work session on the case, with a copy of the checklist's steps (if one is run).
    A case has at most one open session."""
    with database.atomic():
        try:
            with database.atomic():
                session = WorkSession.create(
                    organisation=case.organisation_id, case=case, live_case_id=case.id,
                    checklist=checklist, title=checklist.name if checklist else "",
                    started_by=actor, worker=actor, started_at=now, updated_at=now)
        except IntegrityError:
            raise Conflict(_l("A work session is already open on this case.")) from None
        if checklist is not None:
            for step in ChecklistStep.of(checklist):
                SessionStep.create(organisation=case.organisation_id, session=session,
                                   position=step.position, title=step.title, help=step.help,
                                   value_kind=step.value_kind, choices_text=step.choices_text,
                                   photo_required=step.photo_required, updated_at=now)
        audit.record(actor, "worksession.started", organisation=case.organisation_id, case=case,
                     subject=session, now=now, checklist=session.title)
    return session


def normalise_value(step, raw) -> str | None:
    """The value to store for this step, or Invalid. Empty means no value yet."""
    raw = (raw or "").strip()
    if step.value_kind == "none" or raw == "":
        return None
    if step.value_kind == "number":
        try:
            number = Decimal(raw.replace(",", ".").replace(" ", "").replace("\u00a0", ""))
        except InvalidOperation:
            raise Invalid([("value", _l("Enter a number."))]) from None
        if not number.is_finite():
            raise Invalid([("value", _l("Enter a number."))])
        return format(number.normalize(), "f") if number == number.to_integral() else str(number)
    if step.value_kind == "choice" and raw not in step.choices:
        raise Invalid([("value", _l("Choose one of the options."))])
    if step.value_kind == "yesno" and raw not in YES_NO:
        raise Invalid([("value", _l("Answer yes or no."))])
    return raw[:5000]


def save_step(step, actor, *, done: bool, value=None, photo: Upload | None = None, now) -> SessionStep:
    """Record a step: done or not, its value, and a photo if one was taken. A step that needs
    a value or a photo can only be marked done with it."""
    session = WorkSession.get_by_id(step.session_id)
    _require_open(session)
    stored = normalise_value(step, value)
    with database.atomic():
        added = _store_photo(session, actor, photo, step=step, now=now) if photo else None
        reasons = []
        if done and step.value_kind != "none" and stored is None:
            reasons.append(("value", _l("Record the value before marking the step done.")))
        if done and step.photo_required and added is None and not SessionPhoto.select().where(
                SessionPhoto.step == step).exists():
            reasons.append(("photo", _l("Take a photo before marking the step done.")))
        if reasons:
            raise Invalid(reasons)
        was_done = step.done
        fields = dict(done=bool(done), value=stored, updated_at=now)
        if done and not was_done:
            fields.update(done_at=now, done_by=actor)
        elif not done:
            fields.update(done_at=None, done_by=None)
        SessionStep.update(**fields).where(SessionStep.id == step.id).execute()
        WorkSession.update(updated_at=now).where(WorkSession.id == session.id).execute()
        audit.record(actor, "worksession.step_saved", organisation=session.organisation_id,
                     case=session.case_id, subject=step, now=now, title=step.title,
                     done=bool(done), value=stored, photo=added.filename if added else None)
    return SessionStep.get_by_id(step.id)


def save_notes(session, actor, *, notes, now) -> WorkSession:
    _require_open(session)
    notes = (notes or "").strip()
    with database.atomic():
        WorkSession.update(notes=notes, updated_at=now).where(WorkSession.id == session.id).execute()
        audit.record(actor, "worksession.notes_saved", organisation=session.organisation_id,
                     case=session.case_id, subject=session, now=now, length=len(notes))
    return WorkSession.get_by_id(session.id)


def add_photo(session, actor, *, upload: Upload | None, now) -> SessionPhoto:
    """A photo of the session as a whole (not of one step)."""
    _require_open(session)
    if upload is None:
        raise Invalid([("photo", _l("Choose or take a photo."))])
    with database.atomic():
        photo = _store_photo(session, actor, upload, now=now)
        WorkSession.update(updated_at=now).where(WorkSession.id == session.id).execute()
        audit.record(actor, "worksession.photo_added", organisation=session.organisation_id,
                     case=session.case_id, subject=photo, now=now, filename=photo.filename)
    return photo


def remove_photo(photo, actor, *, now):
    session = WorkSession.get_by_id(photo.session_id)
    _require_open(session)
    with database.atomic():
        SessionPhoto.delete().where(SessionPhoto.id == photo.id).execute()
        audit.record(actor, "worksession.photo_removed", organisation=session.organisation_id,
                     case=session.case_id, now=now, filename=photo.filename)


def finish_session(session, actor, *, now) -> WorkSession:
    with database.atomic():
        changed = (WorkSession.update(finished_at=now, live_case_id=None, updated_at=now)
                   .where((WorkSession.id == session.id) & WorkSession.finished_at.is_null())
                   .execute())
        if not changed:
            raise Conflict(_l("This work session is finished."))
        done, total = progress(session)
        audit.record(actor, "worksession.finished", organisation=session.organisation_id,
                     case=session.case_id, subject=session, now=now, done=done, total=total)
    return WorkSession.get_by_id(session.id)


# ---------------------------------------------------------------------------------------------
# Reading a session


def progress(session) -> tuple[int, int]:
    """(steps done, steps) of a session."""
    row = (SessionStep.select(fn.COUNT(SessionStep.id).alias("total"),
                              fn.SUM(SessionStep.done.cast("integer")).alias("done"))
           .where(SessionStep.session == session.id).dicts().first())
    return int(row["done"] or 0), int(row["total"] or 0)


def photo_counts(session_ids) -> dict:
    """{session id: number of photos}."""
    if not session_ids:
        return {}
    rows = (SessionPhoto.select(SessionPhoto.session, fn.COUNT(SessionPhoto.id).alias("n"))
            .where(SessionPhoto.session.in_(list(session_ids))).group_by(SessionPhoto.session)
            .dicts())
    return {row["session"]: row["n"] for row in rows}


def display_value(step) -> str:
    if step.value is None:
        return ""
    if step.value_kind == "yesno":
        return str(YES_NO_LABELS.get(step.value, step.value))
    return step.value


def troubleshooting_text(case) -> str | None:
    """Plain text of the case's work sessions for "troubleshooting done": every completed step
    with its value, the number of photos, and the notes. None when nothing was recorded."""
    from flask_babel import gettext as _, ngettext

    sessions = list(WorkSession.of_case(case))
    if not sessions:
        return None
    counts = photo_counts([s.id for s in sessions])
    blocks = []
    for session in sessions:
        lines = []
        steps = [s for s in SessionStep.of(session) if s.done]
        for step in steps:
            value = display_value(step)
            lines.append(f"- {step.title}: {value}" if value else f"- {step.title}")
        photos = counts.get(session.id, 0)
        if photos:
            lines.append(ngettext("%(num)d photo taken.", "%(num)d photos taken.", photos))
        if session.notes:
            lines.append(_("Notes: %(notes)s", notes=session.notes))
        if lines:
            title = session.title or _("Work session")
            blocks.append("\n".join([f"{title}:"] + lines))
    return "\n\n".join(blocks) or None
