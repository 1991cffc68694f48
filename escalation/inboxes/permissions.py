"""Who may do what with escalation inboxes (issue 3's table). Small plain functions, tested
directly.

"Lead" below means the organisation roles owner, admin and supervisor; an "inbox owner" is a member
listed as one of an inbox's owners (``InboxOwner``), whatever their role.
"""
from ..models import Escalation, Inbox, InboxOwner, Member, QueueMember
from ..permissions import can_manage_org, is_staff_lead


def _same_org(member, obj) -> bool:
    return bool(member) and member.active and obj.organisation_id == member.organisation_id


def can_manage_inboxes(member) -> bool:
    """Create, edit and delete inboxes: admins and owners."""
    return can_manage_org(member)


def owned_inbox_ids(member) -> set[int]:
    """The live inboxes this member owns (none when the member is inactive)."""
    if not member or not member.active:
        return set()
    query = (InboxOwner.select(InboxOwner.inbox)
             .join(Inbox)
             .where((InboxOwner.member == member.id) & Inbox.deleted_at.is_null()
                    & (Inbox.organisation == member.organisation_id)))
    return {row.inbox_id for row in query}


def is_owner_of(member, inbox) -> bool:
    """An active member listed as an owner of this live inbox."""
    if inbox is None or not _same_org(member, inbox) or inbox.deleted_at is not None:
        return False
    return (InboxOwner.select().where((InboxOwner.inbox == inbox.id)
                                      & (InboxOwner.member == member.id)).exists())


def owns_case_inbox(member, case) -> bool:
    """An owner of the inbox the case is escalated into."""
    if case.inbox_id is None or not _same_org(member, case):
        return False
    return is_owner_of(member, Inbox.get_or_none(Inbox.id == case.inbox_id))


def has_history(member, case) -> bool:
    """The member escalated this case or was its agent when it was escalated (read-only access)."""
    if not _same_org(member, case):
        return False
    return (Escalation.select().where((Escalation.case == case.id)
                                      & ((Escalation.origin_agent == member.id)
                                         | (Escalation.escalated_by == member.id))).exists())


def can_escalate(member, case) -> bool:
    """The case's agent, or a lead; only open cases that are not already escalated."""
    if not _same_org(member, case) or case.inbox_id is not None:
        return False
    if case.status not in ("open", "waiting"):
        return False
    return case.assignee_id == member.id or is_staff_lead(member)


def can_escalate_selected(member) -> bool:
    """Escalating one or several cases from the threads view: leads."""
    return is_staff_lead(member)


def can_claim(member, inbox) -> bool:
    return is_owner_of(member, inbox)


def can_move(member, case, *, is_owner) -> bool:
    """Move to another inbox: an owner of the current inbox, or a lead."""
    return (_same_org(member, case) and case.inbox_id is not None
            and (is_owner or is_staff_lead(member)))


can_de_escalate = can_move


def holds_claim(member, case, now) -> bool:
    return case.is_claimed(now) and case.claimed_by_id == member.id


def can_release(member, case, now) -> bool:
    """Return a claimed case to its inbox: the claimant, or a lead."""
    return (_same_org(member, case) and case.inbox_id is not None and case.is_claimed(now)
            and (holds_claim(member, case, now) or is_staff_lead(member)))


def can_resolve(member, case, now) -> bool:
    """Resolve inside the inbox: the claimant, or a lead."""
    return (_same_org(member, case) and case.inbox_id is not None
            and case.status in ("open", "waiting")
            and (holds_claim(member, case, now) or is_staff_lead(member)))


def can_use_agent_view(member) -> bool:
    """Leads can switch to the agent's view and back."""
    return is_staff_lead(member)


def active_member_of_queue(member: Member | None, queue_id) -> bool:
    """Still an active member of the organisation and of that queue (de-escalation back to them)."""
    if member is None or not member.active or queue_id is None:
        return False
    return QueueMember.select().where((QueueMember.queue == queue_id)
                                      & (QueueMember.member == member.id)).exists()

