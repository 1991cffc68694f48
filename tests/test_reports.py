"""Escalation reports: real aggregates over a known history (the SLA clocks count it as it
happens, in business time), the page with its charts and tables, CSV downloads, who may see them,
another organisation's data never counted, and the page in Swedish."""
import csv
import html
import io
import re
from datetime import date, datetime, timedelta

import pytest
import time_machine

from escalation.cases import service as cases
from escalation.escalations.models import EscalationPacket
from escalation.inboxes import service as inboxes
from escalation.models import InboxOwner, User
from escalation.reports import service as reports
from escalation.reports.charts import bar_chart
from escalation.sla import articles as kb
from escalation.sla.resolution import resolve_with_note

from . import factories
from . import factories_escalations as fe
from .factories import NOW, make_member
from .factories_sla import fresh, make_policy, make_tier_target, new_case, strict_sla  # noqa: F401

T0 = NOW                                  # Monday 2 November 2026, 09:30 UTC (10:30 in Stockholm)
FRIDAY = datetime(2026, 10, 30, 15, 0)    # 16:00 in Stockholm: one working hour left that week
MONDAY_EARLY = datetime(2026, 11, 2, 8, 0)  # 09:00 in Stockholm: one working hour since 08:00
LATER = T0 + timedelta(hours=8)           # when the report is read (same local day)
HOUR = 3600


def at(hours=0, minutes=0):
    return T0 + timedelta(hours=hours, minutes=minutes)


def packet(case, escalation, item, agent, when):
    return EscalationPacket.create(organisation=case.organisation_id, escalation=escalation,
                                   case=case.id, item=item, submitted_by=agent, submitted_at=when,
                                   data_json="{}")


class World:
    pass


@pytest.fixture
def world(org, other_org, agent):
    """A known history (working hours Mon-Fri 08-17 Stockholm, Swedish holidays):

    - G: escalated to L3 on Friday 16:00 local, claimed Monday 09:00: 2 business hours (65 on
      the wall clock); the claim lapses at 10:00, unobserved;
    - A: replied after 30 min, escalated to L2 at +1 h, claimed at +2 h, resolved at +5 h;
    - B: replied after 90 min (first response breached), escalated to L2 at +2 h, claimed at
      +5 h, de-escalated at +6 h, escalated again (to L3) at +6 h 10: a bounce;
    - C: never replied, escalated to L2 at +1 h, claimed at +3 h, the claim lapses at +7 h, moved
      to L3 at +7 h 30 (after hours);
    - D and E: solved with an article (D's for the catalog item, E's for none);
    - another organisation: an escalation, a claim, a resolution and an avoided escalation that
      must never be counted.
    """
    w = World()
    make_policy(org, 2, first=60, next_=None, resolution=8 * 60)
    w.desk = desk = fe.make_desk(org, agent)
    desk.l2.assignment_minutes = 240
    desk.l2.save()
    w.lars = desk.l2_owner
    w.erik = make_member(org, "agent", name="Erik Engineer", email="erik@example.test")
    InboxOwner.create(inbox=desk.l3, member=w.erik)
    make_tier_target(desk.l2, 270)

    def case(subject, when=T0):
        return new_case(org, agent, queue=desk.queue, subject=subject, now=when)

    w.g = case("Dock does not charge", FRIDAY)
    inboxes.escalate(fresh(w.g), desk.l3, agent, reason="Dock", now=FRIDAY)
    inboxes.claim_case(fresh(w.g), w.erik, now=MONDAY_EARLY)

    w.a, w.b, w.c = case("Fan noise"), case("Screen flicker"), case("Keyboard dead")
    w.d, w.e = case("Printer offline"), case("Password expired")
    cases.reply(fresh(w.a), agent, body="Looking into it", now=at(0, 30))
    esc_a = inboxes.escalate(fresh(w.a), desk.l2, agent, reason="Fan", now=at(1))
    esc_c = inboxes.escalate(fresh(w.c), desk.l2, agent, reason="Keys", now=at(1))
    cases.reply(fresh(w.b), agent, body="Looking into it", now=at(1, 30))
    esc_b = inboxes.escalate(fresh(w.b), desk.l2, agent, reason="Flicker", now=at(2))
    for found, escalation, when in ((w.a, esc_a, at(1)), (w.c, esc_c, at(1)),
                                    (w.b, esc_b, at(2))):
        packet(found, escalation, desk.item, agent, when)
    inboxes.claim_case(fresh(w.a), w.lars, now=at(2))
    inboxes.claim_case(fresh(w.c), w.lars, now=at(3))
    article = kb.save(org, agent, title="Printer offline", body="Restart the spooler.",
                      language="en", catalog_item_id=desk.item.id, publish=True, now=T0)
    other_article = kb.save(org, agent, title="Password expired", body="Reset it.",
                            language="en", catalog_item_id=None, publish=True, now=T0)
    kb.solved_with(fresh(w.d), article, agent, now=at(1))
    kb.solved_with(fresh(w.e), other_article, agent, now=at(1))
    resolve_with_note(fresh(w.a), w.lars, note="Cleaned the fan", now=at(5))
    inboxes.claim_case(fresh(w.b), w.lars, now=at(5))
    inboxes.de_escalate(fresh(w.b), w.lars, now=at(6), to="agent", reason="Needs a restart")
    inboxes.escalate(fresh(w.b), desk.l3, agent, reason="Still flickers", now=at(6, 10))
    inboxes.move(fresh(w.c), desk.l3, w.lars, reason="Hardware", now=at(7, 30))

    # Another organisation, same period: never counted.
    stranger = make_member(other_org, "agent", name="Stina Stranger", email="stina@example.test")
    other_inbox = factories.make_inbox(other_org, owners=[stranger], name="Elsewhere L2")
    theirs = new_case(other_org, stranger, subject="Their printer")
    inboxes.escalate(fresh(theirs), other_inbox, stranger, reason="x", now=at(1))
    inboxes.claim_case(fresh(theirs), stranger, now=at(2))
    resolve_with_note(fresh(theirs), stranger, note="Fixed", now=at(3))
    their_article = kb.save(other_org, stranger, title="Their fix", body="x", language="en",
                            catalog_item_id=None, publish=True, now=T0)
    kb.solved_with(fresh(new_case(other_org, stranger)), their_article, stranger, now=at(1))
    w.other_inbox = other_inbox
    return w


