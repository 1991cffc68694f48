"""Escalation reports for owners, admins and supervisors: one page of tables and charts for a
period (the last 30 days unless chosen), narrowed by inbox or tier, and a CSV download of each
table.

The filter is a plain GET form; with htmx, changing it asks the same URL for the results region
(``reports/_results.html``) and pushes the URL, so every report is a link that renders the page.
"""
import csv
import io

from babel.numbers import format_percent
from flask import Blueprint, Response, abort, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import nav
from ..clock import utcnow
from ..extensions import login_manager
from ..models import TIER_LABELS, Inbox
from ..permissions import is_staff_lead
from ..sla.notifications import CLOCK_LABELS
from ..sla.panels import business_duration
from ..web import render_page_or_partial
from . import charts, service
from .forms import ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")

nav.register_nav("reports.index", _l("Reports"), visible=is_staff_lead, order=75)

@bp.before_request
def _only_leads():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not is_staff_lead(current_user):
        abort(403)
    return None


# ---------------------------------------------------------------------------------------------
# The filter


def _filter_form():
    """The bound filter (the last 30 days when no dates are given) and the scope it describes,
    or None when the filter is not valid."""
    org_id = current_user.organisation_id
    now = utcnow()
    zone = service.organisation_timezone(org_id)
    default = service.default_period(zone, now)
    form = ReportFilterForm(request.args, data={"start": default.first, "end": default.last})
    form.set_inboxes(Inbox.for_org(org_id))
    form.default_period = (default.first, default.last)
    if not form.validate():
        return form, None
    first, last = form.period()
    form.start.data, form.end.data = first, last
    scope = service.Scope(org_id=org_id, period=service.period_of(first, last, zone), now=now,
                          inbox_id=form.inbox.data, tier=form.tier.data)
    return form, scope


def _filter_args(scope):
    args = {"start": scope.period.first.isoformat(), "end": scope.period.last.isoformat()}
    if scope.inbox_id is not None:
        args["inbox"] = scope.inbox_id
    if scope.tier is not None:
        args["tier"] = scope.tier
    return args


# ---------------------------------------------------------------------------------------------
# Formatting for the page (the CSV keeps plain numbers)


def number(value):
    if value is None:
        return "–"
    if isinstance(value, int) and 0 <= value < 1000:
        return str(value)  # the same in every locale, and a report has hundreds of them
    return format_decimal(value)


def percent(value):
    if value is None:
        return "–"
    return format_percent(round(value, 3), locale=get_locale(), decimal_quantization=False)


def duration(seconds):
    return business_duration(round(seconds)) if seconds is not None else "–"


def tier_name(tier):
    return str(TIER_LABELS.get(tier, "")) if tier else _("Not escalated")


def inbox_label(row):
    return _("%(inbox)s (deleted)", inbox=row.name) if row.deleted else row.name


def clock_name(row):
    if row.kind == "tier":
        return _("Tier target, %(tier)s", tier=tier_name(row.tier))
    return str(CLOCK_LABELS.get(row.kind, row.kind))


def time_group(row):
    if row.key == "all":
        return _("All cases") if not row.tier else tier_name(row.tier)
    if row.inbox_id is not None:
        return row.name
    return _("Escalated to %(tier)s", tier=tier_name(row.tier))


def item_name(row):
    return row.name if row.item_id is not None else _("No catalog item")


def _charts(report):
    found = {}
    rows = report.inboxes
    if rows:
        found["inboxes"] = charts.bar_chart(
            "chart-inboxes", _("Escalations per inbox"), [inbox_label(r) for r in rows],
            [_("Escalations in"), _("De-escalated"), _("Moved"), _("Resolved")],
            [[r.arrived, r.de_escalated, r.moved, r.resolved] for r in rows], number)
    timed = [r for r in report.times_by_tier if r.claim.count or r.first_response.count
             or r.resolution.count]
    if timed:
        found["times"] = charts.bar_chart(
            "chart-times", _("Median business time"), [time_group(r) for r in timed],
            [_("To claim"), _("To first response"), _("To resolution")],
            [[r.claim.median, r.first_response.median, r.resolution.median] for r in timed],
            duration)
    if report.sla:
        found["sla"] = charts.bar_chart(
            "chart-sla", _("SLA met"), [clock_name(r) for r in report.sla], [_("Met")],
            [[r.met_ratio] for r in report.sla], percent, maximum=1)
    if report.breaches:
        found["breaches"] = charts.bar_chart(
            "chart-breaches", _("Breaches by tier"), [tier_name(t) for t, _n in report.breaches],
            [_("Breaches")], [[n] for _t, n in report.breaches], number)
    agents = [r for r in report.agents if r.handled][:15]
    if agents:
        found["agents"] = charts.bar_chart(
            "chart-agents", _("Escalation rate per agent"), [r.name for r in agents],
            [_("Escalation rate")], [[r.rate] for r in agents], percent, maximum=1)
    if report.items:
        found["items"] = charts.bar_chart(
            "chart-items", _("Escalation rate per catalog item"),
            [item_name(r) for r in report.items], [_("Escalation rate")],
            [[r.rate] for r in report.items], percent, maximum=1)
    return found


