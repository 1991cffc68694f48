"""The handoff area on shared pages (registered with ``escalation.nav``):

- on the case page: the case's work session (progress, photos, who works it), its live code for
  the issuer, and the way to the session, the escalate choices and the routing directory;
- on every member's landing page: "Enter a handoff code", notices of codes taken over, and for
  admins a notice while redemption is paused.

Each context returns ``{"handoff_panel": {...}}`` so the templates read the same variable however
the page passes panel variables in.
"""
from flask_babel import lazy_gettext as _l

from .. import nav, sqlcache
from . import permissions, service, worksession
from .forms import CodeForm
from .models import HandoffCode, HandoffNotice, WorkSession


def _live_code(case_id, member_id, now):
    """The live code this member issued for the case (at most one is live per case)."""
    return (HandoffCode.select().where((HandoffCode.case == case_id) & HandoffCode.live_expr(now)
                                       & (HandoffCode.issued_by == member_id)).limit(1))


def case_context(member, case, now):
    if case is None or not permissions.may_view_case(member, case):
        return None
    # Both queries run on every view of the case page: compiled once (sqlcache).
    sessions = sqlcache.select(("handoff.case_sessions",), WorkSession.of_case, case.id)
    current = next((s for s in reversed(sessions) if s.is_open), None)
    shown = current or (sessions[-1] if sessions else None)
    done, total = worksession.progress(shown) if shown else (0, 0)
    photos = worksession.photo_counts([shown.id]).get(shown.id, 0) if shown else 0
    live = sqlcache.select(("handoff.live_code",), _live_code, case.id, member.id, now)
    live_code = live[0] if live else None
    return {"handoff_panel": {
        "case": case, "session": shown, "sessions": len(sessions), "done": done, "total": total,
        "percent": round(100 * done / total) if total else 0, "photos": photos,
        "work": permissions.may_work_case(member, case), "live_code": live_code, "now": now,
    }}


def landing_context(member, _obj, now):
    lead = permissions.may_curate(member)
    paused_until = service.paused_until(member.organisation_id, now) if lead else None
    # On every landing page: the notices' SQL compiled once (sqlcache); the template's buttons
    # carry their own CSRF token, so no bare action form is made.
    notices = sqlcache.models(HandoffNotice, ("handoff.notices",), _unread_notices, member.id)
    return {"handoff_panel": {
        "form": CodeForm(formdata=None), "notices": notices, "paused_until": paused_until,
        "now": now,
    }}


def _unread_notices(member_id):
    return HandoffNotice.unread_for(member_id).limit(20)


def register():
    nav.register_panel("case", "handoff", "handoff/_case_panel.html", context=case_context,
                       order=40)
    nav.register_panel("landing", "handoff", "handoff/_landing_panel.html",
                       context=landing_context, order=20)
    nav.register_nav("handoff.directory", _l("Routing directory"),
                     visible=permissions.may_use_directory, order=60)
    nav.register_nav("handoff.admin_checklists", _l("Checklists"),
                     visible=permissions.may_curate, order=85)