def scope_of(org, **filters):
    period = reports.default_period(org.timezone, LATER)
    return reports.Scope(org_id=org.id, period=period, now=LATER, **filters)


# ---------------------------------------------------------------------------------------------
# The aggregates (service)


def test_the_default_period_is_the_last_30_local_days():
    period = reports.default_period("Europe/Stockholm", LATER)
    assert (period.first, period.last, period.days) == (date(2026, 10, 4), date(2026, 11, 2), 30)
    # Local midnights in UTC: summer time until 25 October, winter time after.
    assert period.start == datetime(2026, 10, 3, 22, 0)
    assert period.end == datetime(2026, 11, 2, 23, 0)


def test_percentiles_interpolate_between_ranks():
    assert reports.percentile([3600, 10800, 7200], 0.5) == 7200
    assert reports.percentile([3600, 10800, 7200], 0.9) == pytest.approx(10080)
    assert reports.percentile([], 0.5) is None and reports.percentile([5], 0.9) == 5


def test_escalations_per_inbox(world, org):
    rows, total = reports.inbox_table(scope_of(org))
    got = {r.name: (r.tier, r.arrived, r.de_escalated, r.moved, r.resolved, r.bounces, r.lapsed,
                    r.breaches) for r in rows}
    assert got == {
        # tier, in, de-escalated, moved, resolved, bounces, claims lapsed, tier breaches
        "Hardware L2": (2, 3, 1, 1, 1, 0, 1, 1),
        # G's claim lapsed at 10:00 local; nobody has looked since, and it counts all the same.
        "Engineers L3": (3, 3, 0, 0, 0, 1, 1, 0),
    }
    assert (total.arrived, total.de_escalated, total.moved, total.resolved, total.bounces,
            total.lapsed, total.breaches) == (6, 1, 1, 1, 1, 2, 1)


