"""Curation by owners and admins: checklists and their steps, and the routing directory (with how
often each entry was used, and how often the case was solved after it without escalating)."""
from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from peewee import fn

from ..clock import utcnow
from ..errors import Invalid
from ..models import Inbox
from ..web import render_page_or_partial, require, see_other
from . import bp, catalog_links, checklists, permissions, routing
from .forms import ActionForm, ChecklistForm, ChecklistStepForm, RoutingEntryForm
from .loaders import checked_action, checklist_or_404, checklist_step_or_404, entry_or_404
from .models import Checklist, ChecklistStep, RoutingEntry


def _curator():
    require(permissions.may_curate(current_user))


def _saved(form, save):
    """Validate, call the service, map its Invalid onto the form. Returns the saved object or
    None (the form then carries the errors)."""
    if form.validate_on_submit():
        try:
            return save()
        except Invalid as invalid:
            form.populate_errors(invalid)
    return None


# ---------------------------------------------------------------------------------------------
# Checklists


def _checklist_form(checklist=None, *, bound=False):
    """The checklist form, its catalog select listing the organisation's own items and
    categories (and the checklist's current link, even when archived)."""
    current = catalog_links.value_of(checklist) if checklist is not None else ""
    if bound:
        form = ChecklistForm()
    else:
        form = ChecklistForm(formdata=None, obj=checklist)
        form.catalog.data = current
    form.set_catalog(catalog_links.choices(current_user.organisation_id, current=current,
                                           general_label=_("None: a general checklist")))
    return form


def _checklists_page(form, status=200):
    org = current_user.organisation_id
    rows = list(Checklist.for_org(org))
    counts = {}
    if rows:
        counts = dict(ChecklistStep.select(ChecklistStep.checklist, fn.COUNT(ChecklistStep.id))
                      .where(ChecklistStep.checklist.in_([c.id for c in rows]))
                      .group_by(ChecklistStep.checklist).tuples())
    return render_page_or_partial("handoff/admin_checklists.html", "handoff/_checklist_form.html",
                                  status=status, checklists=rows, counts=counts, form=form,
                                  links=catalog_links.row_labels(org, rows))


@bp.get("/admin/checklists")
@login_required
def admin_checklists():
    _curator()
    return _checklists_page(_checklist_form())


def _checklist_values(form):
    return dict(name=form.name.data, applies_to=form.applies_to.data,
                description=form.description.data, catalog=form.catalog.data or "")


@bp.post("/admin/checklists")
@login_required
def create_checklist():
    _curator()
    form = _checklist_form(bound=True)
    checklist = _saved(form, lambda: checklists.create_checklist(
        current_user.organisation_id, current_user, now=utcnow(), **_checklist_values(form)))
    if checklist is None:
        return _checklists_page(form, status=422)
    flash(_("The checklist is created. Now add its steps."), "success")
    return see_other("handoff.admin_checklist", checklist_id=checklist.id)


def _checklist_page(checklist, *, form=None, step_form=None, status=200):
    form = form or _checklist_form(checklist)
    step_form = step_form or ChecklistStepForm(formdata=None, prefix="step")
    return render_template("handoff/admin_checklist.html", checklist=checklist, form=form,
                           step_form=step_form, steps=list(ChecklistStep.of(checklist)),
                           action_form=ActionForm(formdata=None)), status


@bp.route("/admin/checklists/<int:checklist_id>", methods=["GET", "POST"])
@login_required
def admin_checklist(checklist_id):
    _curator()
    checklist = checklist_or_404(checklist_id)
    if request.method == "GET":
        return _checklist_page(checklist)
    form = _checklist_form(checklist, bound=True)
    saved = _saved(form, lambda: checklists.update_checklist(
        checklist, current_user, now=utcnow(), **_checklist_values(form)))
    if saved is None:
        return _checklist_page(checklist, form=form, status=422)
    flash(_("The checklist is saved."), "success")
    return see_other("handoff.admin_checklist", checklist_id=checklist.id)


@bp.post("/admin/checklists/<int:checklist_id>/archive")
@login_required
def archive_checklist(checklist_id):
    _curator()
    checklist = checklist_or_404(checklist_id)
    checked_action()
    checklists.archive_checklist(checklist, current_user, now=utcnow())
    flash(_("The checklist is archived. Sessions already run keep their steps."), "success")
    return see_other("handoff.admin_checklists")


def _step_values(form):
    return dict(title=form.title.data, help=form.help.data, value_kind=form.value_kind.data,
                choices_text=form.choices_text.data, photo_required=form.photo_required.data)


@bp.post("/admin/checklists/<int:checklist_id>/steps")
@login_required
def add_checklist_step(checklist_id):
    _curator()
    checklist = checklist_or_404(checklist_id)
    form = ChecklistStepForm(prefix="step")
    step = _saved(form, lambda: checklists.add_step(checklist, current_user, now=utcnow(),
                                                           **_step_values(form)))
    if step is None:
        return _checklist_page(checklist, step_form=form, status=422)
    flash(_("The step is added."), "success")
    return see_other("handoff.admin_checklist", checklist_id=checklist.id)


