"""Small helpers every view uses: full page or fragment, 303 after POST, org-scoped loaders."""
from urllib.parse import urljoin, urlsplit

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from htmx_flask import make_response

from .models import Case, Contact, Inbox, Member, Queue, User


def wants_partial() -> bool:
    """An htmx request that is neither boosted navigation nor a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_partial(page: str, partial: str, *, status: int = 200, trigger=None, **context):
    """The page for plain, boosted and history requests; the partial for other htmx requests."""
    template = partial if wants_partial() else page
    body = render_template(template, **context)
    if trigger and wants_partial():
        return make_response(body, status, trigger=trigger)
    return make_response(body, status)


def fragment(template: str, *, status: int = 200, trigger=None, **context):
    return make_response(render_template(template, **context), status, trigger=trigger)


def see_other(endpoint: str, **values):
    """303 to a page after a successful POST (Post/Redirect/Get)."""
    return redirect(url_for(endpoint, **values), 303)


def safe_next(target: str | None, default: str) -> str:
    """Only same-host relative targets; anything else falls back to ``default``."""
    if not target:
        return default
    host = urlsplit(request.host_url)
    test = urlsplit(urljoin(request.host_url, target))
    if test.scheme in ("http", "https") and test.netloc == host.netloc and not target.startswith("//"):
        return test.path + (f"?{test.query}" if test.query else "")
    return default


def _org():
    return current_user.organisation_id


def get_or_404(query):
    obj = query.first()
    if obj is None:
        abort(404)
    return obj


def case_or_404(case_id: int) -> Case:
    return get_or_404(Case.select().where((Case.id == case_id) & (Case.organisation == _org())))


def queue_or_404(queue_id: int) -> Queue:
    return get_or_404(Queue.select().where((Queue.id == queue_id) & (Queue.organisation == _org())))


def member_or_404(member_id: int) -> Member:
    return get_or_404(Member.select(Member, User).join(User)
                      .where((Member.id == member_id) & (Member.organisation == _org())))


def contact_or_404(contact_id: int) -> Contact:
    return get_or_404(Contact.select().where((Contact.id == contact_id)
                                             & (Contact.organisation == _org())))


def inbox_or_404(inbox_id: int, *, include_deleted=False) -> Inbox:
    query = Inbox.select().where((Inbox.id == inbox_id) & (Inbox.organisation == _org()))
    if not include_deleted:
        query = query.where(Inbox.deleted_at.is_null())
    return get_or_404(query)


def require(allowed: bool):
    """403 unless ``allowed``."""
    if not allowed:
        abort(403)


def in_agent_view() -> bool:
    """Owners, admins and supervisors can switch to the agent's view of the app and back
    (the inboxes area sets this); pages then show only what an agent sees."""
    from flask import session
    return bool(session.get("agent_view"))


def full_redirect(target: str):
    """After a change of session or language: a full page load, also under htmx (HX-Redirect).

    A boosted swap replaces only the body's content, so <html lang> and the body's CSRF header
    would keep the old session's values."""
    if getattr(request, "htmx", None):
        return make_response("", 200, redirect=target)
    return redirect(target, 303)
