"""Work sessions (checklists run on a case, with values, photos and notes), handoff codes and the
routing directory. The blueprint lives here; its routes are in the ``views_*`` modules, which
``views`` imports (the app factory registers ``views.bp``)."""
from flask import Blueprint

bp = Blueprint("handoff", __name__, url_prefix="/handoff")
