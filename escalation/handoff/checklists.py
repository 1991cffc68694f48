"""Curating checklists (admins): a checklist, its link to the service catalog and its ordered
steps; and which checklists to offer on a case. Running one is in ``worksession``."""
from flask_babel import lazy_gettext as _l
from peewee import fn

from .. import audit
from ..db import database
from ..errors import Conflict, Invalid
from . import catalog_links
from .models import VALUE_KINDS, Checklist, ChecklistStep


def _clean(text):
    return (text or "").strip()


def _checklist_fields(org, name, applies_to, description, catalog, current=""):
    """The columns to store; ``catalog`` is the link's form value (see ``catalog_links``): the
    organisation's own catalog item or category, or "" for a general checklist."""
    name = _clean(name)
    reasons = []
    if not name:
        reasons.append(("name", _l("Give the checklist a name.")))
    try:
        link = catalog_links.resolve(org, catalog, current=current)
    except Invalid as invalid:
        reasons += invalid.reasons
    if reasons:
        raise Invalid(reasons)
    return dict(name=name[:200], applies_to=_clean(applies_to)[:200],
                description=_clean(description), **link.fields())


def _step_fields(title, help, value_kind, choices_text, photo_required):
    title = _clean(title)
    reasons = []
    if not title:
        reasons.append(("title", _l("Describe the step.")))
    if value_kind not in VALUE_KINDS:
        reasons.append(("value_kind", _l("Choose what to record.")))
    choices = [line.strip() for line in (choices_text or "").splitlines() if line.strip()]
    if value_kind == "choice" and len(choices) < 2:
        reasons.append(("choices_text", _l("Give at least two choices, one per line.")))
    if reasons:
        raise Invalid(reasons)
    return dict(title=title[:200], help=_clean(help), value_kind=value_kind,
                choices_text="\n".join(choices) if value_kind == "choice" else "",
                photo_required=bool(photo_required))


def create_checklist(org, actor, *, name, applies_to="", description="", catalog="",
                     now) -> Checklist:
    fields = _checklist_fields(org, name, applies_to, description, catalog)
    with database.atomic():
        checklist = Checklist.create(organisation=org, created_at=now, updated_at=now, **fields)
        audit.record(actor, "handoff.checklist_created", organisation=org, subject=checklist,
                     now=now, name=checklist.name, catalog=catalog_links.value_of(checklist))
    return checklist


def update_checklist(checklist, actor, *, name, applies_to="", description="", catalog="",
                     now) -> Checklist:
    fields = _checklist_fields(checklist.organisation_id, name, applies_to, description, catalog,
                               current=catalog_links.value_of(checklist))
    with database.atomic():
        Checklist.update(updated_at=now, **fields).where(Checklist.id == checklist.id).execute()
        saved = Checklist.get_by_id(checklist.id)
        audit.record(actor, "handoff.checklist_updated", organisation=checklist.organisation_id,
                     subject=checklist, now=now, name=fields["name"],
                     catalog=catalog_links.value_of(saved))
    return saved


def checklists_for_case(case, *, catalog=None) -> list[catalog_links.Group]:
    """The checklists a worker may start on the case, grouped in the order they are offered:
    those for the case's catalog item ("Suggested for <item>"), for its category, the general
    ones (linked to neither), then the rest. Archived checklists are left out. ``catalog``:
    the case's (item, category) when the caller has it already (``catalog_links.case_catalog``)."""
    item, category = catalog if catalog is not None else catalog_links.case_catalog(case)
    return catalog_links.group(
        list(Checklist.for_org(case.organisation_id)), item, category,
        general_label=_l("General checklists"), other_label=_l("Other checklists"))


def startable_checklist(case, checklist_id):
    """The checklist chosen to start on the case: the organisation's own and not archived, or
    None for a session without a checklist."""
    if not checklist_id:
        return None
    checklist = Checklist.get_or_none((Checklist.id == checklist_id)
                                      & (Checklist.organisation == case.organisation_id)
                                      & Checklist.archived_at.is_null())
    if checklist is None:
        raise Invalid([("checklist", _l("Choose one of the checklists offered."))])
    return checklist


def archive_checklist(checklist, actor, *, now):
    """Archived checklists can no longer be started; sessions already run keep their copy."""
    with database.atomic():
        changed = (Checklist.update(archived_at=now, updated_at=now)
                   .where((Checklist.id == checklist.id) & Checklist.archived_at.is_null())
                   .execute())
        if not changed:
            raise Conflict(_l("That checklist is already archived."))
        audit.record(actor, "handoff.checklist_archived", organisation=checklist.organisation_id,
                     subject=checklist, now=now, name=checklist.name)


def add_step(checklist, actor, *, title, help="", value_kind="none", choices_text="",
             photo_required=False, now) -> ChecklistStep:
    fields = _step_fields(title, help, value_kind, choices_text, photo_required)
    with database.atomic():
        last = (ChecklistStep.select(fn.MAX(ChecklistStep.position))
                .where(ChecklistStep.checklist == checklist).scalar()) or 0
        step = ChecklistStep.create(organisation=checklist.organisation_id, checklist=checklist,
                                    position=last + 1, **fields)
        _touch(checklist, now)
        audit.record(actor, "handoff.checklist_step_added", organisation=checklist.organisation_id,
                     subject=step, now=now, checklist=checklist.id, title=step.title)
    return step


def update_step(step, actor, *, title, help="", value_kind="none", choices_text="",
                photo_required=False, now) -> ChecklistStep:
    fields = _step_fields(title, help, value_kind, choices_text, photo_required)
    with database.atomic():
        ChecklistStep.update(**fields).where(ChecklistStep.id == step.id).execute()
        _touch(step.checklist_id, now)
        audit.record(actor, "handoff.checklist_step_updated", organisation=step.organisation_id,
                     subject=step, now=now, checklist=step.checklist_id, title=fields["title"])
    return ChecklistStep.get_by_id(step.id)


def remove_step(step, actor, *, now):
    with database.atomic():
        ChecklistStep.delete().where(ChecklistStep.id == step.id).execute()
        _renumber(step.checklist_id)
        _touch(step.checklist_id, now)
        audit.record(actor, "handoff.checklist_step_removed", organisation=step.organisation_id,
                     now=now, checklist=step.checklist_id, title=step.title)


def move_step(step, actor, *, up: bool, now):
    """Swap the step with its neighbour above (``up``) or below."""
    with database.atomic():
        steps = list(ChecklistStep.of(step.checklist_id))
        index = next(i for i, s in enumerate(steps) if s.id == step.id)
        other = index - 1 if up else index + 1
        if 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]
            _renumber(step.checklist_id, steps)
            _touch(step.checklist_id, now)
            audit.record(actor, "handoff.checklist_step_moved", organisation=step.organisation_id,
                         subject=step, now=now, checklist=step.checklist_id,
                         direction="up" if up else "down")


def _renumber(checklist_id, steps=None):
    steps = steps if steps is not None else list(ChecklistStep.of(checklist_id))
    for position, row in enumerate(steps, start=1):
        if row.position != position:
            ChecklistStep.update(position=position).where(ChecklistStep.id == row.id).execute()


def _touch(checklist, now):
    Checklist.update(updated_at=now).where(Checklist.id == getattr(checklist, "id", checklist)).execute()
