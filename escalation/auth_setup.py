"""Flask-Login wiring: loading the member, and answering unauthenticated requests."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext
from htmx_flask import make_response

from . import sqlcache
from .extensions import login_manager
from .models import Member, Organisation, User


def load_member(member_id: str):
    """The member and their organisation and user in one query. The id carries the user's
    session epoch; a stale epoch or a deactivated membership ends the session at once."""
    try:
        raw_id, epoch = member_id.split(".")
        raw_id, epoch = int(raw_id), int(epoch)
    except (ValueError, AttributeError):
        return None
    found = sqlcache.select(("auth.member",), _member_query, raw_id)  # on every request
    member = found[0] if found else None
    if member is None or not member.active or member.user.session_epoch != epoch:
        return None
    return member


def _member_query(member_id):
    return (Member.select(Member, User, Organisation).join(User).switch(Member).join(Organisation)
            .where(Member.id == member_id).limit(1))


def unauthorized():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if getattr(request, "htmx", None):
        return make_response("", 401, redirect=target)
    flash(gettext("Please sign in to continue."), "info")
    return redirect(target)


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_member)
    login_manager.unauthorized_handler(unauthorized)
