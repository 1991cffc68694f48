"""The handoff area's blueprint (``bp``, registered by the app factory). Its routes live in the
``views_*`` modules, imported here; importing them also registers the area's panels and links
and, through the service, the audit subscribers that revoke codes when a case changes hands."""
from . import bp, panels
from . import views_admin, views_codes, views_directory, views_sessions  # noqa: F401  (routes)

panels.register()

__all__ = ["bp"]
