from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("cases", __name__)


@bp.get("/")
@login_required
def landing():
    return render_template("cases/landing.html")
