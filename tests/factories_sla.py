"""Factories and helpers for the SLA area's tests."""
import json
from datetime import timedelta

import pytest

from escalation.cases import service as cases
from escalation.models import Case
from escalation.sla import events
from escalation.sla.models import Clock, LadderStep, SlaPolicy, SlaSettings, TierTarget

from .factories import NOW, make_contact, make_queue
from .factories_escalations import smtp_server  # noqa: F401  (the one SMTP fixture, re-exported)

HOUR = 3600
ALWAYS = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture(autouse=True)
def strict_sla(monkeypatch):
    """A bug in the SLA subscriptions fails the test instead of being logged."""
    monkeypatch.setattr(events, "STRICT", True)


@pytest.fixture
def app_ctx(app):
    """Sweeps render and send mail: they need the app (as ``flask sla sweep`` has)."""
    with app.app_context():
        yield app


def set_settings(org, **fields):
    hours = fields.pop("hours", None)
    if hours is not None:
        fields["hours_json"] = json.dumps(hours)
    row = SlaSettings.get_or_none(SlaSettings.organisation == org.id)
    if row is None:
        return SlaSettings.create(organisation=org, **fields)
    for key, value in fields.items():
        setattr(row, key, value)
    row.save()
    return row


def make_policy(org, priority=2, *, first=60, next_=120, resolution=8 * 60, active=True):
    return SlaPolicy.create(organisation=org, priority=priority, first_response_minutes=first,
                            next_response_minutes=next_, resolution_minutes=resolution,
                            active=active)


def make_tier_target(inbox, minutes):
    return TierTarget.create(organisation=inbox.organisation_id, inbox=inbox, target_minutes=minutes)


def make_step(org, *, policy=None, inbox=None, kind="resolution", position=0, percent=None,
              offset=None, action="notify_claimant"):
    return LadderStep.create(organisation=org, policy=policy, inbox=inbox,
                             clock_kind="tier" if inbox is not None else kind, position=position,
                             trigger="percent" if percent is not None else "after_breach",
                             percent=percent, offset_minutes=offset, action=action)


def new_case(org, agent, *, now=NOW, priority=2, requester=None, queue=None, **kwargs):
    """A case created the way the app creates it (so its clocks start from the event)."""
    queue = queue or make_queue(org, members=[agent])
    requester = requester or make_contact(org)
    return cases.create_case(agent, queue=queue, subject=kwargs.pop("subject", "Printer on fire"),
                             description="It is on fire.", priority=priority,
                             requester=requester, now=now, **kwargs)


def clock_of(case, kind):
    return (Clock.select().where((Clock.case == case.id) & (Clock.kind == kind))
            .order_by(Clock.id.desc()).first())


def clocks_of(case, kind):
    return list(Clock.select().where((Clock.case == case.id) & (Clock.kind == kind))
                .order_by(Clock.id))


def fresh(case):
    return Case.get_by_id(case.id)


def hours(n):
    return timedelta(hours=n)


def minutes(n):
    return timedelta(minutes=n)


def mail_to(smtp_server, address):
    """The messages ``smtp_server`` (factories_escalations) received for ``address``."""
    return [message for _recipients, message in smtp_server.messages if message["To"] == address]


def body_of(message):
    return message.get_body(("plain",)).get_content()
