"""Cases: the agent's landing (reply queue, "request more", the next-conversation flow), the case
page with its timeline and actions, the new-case form, and contacts."""
from dataclasses import dataclass

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from htmx_flask import make_response
from markupsafe import Markup

from .. import nav
from ..clock import utcnow
from ..errors import Invalid
from ..forms import choices
from ..models import CASE_STATUS_LABELS, PRIORITY_LABELS, Member
from ..permissions import can_reassign, can_view_case, can_work_case, is_staff_lead
from ..web import (contact_or_404, fragment, in_agent_view, render_page_or_partial,
                   require, wants_partial)
from . import action_forms_cache, service, timeline_cache
from .forms import (ContactForm, InboundForm, NewCaseForm, NoteForm, PriorityForm, ReassignForm,
                    ReplyForm, RequestMoreForm, StatusForm, TakeForm)

bp = Blueprint("cases", __name__)

nav.register_nav("cases.landing", _l("My queue"), order=10)
nav.register_nav("cases.new", _l("New case"), order=20)
nav.register_nav("cases.contacts", _l("Contacts"), order=70)

CASE_CHANGED = "case-changed"
# The regions of the case page that reload themselves on ``case-changed``.
REGIONS = {"header": "cases/_header.html", "timeline": "cases/_timeline.html",
           "controls": "cases/_controls.html"}


@bp.app_context_processor
def _labels():
    """Status and priority names for timeline cards (translated when shown)."""
    return {"case_status_labels": CASE_STATUS_LABELS, "priority_labels": PRIORITY_LABELS}


@bp.app_template_global()
def render_panel(panel, **context):
    """A registered panel (``nav.register_panel``): its template sees the page's ``case`` and
    ``now``, ``panel`` itself, and the variables its context function returned."""
    return Markup(render_template(panel.template, panel=panel, **{**context, **panel.vars}))


@bp.app_template_global()
def event_template(action):
    """The template of a timeline event's sentence: ``timeline/events/<action>.html`` when an
    area provides one, else ``_default.html``; looked up once per action and request."""
    found = g.setdefault("_event_templates", {})
    if action not in found:
        found[action] = current_app.jinja_env.select_template(
            [f"timeline/events/{action}.html", "timeline/events/_default.html"])
    return found[action]


# ---------------------------------------------------------------------------------------------
# Shared steps

def _redirect(url):
    """After a successful POST: 303 for plain and boosted requests; HX-Redirect for htmx ones
    that must land on another page."""
    if wants_partial():
        return make_response("", 200, redirect=url)
    return redirect(url, 303)


def _from_queue(bound=None):
    """Whether the member works through their queue: explicit in the URL (``?from=queue``) or
    in the form (hidden ``next=queue``), never kept in the session."""
    if bound is not None:
        return bound.from_queue
    return request.args.get("from") == "queue"


def _case_url(case_id, *, from_queue=False):
    return url_for("cases.show", case_id=case_id, **({"from": "queue"} if from_queue else {}))


@dataclass
class Access:
    """What the signed-in member may do with one case."""

    view: bool
    work: bool
    reassign: bool
    take: bool


def _access(case, now) -> Access:
    member = current_user
    owner = history = False
    if case.inbox_id is not None and not is_staff_lead(member):
        owner = service.is_inbox_owner(member, case)
        history = not owner and service.has_escalation_history(member, case)
    view = can_view_case(member, case, is_inbox_owner=owner, has_history=history)
    work = view and can_work_case(member, case, is_inbox_owner=owner, now=now)
    # Escalated cases change hands through their inbox (move, de-escalate), not here.
    return Access(view=view, work=work,
                  reassign=view and can_reassign(member) and case.inbox_id is None,
                  take=work and case.assignee_id is None and case.inbox_id is None
                  and case.status in service.OPEN_STATUSES)


def _case_or_404(case_id):
    case = service.case_with_people(current_user.organisation_id, case_id,
                                    viewer=current_user._get_current_object())
    if case is None:
        abort(404)
    return case


def _viewable_case(case_id, now):
    case = _case_or_404(case_id)
    access = _access(case, now)
    require(access.view)
    return case, access


def _assignee_choices(case):
    pool = _("Nobody: back to the pool of %(queue)s", queue=case.queue.name)
    people = [(str(m.id), f"{m.name} ({m.role_label()})")
              for m in Member.active_in(current_user.organisation_id)]
    return choices([("", pool)] + people)


