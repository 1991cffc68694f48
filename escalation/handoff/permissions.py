"""Who may do what with work sessions, handoff codes and the routing directory. Plain functions,
tested directly; views answer 403 when they say no.

Handing a case over follows who *holds* it (``holder``):
- an escalated case is held by the owner with a live claim (nobody, while unclaimed);
- any other case by its assignee (nobody, while in its queue's pool).
"""
from ..models import Escalation, InboxOwner, QueueMember
from ..permissions import can_manage_org, can_view_case, can_work_case, is_staff_lead


def owns_inbox(member, inbox_id) -> bool:
    if inbox_id is None:
        return False
    return InboxOwner.select().where((InboxOwner.inbox == inbox_id)
                                     & (InboxOwner.member == member.id)).exists()


def in_queue(member, queue_id) -> bool:
    return QueueMember.select().where((QueueMember.queue == queue_id)
                                      & (QueueMember.member == member.id)).exists()


def has_history(member, case) -> bool:
    """The member escalated the case, or it came from their queue work."""
    return Escalation.select().where(
        (Escalation.case == case.id)
        & ((Escalation.origin_agent == member.id) | (Escalation.escalated_by == member.id))
    ).exists()


def may_view_case(member, case) -> bool:
    if case.organisation_id != member.organisation_id or not member.active:
        return False
    inbox_owner = owns_inbox(member, case.inbox_id)
    return can_view_case(member, case, is_inbox_owner=inbox_owner,
                         has_history=(not inbox_owner and case.inbox_id is not None
                                      and has_history(member, case)))


def may_work_case(member, case, now=None) -> bool:
    """Run the case's work session: whoever may reply to and note on the case."""
    if case.status not in ("open", "waiting"):
        return False
    return can_work_case(member, case, is_inbox_owner=owns_inbox(member, case.inbox_id), now=now)


def holder_id(case, now):
    """The member who holds the case now, or None."""
    if case.inbox_id is not None:
        return case.claimed_by_id if case.is_claimed(now) else None
    return case.assignee_id


def may_issue_code(member, case, now) -> bool:
    """The case's holder; when nobody holds it, anyone who may work it; and leads."""
    if not may_work_case(member, case, now):
        return False
    current = holder_id(case, now)
    return current in (None, member.id) or is_staff_lead(member)


def may_take_over(member, case) -> bool:
    """Redeem a code for this case: an active member of its organisation who may work on its
    queue (a member of the queue, or a lead) or, while escalated, its inbox (an owner of it: the
    claim passes to the redeemer, and only an inbox's owners hold its claims)."""
    if case.organisation_id != member.organisation_id or not member.active:
        return False
    if case.status not in ("open", "waiting"):
        return False
    if case.inbox_id is not None:
        return owns_inbox(member, case.inbox_id)
    return is_staff_lead(member) or in_queue(member, case.queue_id)


def may_curate(member) -> bool:
    """Checklists, the routing directory and handoff settings: owners and admins."""
    return can_manage_org(member)


def may_use_directory(member) -> bool:
    return bool(member) and member.active


def may_escalate(member, case) -> bool:
    """Escalate into an inbox: the inboxes area's rule where it is installed (the case's agent or a
    lead, open and not yet escalated)."""
    try:
        from ..inboxes.permissions import can_escalate
    except ImportError:  # pragma: no cover - the inboxes area is part of the app
        return False
    return can_escalate(member, case)
