from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..clock import utcnow
from ..errors import Invalid, Throttled
from ..models import Member
from ..web import full_redirect, render_page_or_partial, safe_next
from . import service
from .forms import LoginForm, PasswordForm, PreferencesForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _start_session(member):
    """A fresh session (no fixation): keep only the chosen language across sign-in."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(member)
    service.record_sign_in(member, now=utcnow())


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("cases.landing"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_page_or_partial("auth/login.html", "auth/_login_form.html", form=form, status=422)
    try:
        user = service.authenticate(form.email.data, form.password.data, now=utcnow(),
                                    max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                    lock_seconds=current_app.config["LOGIN_LOCK_SECONDS"])
    except (Invalid, Throttled) as exc:
        form.form_errors_extra.append(exc.message)
        # 422 either way, so htmx swaps the form in place; the password is never echoed back.
        return render_page_or_partial("auth/login.html", "auth/_login_form.html", form=form, status=422)
    _start_session(service.default_membership(user))
    return full_redirect(safe_next(form.next.data, url_for("cases.landing")))


@bp.post("/logout")
def logout():
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are signed out."), "info")
    return full_redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    locale = request.form.get("locale")
    if locale not in current_app.config["LANGUAGES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        service.set_preferences(current_user.user, locale=locale, timezone=current_user.user.timezone)
    return full_redirect(safe_next(request.form.get("next"), url_for("cases.landing")))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    prefs = PreferencesForm(prefix="prefs", obj=None)
    if request.method == "GET":
        prefs.locale.data = current_user.user.locale or ""
        prefs.timezone.data = current_user.user.timezone or ""
    elif prefs.validate_on_submit():
        service.set_preferences(current_user.user, locale=prefs.locale.data, timezone=prefs.timezone.data)
        flash(_("Your preferences are saved."), "success")
        return full_redirect(url_for("auth.account"))
    else:
        return _account_page(prefs, PasswordForm(prefix="pw", formdata=None), status=422)
    return _account_page(prefs, PasswordForm(prefix="pw", formdata=None))


def _account_page(prefs, password_form, status=200):
    return render_template("auth/account.html", prefs=prefs, password_form=password_form,
                           memberships=list(service.memberships(current_user.user))), status


@bp.post("/password")
@login_required
def change_password():
    form = PasswordForm(prefix="pw")
    prefs = PreferencesForm(prefix="prefs", formdata=None)
    prefs.locale.data = current_user.user.locale or ""
    prefs.timezone.data = current_user.user.timezone or ""
    if form.validate_on_submit():
        try:
            service.change_password(current_user.user, form.current_password.data, form.new_password.data)
        except Invalid as exc:
            form.populate_errors(exc)
        else:
            member = Member.get_by_id(current_user.id)
            _start_session(member)  # the old epoch is gone; this session continues on the new one
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return full_redirect(url_for("auth.account"))
    return _account_page(prefs, form, status=422)


@bp.post("/organisation")
@login_required
def switch_organisation():
    """Continue as this user's membership of another organisation."""
    try:
        target_id = int(request.form.get("member_id", ""))
    except ValueError:
        abort(400)
    member = next((m for m in service.memberships(current_user.user) if m.id == target_id), None)
    if member is None:
        abort(404)
    _start_session(member)
    flash(_("You are now working in %(org)s.", org=member.organisation.name), "success")
    return full_redirect(url_for("cases.landing"))
