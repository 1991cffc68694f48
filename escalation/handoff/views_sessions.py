"""The work session page of a case: start a session, save steps one by one (htmx on change),
notes, photos (camera straight from the file input), finish; photos are served as downloads."""
from dataclasses import dataclass, field

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..clock import utcnow
from ..errors import Invalid
from ..web import case_or_404, fragment, render_page_or_partial, require, see_other, wants_partial
from . import bp, checklists, permissions, worksession
from .forms import ActionForm, NotesForm, PhotoForm, StartSessionForm, StepForm
from .loaders import checked_action, photo_or_404, session_or_404, step_or_404
from .catalog_links import case_catalog
from .models import HandoffCode, SessionPhoto, SessionStep, WorkSession

SESSION_CHANGED = "work-session-changed"


# ---------------------------------------------------------------------------------------------
# What the page shows


@dataclass
class SessionView:
    """One session with its steps and photos, for the templates."""

    session: WorkSession
    steps: list
    photos: list
    step_photos: dict = field(default_factory=dict)
    forms: dict = field(default_factory=dict)

    @property
    def done(self):
        return sum(1 for step in self.steps if step.done)

    @property
    def total(self):
        return len(self.steps)

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def loose_photos(self):
        return [p for p in self.photos if p.step_id is None]


def session_views(case) -> list[SessionView]:
    """Every session of the case, oldest first, with steps and photos (three queries)."""
    sessions = list(WorkSession.of_case(case))
    ids = [s.id for s in sessions]
    steps = list(SessionStep.select().where(SessionStep.session.in_(ids))
                 .order_by(SessionStep.position, SessionStep.id)) if ids else []
    photos = list(SessionPhoto.listing(None).where(SessionPhoto.session.in_(ids))) if ids else []
    views = []
    for session in sessions:
        view = SessionView(session, [s for s in steps if s.session_id == session.id],
                           [p for p in photos if p.session_id == session.id])
        for photo in view.photos:
            if photo.step_id is not None:
                view.step_photos.setdefault(photo.step_id, []).append(photo)
        views.append(view)
    return views


def step_form(step, formdata=None):
    form = StepForm(formdata=formdata, prefix=f"s{step.id}")
    if formdata is None:
        form.done.data = step.done
        form.value.data = step.value or ""
    return form


def photo_form(step=None, *, bound=False):
    """The photo form of a step (or of the session); ``bound`` to this request's upload."""
    prefix = f"p{step.id}" if step is not None else "photo"
    return PhotoForm(prefix=prefix) if bound else PhotoForm(formdata=None, prefix=prefix)


def _with_forms(view, *, bound=None):
    for step in view.steps:
        view.forms[step.id] = step_form(step)
    if bound is not None:
        view.forms[bound[0]] = bound[1]
    return view


def page_context(case, now, *, bound_step=None, notes_form=None, start_form=None,
                 photo_forms=None):
    views = session_views(case)
    current = next((v for v in views if v.session.is_open), None)
    work = permissions.may_work_case(current_user, case)
    if current is not None:
        _with_forms(current, bound=bound_step)
    catalog_item = None
    if start_form is None and current is None and work:
        start_form = StartSessionForm(formdata=None)
        preselect = True
    else:
        preselect = False
    if start_form is not None:
        catalog = case_catalog(case)
        start_form.set_checklists(checklists.checklists_for_case(case, catalog=catalog),
                                  preselect=preselect)
        catalog_item = catalog[0]
    live_code = (HandoffCode.select().where((HandoffCode.case == case.id)
                                            & HandoffCode.live_expr(now)
                                            & (HandoffCode.issued_by == current_user.id)).first())
    return dict(case=case, now=now, views=views, current=current, work=work,
                start_form=start_form, catalog_item=catalog_item,
                notes_form=notes_form or (NotesForm(formdata=None, notes=current.session.notes)
                                          if current else None),
                photo_forms=photo_forms or {}, action_form=ActionForm(formdata=None),
                may_issue=permissions.may_issue_code(current_user, case, now),
                live_code=live_code, photo_form=photo_form, step_form=step_form)


def _viewable(case):
    require(permissions.may_view_case(current_user, case))


def _workable_session(session_id):
    session = session_or_404(session_id)
    _viewable(session.case)
    require(permissions.may_work_case(current_user, session.case))
    return session


def _session_page(case, now, *, status=200, **bound):
    return render_template("handoff/session.html", **page_context(case, now, **bound)), status


def _changed(session):
    """The HX-Trigger event of a saved step, note or photo (the progress region listens)."""
    return {SESSION_CHANGED: {"session": session.id}}


def _back_to_session(case, anchor=None):
    return redirect(url_for("handoff.session", case_id=case.id) + (f"#{anchor}" if anchor else ""), 303)


# ---------------------------------------------------------------------------------------------
# Routes


@bp.get("/cases/<int:case_id>/session")
@login_required
def session(case_id):
    case = case_or_404(case_id)
    _viewable(case)
    return _session_page(case, utcnow())


