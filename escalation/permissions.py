"""Who may do what: small plain functions, tested directly. Views call them and answer 403."""
from .clock import utcnow
from .models import ROLE_RANK


def at_least(member, role: str) -> bool:
    return bool(member) and member.active and ROLE_RANK.get(member.role, 0) >= ROLE_RANK[role]


def is_staff_lead(member) -> bool:
    """Owners, admins and supervisors: the threads view of everything."""
    return at_least(member, "supervisor")


def can_manage_org(member) -> bool:
    """Owners and admins: members, queues, inboxes, the routing directory."""
    return at_least(member, "admin")


def can_assign_role(member, role: str) -> bool:
    """Nobody grants a role above their own."""
    return can_manage_org(member) and ROLE_RANK[role] <= ROLE_RANK[member.role]


def can_view_case(member, case, *, is_inbox_owner=False, has_history=False) -> bool:
    if case.organisation_id != member.organisation_id or not member.active:
        return False
    if is_staff_lead(member):
        return True
    if case.inbox_id is not None:
        return is_inbox_owner or has_history
    return True


def can_work_case(member, case, *, is_inbox_owner=False, now=None) -> bool:
    """Reply, note and change status: the case's agent, whoever holds its claim, or a lead.
    Agents may also work unassigned pool cases of their organisation (a phone call). An
    escalated case is worked by the inbox owner who holds its claim: another owner claims it
    first ("Claim this case")."""
    if case.organisation_id != member.organisation_id or not member.active:
        return False
    if is_staff_lead(member):
        return True
    if case.inbox_id is not None:
        return (is_inbox_owner and case.claimed_by_id == member.id
                and case.is_claimed(now or utcnow()))
    return case.assignee_id in (None, member.id)


def can_reassign(member) -> bool:
    return at_least(member, "supervisor")
