"""What the SLA area shows on other areas' pages: clocks on the case page, badges in lists."""
from flask_babel import gettext as _
from .. import sqlcache
from ..models import Case
from .calendar import Calendars, calendar_for
from .clocks import view
from .models import Clock
from .notifications import CLOCK_LABELS

KIND_ORDER = {"first_response": 0, "next_response": 1, "resolution": 2, "tier": 3}


def business_duration(seconds) -> str:
    """Business time, exact to the minute: "2 h 5 min", "40 min"."""
    seconds = abs(int(seconds or 0))
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    if hours:
        return _("%(hours)d h", hours=hours)
    return _("%(minutes)d min", minutes=minutes)


def clock_label(clock) -> str:
    label = str(CLOCK_LABELS.get(clock.kind, clock.kind))
    if clock.kind == "tier" and clock.tier:
        label = _("Tier L%(tier)d", tier=clock.tier)
    return label


def clock_text(cv) -> str:
    """The state of a clock in words (never colour only)."""
    if cv.state == "met":
        return _("Met: took %(time)s", time=business_duration(cv.elapsed))
    if cv.state == "breached":
        return _("Breached: took %(time)s", time=business_duration(cv.elapsed))
    if cv.state == "stopped":
        return _("Took %(time)s", time=business_duration(cv.elapsed))
    if cv.left is None:
        return _("No target; %(time)s so far", time=business_duration(cv.elapsed))
    if cv.left < 0:
        text = _("Overdue by %(time)s", time=business_duration(-cv.left))
    else:
        text = _("%(time)s left", time=business_duration(cv.left))
    if cv.state == "paused" or cv.clock.paused:
        text = _("Paused, waiting on the requester: %(state)s", state=text)
    return text


def _clocks_of(case_id):
    return Clock.select().where(Clock.case == case_id).order_by(Clock.id)


def case_clocks(case, now):
    """The clocks to show for a case: every open one, and the last stopped one of each kind."""
    rows = sqlcache.select(("sla.case_clocks",), _clocks_of, case.id)
    if not rows:
        return []  # no calendar to load (three queries) for a case without clocks
    cal = calendar_for(case.organisation_id)
    shown, latest = [], {}
    for clock in rows:
        if clock.stopped_at is None:
            shown.append(clock)
        else:
            latest[(clock.kind, clock.escalation_id)] = clock
    running_kinds = {(c.kind, c.escalation_id) for c in shown}
    shown += [c for key, c in latest.items() if key not in running_kinds]
    shown.sort(key=lambda c: (c.stopped_at is not None, KIND_ORDER.get(c.kind, 9), c.id))
    return [view(clock, cal, now) for clock in shown]


class ClockPanel:
    def __init__(self, case, views):
        self.case = case
        self.clocks = views

    def label(self, cv):
        return clock_label(cv.clock)

    def text(self, cv):
        return clock_text(cv)


def clock_panel(member, case, now):
    if case is None:
        return None
    views = case_clocks(case, now)
    if not views:
        return None
    return {"sla_clocks": ClockPanel(case, views)}


def _open_clocks(case_ids, organisation_id):
    return (Clock.select()
            .where(Clock.case.in_(case_ids) & Clock.stopped_at.is_null()
                   & Clock.target_seconds.is_null(False)
                   & (Clock.organisation == organisation_id)))


def badges_for(case_ids, member, now):
    """One badge per case: its most urgent open clock with a target. One query for the page."""
    cals = Calendars()
    ids = sqlcache.padded(case_ids)
    if not ids:
        return {}
    rows = sqlcache.select(("sla.badges", len(ids)), _open_clocks, ids, member.organisation_id)
    urgent = {}
    for clock in rows:
        cv = view(clock, cals[clock.organisation_id], now)
        best = urgent.get(clock.case_id)
        if best is None or cv.left < best.left:
            urgent[clock.case_id] = cv
    return {case_id: [_badge(cv)] for case_id, cv in urgent.items()}


def _badge(cv):
    label = clock_label(cv.clock)
    if cv.left < 0:
        text, kind = _("SLA overdue by %(time)s", time=business_duration(-cv.left)), "overdue"
    elif cv.clock.paused:
        text, kind = _("SLA paused, %(time)s left", time=business_duration(cv.left)), "sla-paused"
    elif cv.clock.warning_at is not None:
        text, kind = _("SLA warning: %(time)s left", time=business_duration(cv.left)), "sla-warning"
    else:
        text, kind = _("SLA %(time)s left", time=business_duration(cv.left)), "sla"
    return {"label": text, "kind": kind, "title": label}


def case_is_open(case: Case) -> bool:
    return case.status in ("open", "waiting")


# ---------------------------------------------------------------------------------------------
# Resolving and canned responses on the case page


def resolve_panel(member, case, now):
    from . import access
    from .forms import ResolveForm
    from .resolution import latest_for
    if case is None:
        return None
    latest = latest_for(case)
    if case.status not in ("open", "waiting"):
        if latest is None:
            return None
        return {"sla_resolve": {"case": case, "resolution": latest, "form": None}}
    if not access.may_work(member, case, now):
        return None
    return {"sla_resolve": {"case": case, "resolution": latest,
                            "form": ResolveForm(formdata=None)}}


def canned_panel(member, case, now):
    from . import access, canned
    if case is None or case.status == "closed" or not access.may_work(member, case, now):
        return None
    language = canned.case_language(case, member.organisation)
    rows = (sqlcache.select(("sla.canned_for",), canned.for_org, member.organisation_id, language)
            if language else list(canned.for_org(member.organisation_id, language)))
    if not rows:
        return None
    people = canned.people_of(case)
    return {"sla_canned": {"case": case, "language": language,
                           "responses": [(row, canned.fill(row, case, member, people=people))
                                         for row in rows]}}


def _solved_with(case_id):
    from .models import ArticleCase
    return (ArticleCase.select(ArticleCase.article)
            .where((ArticleCase.case == case_id) & (ArticleCase.kind == "solved_with")))


def article_panel(member, case, now):
    """Articles matching the case's subject; "solved with this article" for whoever works it."""
    from . import access, articles
    if case is None:
        return None
    rows = articles.suggest(member.organisation_id, case.subject)
    used = {row[0] for row in sqlcache.rows(("sla.solved_with",), _solved_with, case.id)}
    if not rows and not used:
        return None
    can_use = case.status in ("open", "waiting") and access.may_work(member, case, now)
    return {"sla_articles": {"case": case, "rows": rows, "used": used, "can_use": can_use}}
