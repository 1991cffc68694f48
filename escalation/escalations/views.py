"""The service catalog, the escalation form, attachments, tiers (next tier / send back) and the
catalog admin. Registers the case and landing panels, the nav link and the threads annotator."""
import io
import re
import secrets

from flask import Blueprint, abort, current_app, flash, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import nav, sqlcache
from ..cases import service as cases_service
from ..cases.service import ContactDetails
from ..clock import utcnow
from ..errors import Invalid
from ..forms import choices
from ..models import PRIORITY_LABELS, TIER_LABELS, Inbox, Message
from ..permissions import can_manage_org
from ..web import (case_or_404, fragment, get_or_404, inbox_or_404, render_page_or_partial,
                   require, see_other, wants_partial)
from . import cli, rules, service
from .attachments import ALLOWED_DESCRIPTION, DEFAULT_MAX_BYTES, DEFAULT_MAX_COUNT, human_size
from .thumbnails import DEFAULT_MAX_PIXELS
from .forms import (FIELD_LABELS, FORM_FIELDS, CategoryForm, EscalationForm, ItemForm,
                    NewContactForm, NewItemForm, NextTierForm, PathStepForm, SendBackForm)
from .models import (BUILTIN_LABELS, PREVIEWABLE_IMAGES, Attachment, CatalogCategory, CatalogItem,
                     EscalationPacket, PathStep)

bp = Blueprint("escalations", __name__, url_prefix="/escalations")
cli.register(bp.cli)

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def changed(case):
    """The HX-Trigger event after an escalation changed: ``escalations-changed`` with the case."""
    return {"escalations-changed": {"case_id": case.id}}


@bp.app_template_global()
def escalation_labels():
    """Labels the packet card and the form need, in the reader's language."""
    return {"fields": FIELD_LABELS, "colleagues": rules.COLLEAGUE_LABELS,
            "priorities": PRIORITY_LABELS, "priority_definitions": rules.PRIORITY_DEFINITIONS,
            "tiers": TIER_LABELS, "builtin": BUILTIN_LABELS, "previewable": PREVIEWABLE_IMAGES}


@bp.app_template_global()
def escalation_packet(packet_id):
    """The packet a timeline event points at (the event is already the reader's organisation's)."""
    return EscalationPacket.get_or_none(EscalationPacket.id == packet_id)


@bp.app_template_global()
def attachment_thumbnails(attachment_ids):
    """What is known of these attachments' thumbnails (``service.ThumbnailState`` by id), for the
    form's file list and the packet card."""
    return service.thumbnail_states(attachment_ids)


@bp.app_template_filter("filesize")
def filesize(size):
    return human_size(int(size or 0))


def _org():
    return current_user.organisation