def test_times_in_business_time(world, org):
    by_tier, by_inbox = reports.time_tables(scope_of(org))
    tiers = {r.key: r for r in by_tier}
    assert list(tiers) == ["all", "tier-2", "tier-3"]
    l2, l3, everything = tiers["tier-2"], tiers["tier-3"], tiers["all"]
    # Claims: A 1 h, C 2 h, B 3 h in L2; G 2 business hours over a weekend in L3.
    assert (l2.claim.count, l2.claim.median, l2.claim.p90) == (3, 2 * HOUR, pytest.approx(10080))
    assert (l3.claim.count, l3.claim.median) == (1, 2 * HOUR)
    assert (everything.claim.count, everything.claim.median) == (4, 2 * HOUR)
    assert everything.claim.p90 == pytest.approx(9720)
    # First responses: A after 30 min, B after 90 min (C, D, E, G never got a reply).
    assert (everything.first_response.count, everything.first_response.median,
            everything.first_response.p90) == (2, HOUR, pytest.approx(5040))
    assert (l3.first_response.count, l3.first_response.median) == (1, 90 * 60)
    # Resolution: A, 5 business hours from its creation.
    assert (everything.resolution.count, everything.resolution.median) == (1, 5 * HOUR)
    assert l3.resolution.count == 0
    inbox_rows = {r.name: r for r in by_inbox}
    assert set(inbox_rows) == {"Hardware L2", "Engineers L3"}
    assert inbox_rows["Hardware L2"].claim.median == 2 * HOUR


def test_sla_met_and_breaches_by_tier(world, org):
    rows = {(r.kind, r.tier): (r.met, r.breached) for r in reports.sla_table(scope_of(org))}
    assert rows == {("first_response", None): (1, 1), ("resolution", None): (1, 0),
                    ("tier", 2): (2, 1)}
    met = {(r.kind, r.tier): r.met_ratio for r in reports.sla_table(scope_of(org))}
    assert met[("tier", 2)] == pytest.approx(2 / 3)
    assert reports.breaches_by_tier(scope_of(org)) == [(2, 1), (3, 0), (4, 0)]


def test_rates_per_agent_and_catalog_item_and_avoided_escalations(world, org, agent):
    [row] = reports.agent_table(scope_of(org))
    # Escalated A, B, C and G; handled those and D, E.
    assert (row.member_id, row.handled, row.escalated, row.avoided) == (agent.id, 6, 4, 2)
    assert row.rate == pytest.approx(4 / 6)
    items = reports.item_table(scope_of(org))
    assert [(r.item_id, r.escalated, r.avoided) for r in items] == [
        (world.desk.item.id, 3, 1), (None, 0, 1)]
    assert items[0].rate == pytest.approx(0.75)
    assert reports.avoided_total(scope_of(org)) == 2


def test_filters_narrow_to_an_inbox_or_a_tier(world, org):
    l3 = scope_of(org, tier=3)
    rows, total = reports.inbox_table(l3)
    assert [r.name for r in rows] == ["Engineers L3"] and total.arrived == 3
    by_tier, by_inbox = reports.time_tables(l3)
    assert [r.key for r in by_tier] == ["all", "tier-3"]
    assert by_tier[0].claim.count == 1 and by_tier[0].first_response.count == 1  # B only
    only_l2 = scope_of(org, inbox_id=world.desk.l2.id)
    assert {(r.kind, r.tier) for r in reports.sla_table(only_l2)} == {
        ("first_response", None), ("resolution", None), ("tier", 2)}
    assert reports.breaches_by_tier(only_l2) == [(2, 1), (3, 0), (4, 0)]
    [agent_row] = reports.agent_table(only_l2)
    assert agent_row.escalated == 3  # A, B and C went to L2


def test_another_organisations_data_is_never_counted(world, org, other_org):
    mine = reports.build(scope_of(org))
    assert world.other_inbox.id not in {r.inbox_id for r in mine.inboxes}
    theirs = reports.build(scope_of(other_org))
    assert [(r.name, r.arrived, r.resolved) for r in theirs.inboxes] == [("Elsewhere L2", 1, 1)]
    assert theirs.avoided == 1 and [r.name for r in theirs.agents] == ["Stina Stranger"]
    assert theirs.times_by_tier[0].claim.count == 1
    # A filter naming another organisation's inbox finds nothing of it.
    assert reports.inbox_table(scope_of(org, inbox_id=world.other_inbox.id))[0] == []


def test_a_period_without_the_history_is_empty(world, org):
    period = reports.period_of(date(2026, 9, 1), date(2026, 9, 30), org.timezone)
    empty = reports.build(reports.Scope(org_id=org.id, period=period, now=LATER))
    assert empty.inboxes == [] and empty.total.arrived == 0 and empty.avoided == 0
    assert empty.times_by_tier[0].claim.count == 0 and empty.sla == []


# ---------------------------------------------------------------------------------------------
# Charts