@bp.post("/cases/<int:case_id>/session")
@login_required
def start_session(case_id):
    case = case_or_404(case_id)
    _viewable(case)
    require(permissions.may_work_case(current_user, case))
    form = StartSessionForm()
    now = utcnow()
    # The page re-renders this form (its choices set there) when it is refused.
    form.set_checklists(checklists.checklists_for_case(case))
    if not form.validate_on_submit():
        return _session_page(case, now, status=422, start_form=form)
    try:
        checklist = checklists.startable_checklist(case, form.checklist.data)
    except Invalid as invalid:
        form.populate_errors(invalid)
        return _session_page(case, now, status=422, start_form=form)
    worksession.start_session(case, current_user, checklist=checklist, now=now)
    flash(_("The work session has started. Each step is saved as you go."), "success")
    return _back_to_session(case)


@bp.post("/sessions/<int:session_id>/steps/<int:step_id>")
@login_required
def save_step(session_id, step_id):
    session = _workable_session(session_id)
    step = step_or_404(session, step_id)
    form = step_form(step, formdata=request.form)
    now = utcnow()
    if form.validate_on_submit():
        try:
            step = worksession.save_step(step, current_user, done=form.done.data,
                                         value=form.value.data, now=now)
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            if wants_partial():
                return fragment("handoff/_step_status.html", trigger=_changed(session), step=step,
                                form=form, saved=True, partial=True, now=now)
            flash(_("Step %(position)d is saved.", position=step.position), "success")
            return _back_to_session(session.case, f"step-{step.id}")
    if wants_partial():
        return fragment("handoff/_step_status.html", status=422, step=step, form=form, saved=False,
                        partial=True, now=now)
    return _session_page(session.case, now, status=422, bound_step=(step.id, form))


@bp.post("/sessions/<int:session_id>/notes")
@login_required
def save_notes(session_id):
    session = _workable_session(session_id)
    form = NotesForm()
    now = utcnow()
    if form.validate_on_submit():
        session = worksession.save_notes(session, current_user, notes=form.notes.data, now=now)
        if wants_partial():
            return fragment("handoff/_notes_status.html", trigger=_changed(session), form=form,
                            saved=True, now=now)
        flash(_("The notes are saved."), "success")
        return _back_to_session(session.case, "notes")
    if wants_partial():
        return fragment("handoff/_notes_status.html", status=422, form=form, saved=False, now=now)
    return _session_page(session.case, now, status=422, notes_form=form)


def _photo_region(session, step, form, *, status=200, trigger=None):
    views = session_views(session.case)
    view = next(v for v in views if v.session.id == session.id)
    photos = view.step_photos.get(step.id, []) if step is not None else view.loose_photos
    return fragment("handoff/_photos.html", status=status, trigger=trigger, session=session,
                    step=step, photos=photos, form=form, work=True)


@bp.post("/sessions/<int:session_id>/photos")
@login_required
def add_photo(session_id):
    """A photo of the session, or of one step (``step`` in the query string)."""
    session = _workable_session(session_id)
    step_id = request.args.get("step", type=int)
    step = step_or_404(session, step_id) if step_id else None
    form = photo_form(step, bound=True)
    now = utcnow()
    if form.validate_on_submit():
        try:
            _save_photo(session, step, worksession.Upload.from_storage(form.photo.data), now)
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            if wants_partial():
                return _photo_region(session, step, photo_form(step), trigger=_changed(session))
            flash(_("The photo is saved."), "success")
            return _back_to_session(session.case, f"step-{step.id}" if step else "photos")
    if wants_partial():
        return _photo_region(session, step, form, status=422)
    return _session_page(session.case, now, status=422,
                         photo_forms={step.id if step else None: form})


def _save_photo(session, step, upload, now):
    if step is None:
        return worksession.add_photo(session, current_user, upload=upload, now=now)
    if upload is None:
        raise Invalid([("photo", _("Choose or take a photo."))])
    return worksession.save_step(step, current_user, done=step.done, value=step.value,
                                 photo=upload, now=now)


@bp.post("/photos/<int:photo_id>/remove")
@login_required
def remove_photo(photo_id):
    photo = photo_or_404(photo_id)
    session = _workable_session(photo.session_id)
    checked_action()
    worksession.remove_photo(photo, current_user, now=utcnow())
    step = SessionStep.get_by_id(photo.step_id) if photo.step_id else None
    if wants_partial():
        return _photo_region(session, step, photo_form(step), trigger=_changed(session))
    flash(_("The photo is removed."), "success")
    return _back_to_session(session.case, f"step-{step.id}" if step else "photos")


@bp.get("/photos/<int:photo_id>")
@login_required
def photo(photo_id):
    """The photo's bytes, to members who may see the case: always as a download of the type
    found in its content, never sniffed or rendered as a page."""
    found = photo_or_404(photo_id)
    session = session_or_404(found.session_id)
    _viewable(session.case)
    response = Response(worksession.photo_bytes(found), mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/sessions/<int:session_id>/progress")
@login_required
def progress(session_id):
    session = session_or_404(session_id)
    _viewable(session.case)
    view = next(v for v in session_views(session.case) if v.session.id == session.id)
    return render_page_or_partial("handoff/progress.html", "handoff/_progress.html", view=view,
                                  case=session.case)


@bp.post("/sessions/<int:session_id>/finish")
@login_required
def finish_session(session_id):
    session = _workable_session(session_id)
    checked_action()
    worksession.finish_session(session, current_user, now=utcnow())
    flash(_("The work session is finished."), "success")
    return see_other("handoff.session", case_id=session.case_id)


@bp.app_template_filter("step_value")
def step_value(step):
    """A step's recorded value as shown (yes/no translated)."""
    return worksession.display_value(step)
