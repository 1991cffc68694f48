"""Eskalera: an escalation desk for support teams. ``create_app`` is the only place an app is built."""
import importlib

from flask import Flask, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from htmx_flask import make_response

from . import config as settings
from . import db, i18n
from .errors import DomainError
from .extensions import babel, csrf, htmx, login_manager

# Area packages, each with a blueprint ``bp`` in its views module. Areas that are not there yet
# are skipped, so the factory does not need editing when one is added.
AREAS = ["auth", "cases", "threads", "admin", "inboxes", "escalations", "handoff", "sla", "reports"]


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(settings.ROOT / "templates"),
                static_folder=str(settings.ROOT / "static"),
                instance_path=str(settings.INSTANCE))
    app.config.update(settings.defaults())
    app.config.update(settings.from_environment())
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.instance_secret_key()
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: give it in the environment "
                           "(the demo command generates one in instance/).")

    db.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)

    from . import auth_setup, cli, nav
    auth_setup.init_app(app)
    nav.init_app(app)
    cli.init_app(app)
    for area in AREAS:
        try:
            views = importlib.import_module(f"{__name__}.{area}.views")
        except ModuleNotFoundError as exc:
            if exc.name in (f"{__name__}.{area}", f"{__name__}.{area}.views"):
                continue
            raise
        app.register_blueprint(views.bp)
    _register_error_handlers(app)

    @app.after_request
    def _vary(response):
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
            response.vary.add("HX-Boosted")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app


def _error_response(status: int, message):
    """Errors for htmx requests are a small fragment that base.html's htmx config puts into
    #flash; everything else gets a full, translated error page."""
    from .web import wants_partial
    if wants_partial():
        return make_response(render_template("_partials/error.html", status=status,
                                             message=message), status)
    template = f"errors/{status}.html" if status in (403, 404, 409, 500) else "errors/generic.html"
    body = render_template(template, status=status, message=message)
    if getattr(request, "htmx", None):
        # Boosted navigation: the error page replaces the page, not the #flash region.
        return make_response(body, status, retarget="body", reswap="innerHTML")
    return make_response(body, status)


def _register_error_handlers(app):
    messages = {
        400: lambda: gettext("The request could not be understood."),
        403: lambda: gettext("You do not have permission to do that."),
        404: lambda: gettext("That page does not exist, or you cannot see it."),
        405: lambda: gettext("That action is not allowed here."),
        409: lambda: gettext("Someone else changed this first. Reload and try again."),
        413: lambda: gettext("The upload is too large."),
        429: lambda: gettext("Too many attempts. Wait a while and try again."),
        500: lambda: gettext("Something went wrong on our side. Try again."),
    }

    def handler(status):
        return lambda exc: _error_response(status, messages[status]())

    for status in messages:
        app.register_error_handler(status, handler(status))

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error_response(400, gettext("Your form expired. Reload the page and try again."))

    @app.errorhandler(DomainError)
    def _domain(exc):
        message = exc.message if exc.message is not None else messages.get(exc.status, messages[400])()
        return _error_response(exc.status, message)