def test_charts_are_readable_without_colour():
    chart = bar_chart("c", "Escalations per inbox", ["Hardware L2", "Engineers L3"],
                      ["In", "Resolved"], [[3, 1], [2, 0]], str)
    assert [legend.pattern for legend in chart.legend] == ["solid", "hatch"]
    assert [[b.text for b in g.bars] for g in chart.groups] == [["3", "1"], ["2", "0"]]
    assert chart.desc == "Hardware L2: In 3, Resolved 1; Engineers L3: In 2, Resolved 0."
    widest = chart.groups[0].bars[0]
    assert widest.width > chart.groups[1].bars[0].width > chart.groups[1].bars[1].width == 0
    assert bar_chart("c", "Nothing", [], ["In"], [], str) is None


# ---------------------------------------------------------------------------------------------
# The page


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


def cells(body, attribute, value):
    """The cells of the table row with ``data-<attribute>="<value>"``, as text."""
    row = re.search(rf'<tr data-{attribute}="{value}">(.*?)</tr>', body, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


@pytest.fixture
def later():
    with time_machine.travel(LATER, tick=False):
        yield


def test_the_page_shows_the_report(client, login, supervisor, world, later):
    login(supervisor)
    response = client.get("/reports")
    assert response.status_code == 200
    body = text_of(response)
    assert "<h1>Reports</h1>" in body and "October 4, 2026 – November 2, 2026" in body
    assert cells(body, "inbox", world.desk.l2.id) == [
        "Hardware L2", "L2 specialists", "3", "1", "1", "1", "0", "1", "1"]
    assert cells(body, "inbox", "total")[2:] == ["6", "1", "1", "1", "1", "2", "1"]
    assert cells(body, "group", "tier-2")[:4] == ["Escalated to L2 specialists", "3", "2 h",
                                                  "2 h 48 min"]
    assert cells(body, "clock", "tier-2") == ["Tier target, L2 specialists", "2", "1", "66.7%"]
    assert cells(body, "member", world.desk.agent.id) == ["Alice Agent", "6", "4", "66.7%", "2"]
    assert cells(body, "item", world.desk.item.id)[1:] == ["3", "1", "75%"]
    assert 'data-avoided="2"' in body
    # The charts: SVG with a title and a description, patterns and value labels.
    svg = re.search(r'<svg[^>]*id="chart-inboxes".*?</svg>', body, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="chart-inboxes-title chart-inboxes-desc"' in svg
    assert "<title id=\"chart-inboxes-title\">Escalations per inbox</title>" in svg
    assert "Hardware L2: Escalations in 3, De-escalated 1, Moved 1, Resolved 1" in svg
    assert 'fill="url(#chart-inboxes-hatch)"' in svg and ">3</text>" in svg
    for name in ("inboxes", "times", "sla", "breaches", "agents", "items"):
        assert f'<title id="chart-{name}-title">' in body, name
    assert "Handling → Escalation: 75%; No catalog item: 0%." in body
    # The definitions, and a CSV link per table that keeps the period.
    assert "A bounce is an escalation up into the inbox" in body
    assert 'href="/reports/inboxes.csv?start=2026-10-04&end=2026-11-02"' in body


def test_the_filter_is_a_get_form_that_htmx_enhances(client, login, supervisor, world, later):
    login(supervisor)
    page = text_of(client.get("/reports"))
    form = re.search(r'<form method="get" action="/reports" id="report-filter".*?</form>', page,
                     re.S).group(0)
    assert 'hx-get="/reports"' in form and 'hx-target="#report-results"' in form
    assert 'hx-push-url="true"' in form and 'type="submit"' in form
    response = client.get("/reports?start=2026-10-30&end=2026-11-02&tier=3", htmx=True)
    assert response.status_code == 200 and "<html" not in text_of(response)
    assert "HX-Request" in response.headers["Vary"]
    body = text_of(response)
    assert cells(body, "inbox", world.desk.l3.id)[2] == "3"
    assert f'data-inbox="{world.desk.l2.id}"' not in body
    assert 'href="/reports/times.csv?start=2026-10-30&end=2026-11-02&tier=3"' in body


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_bad_filters_are_refused_in_the_users_language(client, login, supervisor, world, later,
                                                       locale):
    User.update(locale=locale).where(User.id == supervisor.user_id).execute()
    login(supervisor)
    response = client.get("/reports?start=2026-11-02&end=2026-10-01&tier=2")
    assert response.status_code == 422
    body = text_of(response)
    assert {"en": "The end of the period comes before its start.",
            "sv": "Periodens slut kommer före dess början."}[locale] in body
    assert 'value="2026-10-01"' in body and 'data-inbox="' not in body  # kept as typed, no report
    too_long = client.get("/reports?start=2025-01-01&end=2026-11-02", htmx=True)
    assert too_long.status_code == 422 and "366" in text_of(too_long)
    assert client.get("/reports?start=yesterday").status_code == 422
    only_start = client.get("/reports?start=2026-12-01")  # the end defaults to today
    assert only_start.status_code == 422
    assert {"en": "The end of the period comes before its start.",
            "sv": "Periodens slut kommer före dess början."}[locale] in text_of(only_start)


def test_csv_downloads(client, login, admin, world, later):
    login(admin)
    response = client.get("/reports/inboxes.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="eskalera-inboxes-2026-10-04-2026-11-02.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    assert rows[0] == ["Inbox", "Tier", "Escalations in", "De-escalated", "Moved", "Resolved",
                       "Bounces", "Claims lapsed", "Tier breaches"]
    assert rows[1:] == [["Hardware L2", "2", "3", "1", "1", "1", "0", "1", "1"],
                        ["Engineers L3", "3", "3", "0", "0", "0", "1", "1", "0"],
                        ["Total", "", "6", "1", "1", "1", "1", "2", "1"]]
    times = list(csv.DictReader(io.StringIO(client.get("/reports/times.csv").get_data()
                                            .decode("utf-8"))))
    everything = times[0]
    assert everything["Group"] == "All cases"
    assert everything["Median time to claim (business seconds)"] == "7200"
    assert everything["90th percentile time to claim (business seconds)"] == "9720"
    assert everything["Median time to resolution (business seconds)"] == "18000"
    agents = list(csv.reader(io.StringIO(client.get("/reports/agents.csv").get_data()
                                         .decode("utf-8"))))
    assert agents == [["Member", "Cases handled", "Cases escalated", "Escalation rate",
                       "Avoided escalations"], ["Alice Agent", "6", "4", "0.6667", "2"]]
    sla = list(csv.reader(io.StringIO(client.get("/reports/sla.csv?tier=2").get_data()
                                      .decode("utf-8"))))
    assert ["Tier target, L2 specialists", "2", "2", "1", "0.6667"] in sla
    assert client.get("/reports/breaches.csv").get_data().decode("utf-8").splitlines()[1] == \
        "L2 specialists,2,1"
    items = client.get("/reports/items.csv").get_data().decode("utf-8").splitlines()
    assert items[1].endswith(",3,1,0.75") and items[2] == "No catalog item,0,1,0.0"
    assert client.get("/reports/nothing.csv").status_code == 404
    assert client.get("/reports/inboxes.csv?start=bad").status_code == 422


def test_csv_in_swedish_is_utf8(client, login, owner, world, later):
    login(owner)  # prefers Swedish
    data = client.get("/reports/agents.csv").get_data()
    text = data.decode("utf-8")
    assert text.splitlines()[0] == "Medlem,Hanterade ärenden,Eskalerade ärenden," \
                                   "Eskaleringsgrad,Undvikna eskaleringar"
    assert text.splitlines()[1] == "Alice Agent,6,4,0.6667,2"  # numbers unformatted


def test_who_may_see_the_reports(client, login, agent, supervisor, world, later):
    login(agent)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/inboxes.csv").status_code == 403
    assert 'href="/reports"' not in text_of(client.get("/"))
    login(supervisor)
    assert 'href="/reports"' in text_of(client.get("/"))


def test_another_organisation_sees_only_its_own(client, login, outsider, world, later):
    login(outsider)  # an owner of the other organisation
    body = text_of(client.get("/reports"))
    assert "Hardware L2" not in body and "Alice Agent" not in body
    assert cells(body, "inbox", world.other_inbox.id)[2] == "1"
    assert cells(body, "inbox", "total")[2:6] == ["1", "0", "0", "1"]
    refused = client.get(f"/reports?inbox={world.desk.l2.id}")
    assert refused.status_code == 422 and "Hardware L2" not in text_of(refused)


def test_swedish_rendering(client, login, owner, world, later):
    login(owner)  # prefers Swedish
    body = text_of(client.get("/reports"))
    assert "<h1>Rapporter</h1>" in body and "4 oktober 2026 – 2 november 2026" in body
    assert cells(body, "clock", "tier-2") == ["Nivåmål, L2 specialister", "2", "1", "66,7\xa0%"]
    assert cells(body, "member", world.desk.agent.id)[3] == "66,7\xa0%"
    assert "En återeskalering är en eskalering" in body
    assert "Ladda ner som CSV" in body