class _Forms(dict):
    """The case page's forms by name, each built when first read: a page whose forms are kept
    rendered (``action_forms_cache``) builds none of them."""

    def __init__(self):
        super().__init__()
        self._makers = {}

    def lazy(self, name, make):
        self._makers[name] = make
        dict.__setitem__(self, name, None)

    def __setitem__(self, name, form):
        self._makers.pop(name, None)
        dict.__setitem__(self, name, form)

    def __getitem__(self, name):
        form = dict.__getitem__(self, name)
        if form is None and name in self._makers:
            form = self._makers.pop(name)()
            dict.__setitem__(self, name, form)
        return form

    def get(self, name, default=None):
        return self[name] if name in self else default


def _reassign_form(case, nxt):
    form = ReassignForm(formdata=None, prefix="reassign", next=nxt,
                        assignee=str(case.assignee_id or ""))
    form.assignee.choices = _assignee_choices(case)
    return form


def _forms(case, access, *, from_queue, bound=None):
    """Every action form of the case page, unbound (with the case's current values), with
    ``bound`` (a form bound to this request) in its place; each built when first used."""
    nxt = "queue" if from_queue else ""
    forms = _Forms()
    if access.work:
        forms.lazy("reply", lambda: ReplyForm(formdata=None, prefix="reply", next=nxt))
        forms.lazy("note", lambda: NoteForm(formdata=None, prefix="note", next=nxt))
        forms.lazy("inbound", lambda: InboundForm(formdata=None, prefix="inbound", next=nxt))
        forms.lazy("status", lambda: StatusForm(formdata=None, prefix="status", next=nxt,
                                                status=case.status))
        forms.lazy("priority", lambda: PriorityForm(formdata=None, prefix="priority", next=nxt,
                                                    priority=case.priority))
    if access.take:
        forms.lazy("take", lambda: TakeForm(formdata=None, prefix="take", next=nxt))
    if access.reassign:
        forms.lazy("reassign", lambda: _reassign_form(case, nxt))
    if bound is not None:
        forms[bound._prefix.rstrip("-")] = bound
    return forms


def _render_case(case, access, now, partial, *, status=200, trigger=None, bound=None,
                 from_queue=None, form_name=None, **extra):
    """The whole case page for plain requests, ``partial`` for htmx ones; each computes only
    what it shows (a form's partial sees its form, bound or fresh, as ``form``)."""
    from_queue = _from_queue(bound) if from_queue is None else from_queue
    page = not wants_partial()
    context = dict(case=case, access=access, now=now, from_queue=from_queue, forms={})
    if page or partial not in (REGIONS["header"], REGIONS["timeline"]):
        context["forms"] = _forms(case, access, from_queue=from_queue, bound=bound)
    if page or partial == REGIONS["timeline"]:
        context["timeline_html"] = timeline_cache.timeline_html(case)
    if page:
        context["panels"] = nav.panels_for("case", current_user, case, now=now)
    if bound is None and "notice" not in extra:  # unbound forms: kept rendered
        if page and "reply" in context["forms"]:
            context["actions_html"] = action_forms_cache.actions_html(case, context["forms"],
                                                                      from_queue)
        if page or partial == REGIONS["controls"]:
            context["controls_html"] = action_forms_cache.controls_html(case, context["forms"],
                                                                        from_queue)
    if form_name:
        context["form"] = context["forms"].get(form_name)
    return render_page_or_partial("cases/show.html", partial, status=status, trigger=trigger,
                                  **context, **extra)


# ---------------------------------------------------------------------------------------------
# The landing: the member's reply queue

_MARK = 987654321


def _queue_links():
    """``case_id -> url_for("cases.show", case_id=case_id, from="queue")`` for a list of cases:
    the URL is built once (Werkzeug's builder costs ~15 µs per row), then only the id changes."""
    url = url_for("cases.show", case_id=_MARK, **{"from": "queue"})
    if url.count(str(_MARK)) != 1:  # pragma: no cover (an id-like application root)
        return lambda case_id: url_for("cases.show", case_id=case_id, **{"from": "queue"})
    head, tail = url.split(str(_MARK))
    return lambda case_id: f"{head}{int(case_id)}{tail}"


def _landing_context(now, **extra):
    member = current_user
    rows, total = service.reply_queue(member, limit=current_app.config["PAGE_SIZE"])
    return dict(rows=rows, total=total, now=now, case_link=_queue_links(),
                queues=service.member_queues(member),
                badges=nav.annotations_for("landing", [c.id for c in rows], member, now),
                request_form=RequestMoreForm(formdata=None),
                batch_size=current_app.config["REPLY_BATCH_SIZE"], **extra)