def _limits():
    config = current_app.config
    return service.UploadLimits(max_bytes=config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES),
                                max_count=config.get("ATTACHMENT_MAX_COUNT", DEFAULT_MAX_COUNT),
                                max_pixels=config.get("THUMBNAIL_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def item_or_404(item_id) -> CatalogItem:
    return get_or_404(CatalogItem.select().where((CatalogItem.id == item_id)
                                                 & (CatalogItem.organisation == _org())))


def category_or_404(category_id) -> CatalogCategory:
    return get_or_404(CatalogCategory.select().where(
        (CatalogCategory.id == category_id) & (CatalogCategory.organisation == _org())))


# ---------------------------------------------------------------------------------------------
# The service catalog

@bp.get("/catalog")
@login_required
def catalog():
    service.ensure_default_catalog(_org(), now=utcnow())
    categories = list(CatalogCategory.for_org(_org()))
    items = {}
    for item in CatalogItem.for_org(_org()):
        items.setdefault(item.category_id, []).append(item)
    return render_template("escalations/catalog.html", categories=categories, items=items,
                           can_manage=can_manage_org(current_user))


@bp.get("/catalog/<int:category_id>")
@login_required
def category(category_id):
    found = category_or_404(category_id)
    if found.archived_at is not None:
        abort(404)
    items = [item for item in CatalogItem.for_org(_org()) if item.category_id == found.id]
    return render_template("escalations/category.html", category=found, items=items)


# ---------------------------------------------------------------------------------------------
# The form

def _form_target():
    """The catalog item and the case (if any) the form is for, from the query string."""
    case = None
    if request.args.get("case", "").isdigit():
        case = case_or_404(int(request.args["case"]))
        require(service.may_work_case(current_user, case))
    if request.args.get("item", "").isdigit():
        item = item_or_404(int(request.args["item"]))
        if item.archived_at is not None:
            abort(404)
    elif case is not None:
        item = service.item_of(case, now=utcnow())
    else:
        item = service.default_item(_org(), now=utcnow())
    return item, case


def _form_url(item, case, endpoint="escalations.form"):
    args = {"item": item.id}
    if case is not None:
        args["case"] = case.id
    return url_for(endpoint, **args)


def _prefill(form, case):
    """From the case: its people, subject, priority and the first message from the contact."""
    for name, contact in (("requester", case.requester), ("requested_for", case.requested_for)):
        person = service.person_of_contact(contact)
        getattr(form, name).data = person.key if person else ""
    form.subject.data = case.subject
    form.priority.data = str(case.priority)
    first = (Message.select().where((Message.case == case) & (Message.kind == "in"))
             .order_by(Message.created_at, Message.id).first())
    form.description.data = first.body if first else ""
    form.troubleshooting.data = _work_session_steps(case) or ""


def _work_session_steps(case):
    """What the case's work sessions recorded (the handoff area's checklist), so the steps and
    values are not typed twice."""
    try:
        from ..handoff.service import troubleshooting_text
    except ImportError:
        return None
    return troubleshooting_text(case)


def _render_form(form, item, case, *, status=200, contact_form=None, warned=False):
    return render_page_or_partial(
        "escalations/form.html", "escalations/_form.html", status=status, form=form, item=item,
        case=case, action=_form_url(item, case), contact_form=contact_form or NewContactForm(
            prefix="contact", formdata=None),
        limits=_limits(), allowed=ALLOWED_DESCRIPTION, labels=escalation_labels(), warned=warned)


@bp.route("/form", methods=["GET", "POST"])
@login_required
def form():
    item, case = _form_target()
    if request.method == "GET":
        fresh = EscalationForm(item=item, org=_org(), formdata=None)
        fresh.form_token.data = secrets.token_urlsafe(18)
        if case is not None:
            _prefill(fresh, case)
        return _render_form(fresh, item, case)
    return _submit(item, case)


def _submit(item, case):
    now = utcnow()
    form = EscalationForm(item=item, org=_org())
    if not TOKEN.fullmatch(form.form_token.data or ""):
        form.form_token.data = secrets.token_urlsafe(18)
    token = form.form_token.data
    uploads = [(f.filename, f.stream.read(_limits().max_bytes + 1))
               for f in request.files.getlist("attachments") if f and f.filename]
    _stored, refusals = service.store_uploads(current_user, token, uploads, limits=_limits(),
                                              now=now)
    if request.form.get("discard", "").isdigit():
        service.discard_pending(current_user, token, int(request.form["discard"]), now=now)
        form.pending = list(Attachment.pending_for(current_user, token))
        return _render_form(form, item, case)
    form.pending = list(Attachment.pending_for(current_user, token))
    if request.form.get("action") == "add_contact":
        return _add_contact(form, item, case, refusals, now=now)
    valid = form.validate()
    form.attachments.errors = list(form.attachments.errors or []) + refusals
    if not valid or refusals:
        return _render_form(form, item, case, status=422)
    if form.needs_short_confirmation():
        # A warning, not a refusal: the form again, as typed (uploads kept), nothing sent, and
        # "Send anyway" to go on.
        return _render_form(form, item, case, status=422, warned=True)
    try:
        packet = service.submit_form(current_user, item, form.values(), case=case, token=token,
                                     short_confirmed=bool(form.confirm_short.data), now=now)
    except Invalid as invalid:
        form.populate_errors(invalid)
        return _render_form(form, item, case, status=422)
    escalated = packet.escalation
    if wants_partial():
        return fragment("escalations/_submitted.html", trigger=changed(packet.case), packet=packet,
                        case=packet.case, inbox=escalated.inbox)
    flash(_("Case #%(number)d was escalated to %(inbox)s.", number=packet.case_id,
            inbox=escalated.inbox.name), "success")
    return _to_case(packet.case)


def _to_case(case):
    if nav.has_endpoint("cases.show") and service.may_see_case(current_user, case):
        return see_other("cases.show", case_id=case.id)
    return see_other("escalations.catalog")


def _add_contact(form, item, case, refusals, *, now):
    """The inline "new contact": add it, put it in the requester or requested-for field, and show
    the form again with everything else as it was."""
    contact_form = NewContactForm(prefix="contact")
    form.attachments.errors = list(refusals)
    try:
        contact = cases_service.create_contact(current_user, now=now, details=ContactDetails(
            name=contact_form.name.data, email=contact_form.email.data,
            phone=contact_form.phone.data, locale=contact_form.locale.data))
    except Invalid as invalid:
        contact_form.populate_errors(invalid)
        return _render_form(form, item, case, status=422, contact_form=contact_form)
    target = "requested_for" if contact_form.use_as.data == "requested_for" else "requester"
    getattr(form, target).data = service.person_of_contact(contact).key
    fresh_contact_form = NewContactForm(prefix="contact", formdata=None)
    fresh_contact_form.added = contact
    return _render_form(form, item, case, status=422 if refusals else 200,
                        contact_form=fresh_contact_form)


@bp.post("/validate/<name>")
@login_required
def validate_field(name):
    """One field checked as it is left: the same validators as the submit, the field's partial."""
    if name not in FORM_FIELDS or name == "attachments":
        abort(404)
    item, _case = _form_target()
    form = EscalationForm(item=item, org=_org())
    valid = form.validate_one(name)
    return render_page_or_partial("escalations/field.html", "escalations/_field.html",
                                  status=200 if valid else 422, form=form, name=name, item=item,
                                  case=_case, action=_form_url(item, _case),
                                  labels=escalation_labels())


@bp.post("/length/<name>")
@login_required
def detail_length(name):
    """A detail field's length hint (description or troubleshooting), counted as the agent
    types (htmx): how many characters, and below the item's minimum the nudge to add detail."""
    if name not in rules.SHORT_DETAIL_FIELDS:
        abort(404)
    item, case = _form_target()
    form = EscalationForm(item=item, org=_org())
    return render_page_or_partial(
        "escalations/detail_length.html", "escalations/_detail_length.html", form=form,
        name=name, item=item, case=case, action=_form_url(item, case),
        hint_url=url_for("escalations.detail_length", name=name, item=item.id,
                         case=case.id if case else None))


@bp.get("/people")
@login_required
def people():
    """Active search for the requester and requested-for fields: the matching people."""
    text = request.args.get("q") or request.args.get("requester") \
        or request.args.get("requested_for") or ""
    found = service.people_matching(_org(), text)
    return render_page_or_partial("escalations/people.html", "escalations/_people_options.html",
                                  people=found, q=text)


# ---------------------------------------------------------------------------------------------
# Attachments

@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id):
    attachment = get_or_404(Attachment.select().where((Attachment.id == attachment_id)
                                                      & (Attachment.organisation == _org())))
    require(service.may_download(current_user, attachment))
    # send_file adds "; charset=utf-8" to text types itself (the checker accepts UTF-8 only).
    response = send_file(io.BytesIO(service.attachment_content(attachment)),
                         mimetype=attachment.content_type,
                         as_attachment=True, download_name=attachment.name, max_age=0,
                         etag=attachment.sha256, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@login_required
def thumbnail(attachment_id):
    """An image attachment's thumbnail (made now for files stored before thumbnails existed), for
    the same members as the file itself; 404 when it has none."""
    attachment = get_or_404(Attachment.select().where((Attachment.id == attachment_id)
                                                      & (Attachment.organisation == _org())))
    require(service.may_download(current_user, attachment))
    found = service.thumbnail_of(attachment, max_pixels=_limits().max_pixels, now=utcnow())
    if found is None:
        abort(404)
    response = send_file(io.BytesIO(bytes(found.data)), mimetype=found.content_type,
                         max_age=3600, etag=f"{attachment.sha256}-thumb", conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Private content: the member's own browser may keep it a while, no shared cache may.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------------------------------------
# Tiers: the case panel, next tier, send back

def tiers_context(member, case, now):
    """What the tiers panel shows: who holds the case, its path, the back-and-forth flag, the
    latest packet, and the actions this member may take."""
    packet = EscalationPacket.latest_for(case)
    item = service.item_of(case, now=now, packet=packet)
    path = service.path_of(item)
    history = service.history_of(case)
    bounces = service.bounce_counts([case.id]).get(case.id, 0)
    movable = service.may_move_between_tiers(member, case)
    in_inbox = case.inbox_id is not None
    return {
        "case": case, "item": item, "path": path, "route": case.route(now), "now": now,
        "bounces": bounces, "bouncing": service.is_bouncing(bounces), "packet": packet,
        "history": history,
        "next_inbox": service.next_inbox(path, case) if in_inbox or path else None,
        "previous_inbox": service.previous_inbox(path, case) if in_inbox else None,
        "can_escalate": case.status in ("open", "waiting") and service.may_work_case(member, case),
        "can_move": movable and case.status in ("open", "waiting"),
        "form_url": _form_url(item, case),
    }


def _case_panel(member, case, now):
    if case is None or not service.may_see_case(member, case):
        return None
    tiers = tiers_context(member, case, now or utcnow())
    movable = tiers["can_move"]  # the panel shows the forms only then
    return {"tiers": tiers,
            "next_form": NextTierForm(formdata=None, prefix="next") if movable else None,
            "back_form": SendBackForm(formdata=None, prefix="back") if movable else None}


def _render_tiers(case, *, status=200, next_form=None, back_form=None, trigger=None):
    return render_page_or_partial(
        "escalations/tiers.html", "escalations/_tiers.html", status=status, trigger=trigger,
        tiers=tiers_context(current_user, case, utcnow()), labels=escalation_labels(),
        next_form=next_form or NextTierForm(formdata=None, prefix="next"),
        back_form=back_form or SendBackForm(formdata=None, prefix="back"))


@bp.get("/cases/<int:case_id>/tiers")
@login_required
def tiers(case_id):
    case = case_or_404(case_id)
    require(service.may_see_case(current_user, case))
    return _render_tiers(case)


@bp.post("/cases/<int:case_id>/next-tier")
@login_required
def next_tier(case_id):
    def perform(case, form):
        escalated = service.escalate_next_tier(case, current_user, tried=form.tried.data,
                                               now=utcnow())
        return _("Case #%(number)d was passed on to %(inbox)s.", number=case.id,
                 inbox=escalated.inbox.name)
    return _between_tiers(case_id, NextTierForm(prefix="next"), "next_form", perform)


@bp.post("/cases/<int:case_id>/send-back")
@login_required
def send_back(case_id):
    def perform(case, form):
        service.send_back(case, current_user, reason=form.reason.data, now=utcnow())
        return _("Case #%(number)d was sent back one tier.", number=case.id)
    return _between_tiers(case_id, SendBackForm(prefix="back"), "back_form", perform)


def _between_tiers(case_id, form, form_name, perform):
    """Next tier and send back: load, check, validate, one service call, answer."""
    case = case_or_404(case_id)
    require(service.may_move_between_tiers(current_user, case))
    if form.validate_on_submit():
        try:
            message = perform(case, form)
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            return _moved(case, message)
    return _render_tiers(case, status=422, **{form_name: form})


def _moved(case, message):
    case = case_or_404(case.id)
    if wants_partial():
        return _render_tiers(case, trigger=changed(case))
    flash(message, "success")
    if service.may_see_case(current_user, case):
        return _to_case(case) if nav.has_endpoint("cases.show") else see_other(
            "escalations.tiers", case_id=case.id)
    return see_other("cases.landing")


# ---------------------------------------------------------------------------------------------
# Catalog admin (owners and admins)

def _admin():
    require(can_manage_org(current_user))


def _admin_page(status=200, *, category_form=None, item_form=None):
    org = _org()
    service.ensure_default_catalog(org, now=utcnow())
    categories = list(CatalogCategory.for_org(org, include_archived=True))
    items = {}
    for item in CatalogItem.for_org(org, include_archived=True):
        items.setdefault(item.category_id, []).append(item)
    item_form = item_form or NewItemForm(formdata=None, prefix="item")
    item_form.category.choices = _category_choices(categories)
    return render_template("escalations/admin.html", categories=categories, items=items,
                           category_form=category_form or CategoryForm(formdata=None,
                                                                       prefix="category"),
                           item_form=item_form), status


def _category_choices(categories):
    return choices([(str(c.id), c.label()) for c in categories if c.archived_at is None])


@bp.get("/admin")
@login_required
def admin():
    _admin()
    return _admin_page()


@bp.post("/admin/categories")
@login_required
def admin_create_category():
    _admin()
    form = CategoryForm(prefix="category")
    if not _named(form):
        return _admin_page(422, category_form=form)
    created = service.create_category(_org(), current_user, name=form.name.data,
                                      description=form.description.data, now=utcnow())
    flash(_("The category %(name)s was added.", name=created.label()), "success")
    return see_other("escalations.admin")


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@login_required
def admin_category(category_id):
    _admin()
    found = category_or_404(category_id)
    if request.method == "GET":
        form = CategoryForm(prefix="category", formdata=None)
        form.name.data, form.description.data = found.name, found.description
        form.archived.data = found.archived_at is not None
        return render_template("escalations/admin_category.html", category=found, form=form)
    form = CategoryForm(prefix="category")
    if not _named(form, found):
        return render_template("escalations/admin_category.html", category=found, form=form), 422
    service.update_category(found, current_user, name=form.name.data or "",
                            description=form.description.data, archived=form.archived.data,
                            now=utcnow())
    flash(_("The category is saved."), "success")
    return see_other("escalations.admin")


def _named(form, row=None):
    """Valid, and named: only built-in rows may leave the name empty (their standard name is
    then shown in each reader's language)."""
    valid = form.validate_on_submit()
    if not (form.name.data or "").strip() and not (row is not None and row.key):
        form.name.errors = list(form.name.errors or []) + [_("Give it a name.")]
        return False
    return valid


@bp.post("/admin/items")
@login_required
def admin_create_item():
    _admin()
    form = NewItemForm(prefix="item")
    form.category.choices = _category_choices(CatalogCategory.for_org(_org()))
    if not form.validate_on_submit():
        return _admin_page(422, item_form=form)
    created = service.create_item(category_or_404(int(form.category.data)), current_user,
                                  name=form.name.data, now=utcnow())
    flash(_("The item %(name)s was added. Set up its escalation path below.",
            name=created.label()), "success")
    return see_other("escalations.admin_item", item_id=created.id)


def _steps(item):
    return list(PathStep.select(PathStep, Inbox).join(Inbox).where(PathStep.item == item)
                .order_by(PathStep.position, PathStep.id))


def _item_page(item, form, *, status=200, step_form=None):
    steps = _steps(item)
    step_form = step_form or PathStepForm(formdata=None, prefix="step")
    step_form.inbox.choices = _inbox_choices(steps)
    return render_template("escalations/admin_item.html", item=item, form=form, steps=steps,
                           step_form=step_form), status


def _inbox_choices(steps):
    taken = {step.inbox_id for step in steps}
    return choices([(str(inbox.id), f"{inbox.name} ({inbox.tier_label()})")
                    for inbox in Inbox.for_org(_org()).order_by(Inbox.tier, Inbox.name)
                    if inbox.id not in taken])


@bp.route("/admin/items/<int:item_id>", methods=["GET", "POST"])
@login_required
def admin_item(item_id):
    _admin()
    item = item_or_404(item_id)
    if request.method == "GET":
        form = ItemForm(prefix="item", formdata=None)
        form.name.data = item.name
        form.description.data = item.description
        form.min_description_length.data = item.min_description_length
        form.min_troubleshooting_length.data = item.min_troubleshooting_length
        form.required_fields.data = item.required_fields
        form.archived.data = item.archived_at is not None
        for name, text in item.help_texts.items():
            if hasattr(form, f"help_{name}"):
                getattr(form, f"help_{name}").data = text
        return _item_page(item, form)
    form = ItemForm(prefix="item")
    if not _named(form, item):
        return _item_page(item, form, status=422)
    service.update_item(item, current_user, service.ItemSettings(
        name=form.name.data or "", description=form.description.data or "",
        min_description_length=form.min_description_length.data,
        min_troubleshooting_length=form.min_troubleshooting_length.data,
        required_fields=form.required_fields.data or [], help_texts=form.help_texts(),
        archived=form.archived.data), now=utcnow())
    flash(_("The item is saved."), "success")
    return see_other("escalations.admin_item", item_id=item.id)


@bp.post("/admin/items/<int:item_id>/path")
@login_required
def admin_add_step(item_id):
    _admin()
    item = item_or_404(item_id)
    form = PathStepForm(prefix="step")
    steps = list(PathStep.select().where(PathStep.item == item))
    form.inbox.choices = _inbox_choices(steps)
    if form.validate_on_submit():
        try:
            service.add_path_step(item, inbox_or_404(int(form.inbox.data)), current_user,
                                  now=utcnow())
        except Invalid as invalid:
            form.populate_errors(invalid)
        else:
            return _path_changed(item)
    if wants_partial():
        return fragment("escalations/_path.html", status=422, item=item, steps=_steps(item),
                        step_form=form)
    item_form = ItemForm(prefix="item", formdata=None, obj=item)
    return _item_page(item, item_form, status=422, step_form=form)


def _step_or_404(step_id) -> PathStep:
    return get_or_404(PathStep.select().where((PathStep.id == step_id)
                                              & (PathStep.organisation == _org())))


@bp.post("/admin/steps/<int:step_id>/<any(up, down):direction>")
@login_required
def admin_move_step(step_id, direction):
    _admin()
    step = _step_or_404(step_id)
    service.move_path_step(step, current_user, up=direction == "up", now=utcnow())
    return _path_changed(step.item)


@bp.post("/admin/steps/<int:step_id>/remove")
@login_required
def admin_remove_step(step_id):
    _admin()
    step = _step_or_404(step_id)
    service.remove_path_step(step, current_user, now=utcnow())
    return _path_changed(step.item)


def _path_changed(item):
    if wants_partial():
        steps = _steps(item)
        step_form = PathStepForm(formdata=None, prefix="step")
        step_form.inbox.choices = _inbox_choices(steps)
        return fragment("escalations/_path.html",
                        trigger={"escalation-path-changed": {"item_id": item.id}}, item=item,
                        steps=steps, step_form=step_form)
    flash(_("The escalation path is saved."), "success")
    return see_other("escalations.admin_item", item_id=item.id)


# ---------------------------------------------------------------------------------------------
# Places on other areas' pages

def _first_items(organisation_id):
    return CatalogItem.for_org(organisation_id).limit(8)


def _landing_panel(member, _obj, now):
    # On every landing: its SQL compiled once (sqlcache).
    items = sqlcache.select(("escalations.landing",), _first_items, member.organisation_id)
    if not any(item.key == "escalation" for item in items):
        # Not made yet (or archived, or beyond the first eight): make sure it exists.
        service.ensure_default_catalog(member.organisation, now=now or utcnow())
        items = list(_first_items(member.organisation_id))
    return {"catalog_items": items} if items else None


def _bounce_badges(case_ids, member, now):
    badges = {}
    for case_id, count in service.bounce_counts(case_ids).items():
        if service.is_bouncing(count):
            badges[case_id] = [{"label": _("Back and forth ×%(count)d", count=count),
                                "kind": "bounced",
                                "title": _("This case has gone back down a tier %(count)d times.",
                                           count=count)}]
    return badges


nav.register_nav("escalations.catalog", _l("Service catalog"), order=30)
nav.register_panel("case", "escalations", "escalations/_case_panel.html", context=_case_panel,
                   order=20)
nav.register_panel("landing", "escalations", "escalations/_landing_panel.html",
                   context=_landing_panel, order=30)
nav.register_annotator("threads", "escalations.bounce", _bounce_badges)