@bp.route("/admin/checklists/steps/<int:step_id>", methods=["GET", "POST"])
@login_required
def edit_checklist_step(step_id):
    _curator()
    step = checklist_step_or_404(step_id)
    checklist = Checklist.get_by_id(step.checklist_id)
    if request.method == "GET":
        form = ChecklistStepForm(formdata=None, obj=step, prefix="step")
        return render_template("handoff/admin_step.html", step=step, checklist=checklist, form=form)
    form = ChecklistStepForm(prefix="step")
    saved = _saved(form, lambda: checklists.update_step(step, current_user, now=utcnow(),
                                                               **_step_values(form)))
    if saved is None:
        return render_template("handoff/admin_step.html", step=step, checklist=checklist,
                               form=form), 422
    flash(_("The step is saved."), "success")
    return see_other("handoff.admin_checklist", checklist_id=checklist.id)


@bp.post("/admin/checklists/steps/<int:step_id>/move")
@login_required
def move_checklist_step(step_id):
    _curator()
    step = checklist_step_or_404(step_id)
    checked_action()
    if request.form.get("direction") not in ("up", "down"):
        abort(400)
    checklists.move_step(step, current_user, up=request.form["direction"] == "up", now=utcnow())
    return see_other("handoff.admin_checklist", checklist_id=step.checklist_id)


@bp.post("/admin/checklists/steps/<int:step_id>/remove")
@login_required
def remove_checklist_step(step_id):
    _curator()
    step = checklist_step_or_404(step_id)
    checked_action()
    checklists.remove_step(step, current_user, now=utcnow())
    flash(_("The step is removed."), "success")
    return see_other("handoff.admin_checklist", checklist_id=step.checklist_id)


# ---------------------------------------------------------------------------------------------
# The routing directory


def _inboxes():
    return list(Inbox.for_org(current_user.organisation_id))


def _entry_form(entry=None, *, bound=False):
    current = catalog_links.value_of(entry) if entry is not None else ""
    if bound:
        form = RoutingEntryForm()
    else:
        form = RoutingEntryForm(formdata=None, obj=entry)
        form.inbox.data = str(entry.inbox_id) if entry is not None and entry.inbox_id else ""
        form.catalog.data = current
    form.set_inboxes(_inboxes())
    form.set_catalog(catalog_links.choices(current_user.organisation_id, current=current,
                                           general_label=_("None")))
    return form


def _entry_inbox(form):
    if not form.inbox.data:
        return None
    inbox = Inbox.get_or_none((Inbox.id == form.inbox.data)
                              & (Inbox.organisation == current_user.organisation_id))
    if inbox is None:
        raise Invalid([("inbox", _("Choose one of your organisation's inboxes."))])
    return inbox


def _entry_values(form):
    return {name: getattr(form, name).data for name in routing.ENTRY_FIELDS}


@bp.get("/admin/directory")
@login_required
def admin_directory():
    _curator()
    org = current_user.organisation_id
    entries = list(RoutingEntry.for_org(org))
    return render_template("handoff/admin_directory.html", entries=entries,
                           stats=routing.entry_stats(org),
                           links=catalog_links.row_labels(org, entries),
                           action_form=ActionForm(formdata=None))


@bp.route("/admin/directory/new", methods=["GET", "POST"])
@login_required
def new_entry():
    _curator()
    if request.method == "GET":
        return render_template("handoff/admin_entry.html", form=_entry_form(), entry=None)
    form = _entry_form(bound=True)
    entry = _saved(form, lambda: routing.create_entry(
        current_user.organisation_id, current_user, values=_entry_values(form),
        inbox=_entry_inbox(form), catalog=form.catalog.data or "", now=utcnow()))
    if entry is None:
        return render_page_or_partial("handoff/admin_entry.html", "handoff/_entry_form.html",
                                      status=422, form=form, entry=None)
    flash(_("The entry is added to the routing directory."), "success")
    return see_other("handoff.admin_directory")


@bp.route("/admin/directory/<int:entry_id>", methods=["GET", "POST"])
@login_required
def edit_entry(entry_id):
    _curator()
    entry = entry_or_404(entry_id)
    if request.method == "GET":
        return render_template("handoff/admin_entry.html", form=_entry_form(entry), entry=entry)
    form = _entry_form(bound=True)
    saved = _saved(form, lambda: routing.update_entry(
        entry, current_user, values=_entry_values(form), inbox=_entry_inbox(form),
        catalog=form.catalog.data or "", now=utcnow()))
    if saved is None:
        return render_page_or_partial("handoff/admin_entry.html", "handoff/_entry_form.html",
                                      status=422, form=form, entry=entry)
    flash(_("The entry is saved."), "success")
    return see_other("handoff.admin_directory")


@bp.post("/admin/directory/<int:entry_id>/archive")
@login_required
def archive_entry(entry_id):
    _curator()
    entry = entry_or_404(entry_id)
    checked_action()
    routing.archive_entry(entry, current_user, now=utcnow())
    flash(_("The entry is archived."), "success")
    return see_other("handoff.admin_directory")