@bp.get("/")
@login_required
def landing():
    now = utcnow()
    context = _landing_context(now)
    if not wants_partial():
        context["panels"] = nav.panels_for("landing", current_user, None, now=now)
        context["threads_link"] = (is_staff_lead(current_user) and not in_agent_view()
                                   and nav.has_endpoint("threads.index"))
    return render_page_or_partial("cases/landing.html", "cases/_reply_queue.html", **context)


@bp.post("/cases/request-more")
@login_required
def request_more():
    now = utcnow()
    form = RequestMoreForm()
    if not form.validate_on_submit():
        abort(400)
    taken = service.request_more(current_user, now=now,
                                 batch_size=current_app.config["REPLY_BATCH_SIZE"])
    if taken:
        message = ngettext("You got %(num)d more case.", "You got %(num)d more cases.",
                           len(taken))
    elif not service.queues_of(current_user).exists():
        message = _("You are not in any queue yet. Ask an admin to add you to one.")
    else:
        message = _("There are no unassigned cases in your queues right now.")
    if wants_partial():
        return fragment("cases/_reply_queue.html", trigger="reply-queue-changed",
                        **_landing_context(now, notice=message))
    flash(message, "success" if taken else "info")
    return _redirect(url_for("cases.landing"))


@bp.get("/cases/next")
@login_required
def next_case():
    """The next case in the member's reply queue after ``after`` (a "skip" link)."""
    after = request.args.get("after", type=int)
    found = service.next_case_for(current_user, after_case=after)
    if found is None:
        flash(_("There are no more cases in your queue."), "info")
        return redirect(url_for("cases.landing"), 303)
    return redirect(_case_url(found.id, from_queue=True), 303)


# ---------------------------------------------------------------------------------------------
# The case page and its regions

@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id):
    now = utcnow()
    case, access = _viewable_case(case_id, now)
    return _render_case(case, access, now, "cases/show.html")


@bp.get("/cases/<int:case_id>/<any(header, timeline, controls):region>")
@login_required
def region(case_id, region):
    """One region of the case page (for htmx, which reloads it on ``case-changed``); the whole
    page for a plain request."""
    now = utcnow()
    case, access = _viewable_case(case_id, now)
    return _render_case(case, access, now, REGIONS[region])


def _act(case_id, form_class, prefix, partial, *, allowed, perform, done):
    """The shape of every case action: load (404), check (403), validate, call one service,
    then ``done`` on success, or the form as typed with 422."""
    now = utcnow()
    case, access = _viewable_case(case_id, now)
    require(allowed(access))
    form = form_class(prefix=prefix)
    if prefix == "reassign":
        form.assignee.choices = _assignee_choices(case)
    if form.validate_on_submit():
        try:
            result = perform(case, form, now)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            return done(case, access, form, result, now)
    return _render_case(case, access, now, partial, status=422, bound=form, form_name=prefix)


def _changed(message, partial):
    """Success on the case page: the fresh region for htmx (the other regions reload on the
    ``case-changed`` event), else a flash and 303 back to the case."""
    def done(case, access, form, result, now):
        if wants_partial():
            access = _access(case, now)
            return _render_case(case, access, now, partial, trigger=CASE_CHANGED,
                                from_queue=form.from_queue, form_name=form._prefix.rstrip("-"),
                                notice=message())
        flash(message(), "success")
        return _redirect(_case_url(case.id, from_queue=form.from_queue))
    return done


def _replied(case, access, form, result, now):
    """The next-conversation flow: a member who came from their queue goes on to the next case
    in it (or back to the landing when none is left)."""
    if not form.from_queue:
        return _changed(lambda: _("Your reply is sent."), "cases/_reply_form.html")(
            case, access, form, result, now)
    following = service.next_case_for(current_user, after_case=case)
    if following is None:
        flash(_("Your reply is sent. Your queue is empty: request more cases when you are "
                "ready."), "success")
        return _redirect(url_for("cases.landing"))
    flash(_("Your reply is sent. Here is the next case in your queue."), "success")
    return _redirect(_case_url(following.id, from_queue=True))


def _perform_reply(case, form, now):
    """"Send and resolve" goes through the confirmed resolution (the note is required, and the
    requester is asked to confirm); any other reply is a plain reply."""
    if form.resolves:
        from ..sla.resolution import reply_and_resolve
        return reply_and_resolve(case, current_user, body=form.body.data, note=form.note.data,
                                 now=now)
    return service.reply(case, current_user, body=form.body.data,
                         then_status=form.then.data or "", now=now)