def _context(form, scope):
    context = {"form": form, "report": None, "charts": {}, "exports": {}, "period": None}
    if scope is None:
        return context
    report = service.build(scope)
    args = _filter_args(scope)
    context.update(
        report=report, charts=_charts(report),
        exports={name: url_for("reports.export", report=name, **args)
                 for name in service.REPORTS},
        period=_("%(first)s – %(last)s", first=format_date(scope.period.first, "long"),
                 last=format_date(scope.period.last, "long")),
        f={"number": number, "percent": percent, "duration": duration, "tier": tier_name,
           "inbox": inbox_label, "clock": clock_name, "group": time_group, "item": item_name})
    return context


@bp.get("")
def index():
    form, scope = _filter_form()
    return render_page_or_partial("reports/index.html", "reports/_results.html",
                                  status=200 if scope is not None else 422,
                                  **_context(form, scope))


# ---------------------------------------------------------------------------------------------
# CSV: one file per table, plain numbers (seconds, ratios 0..1), UTF-8 with a header row


def _csv_inboxes(report):
    yield [_("Inbox"), _("Tier"), _("Escalations in"), _("De-escalated"), _("Moved"),
           _("Resolved"), _("Bounces"), _("Claims lapsed"), _("Tier breaches")]
    for r in report.inboxes:
        yield [inbox_label(r), r.tier, r.arrived, r.de_escalated, r.moved, r.resolved, r.bounces,
               r.lapsed, r.breaches]
    t = report.total
    yield [_("Total"), "", t.arrived, t.de_escalated, t.moved, t.resolved, t.bounces, t.lapsed,
           t.breaches]


def _csv_times(report):
    yield [_("Group"), _("Tier"), _("Inbox"),
           _("Claimed hops"), _("Median time to claim (business seconds)"),
           _("90th percentile time to claim (business seconds)"),
           _("First responses"), _("Median time to first response (business seconds)"),
           _("90th percentile time to first response (business seconds)"),
           _("Resolutions"), _("Median time to resolution (business seconds)"),
           _("90th percentile time to resolution (business seconds)")]
    for r in report.times_by_tier + report.times_by_inbox:
        yield [time_group(r), r.tier or "", r.name if r.inbox_id else "",
               r.claim.count, _seconds(r.claim.median), _seconds(r.claim.p90),
               r.first_response.count, _seconds(r.first_response.median),
               _seconds(r.first_response.p90),
               r.resolution.count, _seconds(r.resolution.median), _seconds(r.resolution.p90)]


def _seconds(value):
    return "" if value is None else round(value)


def _ratio(value):
    return "" if value is None else round(value, 4)


def _csv_sla(report):
    yield [_("Clock"), _("Tier"), _("Met"), _("Breached"), _("Met (share)")]
    for r in report.sla:
        yield [clock_name(r), r.tier or "", r.met, r.breached, _ratio(r.met_ratio)]


def _csv_breaches(report):
    yield [_("Tier"), _("Tier level"), _("Breaches")]
    for tier, count in report.breaches:
        yield [tier_name(tier), tier, count]


def _csv_agents(report):
    yield [_("Member"), _("Cases handled"), _("Cases escalated"), _("Escalation rate"),
           _("Avoided escalations")]
    for r in report.agents:
        yield [r.name, r.handled, r.escalated, _ratio(r.rate), r.avoided]


def _csv_items(report):
    yield [_("Catalog item"), _("Escalations"), _("Avoided escalations"), _("Escalation rate")]
    for r in report.items:
        yield [item_name(r), r.escalated, r.avoided, _ratio(r.rate)]


CSV = {"inboxes": _csv_inboxes, "times": _csv_times, "sla": _csv_sla,
       "breaches": _csv_breaches, "agents": _csv_agents, "items": _csv_items}


@bp.get("/<any(inboxes, times, sla, breaches, agents, items):report>.csv")
def export(report):
    form, scope = _filter_form()
    if scope is None:
        return render_page_or_partial("reports/index.html", "reports/_results.html", status=422,
                                      **_context(form, scope))
    built = service.build_one(report, scope)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in CSV[report](built):
        writer.writerow(row)
    name = f"eskalera-{report}-{scope.period.first.isoformat()}-{scope.period.last.isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
