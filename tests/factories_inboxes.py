"""Factories for the escalation inboxes' tests (issue 3)."""
from datetime import timedelta

from escalation.inboxes import service
from escalation.models import Case

from .factories import NOW, make_case, make_queue


def make_agent_case(org, agent, queue=None, **fields):
    """A case with ``agent`` (a member of its queue) that needs a response."""
    queue = queue or make_queue(org, members=[agent])
    return make_case(org, queue, assignee=agent, **fields)


def make_escalated(org, inbox, actor, *, case=None, now=NOW, reason="Needs a specialist", **fields):
    """A case escalated into ``inbox`` by ``actor`` (its agent, or a lead)."""
    case = case or make_case(org, **fields)
    service.escalate(case, inbox, actor, reason=reason, now=now)
    return Case.get_by_id(case.id)


def later(minutes, start=NOW):
    return start + timedelta(minutes=minutes)