def _perform_status(case, form, now):
    """Resolving from the status control goes through the confirmed resolution, with its note."""
    if form.resolves and case.status in service.OPEN_STATUSES:
        from ..sla.resolution import resolve_with_note
        return resolve_with_note(case, current_user, note=form.note.data, now=now)
    return service.change_status(case, current_user, status=form.status.data, now=now,
                                 note=form.note.data)


@bp.post("/cases/<int:case_id>/reply")
@login_required
def reply(case_id):
    return _act(case_id, ReplyForm, "reply", "cases/_reply_form.html",
                allowed=lambda a: a.work,
                perform=_perform_reply, done=_replied)


@bp.post("/cases/<int:case_id>/note")
@login_required
def note(case_id):
    return _act(case_id, NoteForm, "note", "cases/_note_form.html",
                allowed=lambda a: a.work,
                perform=lambda case, form, now: service.add_note(
                    case, current_user, body=form.body.data, now=now),
                done=_changed(lambda: _("Your note is saved."), "cases/_note_form.html"))


@bp.post("/cases/<int:case_id>/inbound")
@login_required
def inbound(case_id):
    return _act(case_id, InboundForm, "inbound", "cases/_inbound_form.html",
                allowed=lambda a: a.work,
                perform=lambda case, form, now: service.record_inbound(
                    case, body=form.body.data, actor=current_user, channel=form.channel.data,
                    now=now),
                done=_changed(lambda: _("The contact's message is on the timeline."),
                              "cases/_inbound_form.html"))


@bp.post("/cases/<int:case_id>/status")
@login_required
def status(case_id):
    return _act(case_id, StatusForm, "status", "cases/_controls.html",
                allowed=lambda a: a.work,
                perform=_perform_status, done=_status_changed)


def _status_changed(case, access, form, result, now):
    if result is not None:  # a resolution, waiting for the requester's answer
        message = (lambda: _("The case is resolved. The requester is asked to confirm."))
    else:
        message = (lambda: _("The status is changed."))
    return _changed(message, "cases/_controls.html")(case, access, form, result, now)


@bp.post("/cases/<int:case_id>/priority")
@login_required
def priority(case_id):
    return _act(case_id, PriorityForm, "priority", "cases/_controls.html",
                allowed=lambda a: a.work,
                perform=lambda case, form, now: service.change_priority(
                    case, current_user, priority=form.priority.data, now=now),
                done=_changed(lambda: _("The priority is changed."), "cases/_controls.html"))


@bp.post("/cases/<int:case_id>/reassign")
@login_required
def reassign(case_id):
    return _act(case_id, ReassignForm, "reassign", "cases/_controls.html",
                allowed=lambda a: a.reassign,
                perform=lambda case, form, now: service.reassign(
                    case, current_user, now=now,
                    assignee=int(form.assignee.data) if form.assignee.data else None),
                done=_changed(lambda: _("The case has a new holder."), "cases/_controls.html"))


@bp.post("/cases/<int:case_id>/take")
@login_required
def take(case_id):
    return _act(case_id, TakeForm, "take", "cases/_controls.html",
                allowed=lambda a: a.take,
                perform=lambda case, form, now: service.take(case, current_user, now=now),
                done=_changed(lambda: _("The case is yours now."), "cases/_controls.html"))


# ---------------------------------------------------------------------------------------------
# New case

def _picker_options(form, role, *, searched=False):
    """The contacts to offer as choices for ``role``: the picked one, then search matches."""
    org = current_user.organisation_id
    picked_id = form.picked(role)
    offered = []
    if picked_id:
        picked = service.find_contact(org, picked_id)
        if picked:
            offered.append(picked)
    text = (getattr(form, f"{role}_q").data or "").strip()
    if text or searched:
        offered += [c for c in service.search_contacts(org, text) if c.id != picked_id]
    return offered


def _queue_choices(form):
    form.queue.choices = choices([(q.id, f"{q.name} · {q.tier_label()}")
                                  for q in service.queues_for_new_case(current_user)])


def _new_case_context(form, *, searched=None):
    if form.queue.choices is None:
        _queue_choices(form)
    if not form.queue.choices:
        form.queue.errors = list(form.queue.errors or []) + [
            _("You are not in any queue yet. Ask an admin to add you to one.")]
    return dict(form=form, options={role: _picker_options(form, role, searched=role == searched)
                                    for role in NewCaseForm.PEOPLE})


def _details(form, role):
    return service.ContactDetails(
        name=getattr(form, f"{role}_name").data, email=getattr(form, f"{role}_email").data,
        phone=getattr(form, f"{role}_phone").data, locale=getattr(form, f"{role}_locale").data)


def _person(form, role):
    """The picked contact (org-scoped), ``ContactDetails`` for a new one, or None."""
    picked_id = form.picked(role)
    if picked_id:
        found = service.find_contact(current_user.organisation_id, picked_id)
        if found is None:
            raise Invalid([(role, _l("That contact is not available."))])
        return found
    if (getattr(form, f"{role}_name").data or "").strip():
        return _details(form, role)
    return None


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    form = NewCaseForm()
    if request.method == "GET":
        form.requester.data = request.args.get("requester", "new")
        form.requested_for.data = ""
        form.queue.data = None
        return render_page_or_partial("cases/new.html", "cases/_new_form.html",
                                      **_new_case_context(form))
    _queue_choices(form)
    searched = request.form.get("search")
    if searched in NewCaseForm.PEOPLE:  # the no-JS "Search" button: show matches, keep the rest
        return render_page_or_partial("cases/new.html", "cases/_new_form.html",
                                      **_new_case_context(form, searched=searched))
    if form.validate_on_submit():
        try:
            case = service.create_case(
                current_user, queue=form.queue.data, subject=form.subject.data,
                description=form.description.data, priority=form.priority.data,
                requester=_person(form, "requester"), requested_for=_person(form, "requested_for"),
                assign_to_me=form.assign_to_me.data, channel=form.channel.data, now=utcnow())
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            flash(_("Case #%(number)d is created.", number=case.id), "success")
            return _redirect(_case_url(case.id))
    return render_page_or_partial("cases/new.html", "cases/_new_form.html", status=422,
                                  **_new_case_context(form))


# ---------------------------------------------------------------------------------------------
# Contacts (people outside the organisation). Every member of the organisation may look them
# up, add them and correct them: agents do it while taking a call.

def _contact_list_context():
    text = request.args.get("q", "").strip()
    after = request.args.get("after", type=int)
    after_contact = None
    if after:
        after_contact = service.find_contact(current_user.organisation_id, after)
    size = current_app.config["PAGE_SIZE"]
    rows = list(service.search_contacts(current_user.organisation_id, text, limit=size + 1,
                                        after=after_contact))
    more = len(rows) > size
    rows = rows[:size]
    return dict(rows=rows, q=text, next_after=rows[-1].id if more else None)


@bp.get("/contacts")
@login_required
def contacts():
    return render_page_or_partial("cases/contacts.html", "cases/_contacts_list.html",
                                  **_contact_list_context())


@bp.get("/contacts/search")
@login_required
def contact_search():
    """Contacts matching ``q``: as choices for the new-case form's ``field`` (htmx), or as a
    plain page of matches."""
    role = request.args.get("field", "requester")
    if role not in NewCaseForm.PEOPLE:
        role = "requester"
    text = (request.args.get("q") or request.args.get(f"{role}_q") or "").strip()
    found = list(service.search_contacts(current_user.organisation_id, text))
    return render_page_or_partial("cases/contact_search.html", "cases/_contact_options.html",
                                  role=role, offered=found, picked=None, q=text, rows=found,
                                  next_after=None)


def _contact_details(form):
    return service.ContactDetails(name=form.name.data, email=form.email.data,
                                  phone=form.phone.data, locale=form.locale.data)


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
def new_contact():
    form = ContactForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            contact = service.create_contact(current_user, details=_contact_details(form),
                                             now=utcnow())
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            flash(_("%(name)s is added to the contacts.", name=contact.name), "success")
            return _redirect(url_for("cases.contact", contact_id=contact.id))
    status = 422 if request.method == "POST" else 200
    return render_page_or_partial("cases/contact_new.html", "cases/_contact_form.html",
                                  status=status, form=form, contact=None)


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@login_required
def contact(contact_id):
    found = contact_or_404(contact_id)
    form = ContactForm(obj=found) if request.method == "GET" else ContactForm()
    if request.method == "GET":
        form.locale.data = found.locale or ""
    elif form.validate_on_submit():
        try:
            service.update_contact(found, current_user, details=_contact_details(form),
                                   now=utcnow())
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            if wants_partial():
                return fragment("cases/_contact_form.html", trigger="contact-changed",
                                form=form, contact=found, notice=_("The contact is saved."))
            flash(_("The contact is saved."), "success")
            return _redirect(url_for("cases.contact", contact_id=found.id))
    status = 422 if request.method == "POST" else 200
    return render_page_or_partial("cases/contact.html", "cases/_contact_form.html", status=status,
                                  form=form, contact=found,
                                  cases=list(service.contact_cases(found)))
