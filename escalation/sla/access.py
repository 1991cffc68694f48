"""Who may see and do what in the SLA area (small functions, tested directly)."""
from ..permissions import can_manage_org, can_view_case, can_work_case, is_staff_lead


def _owner_and_history(member, case):
    if case.inbox_id is None or is_staff_lead(member):
        return False, False
    from ..cases.service import has_escalation_history, is_inbox_owner
    owner = is_inbox_owner(member, case)
    return owner, (not owner and has_escalation_history(member, case))


def may_view(member, case) -> bool:
    owner, history = _owner_and_history(member, case)
    return can_view_case(member, case, is_inbox_owner=owner, has_history=history)


def may_work(member, case, now) -> bool:
    owner, history = _owner_and_history(member, case)
    return can_view_case(member, case, is_inbox_owner=owner, has_history=history) \
        and can_work_case(member, case, is_inbox_owner=owner, now=now)


def may_configure(member) -> bool:
    """Policies, business hours, ladders, canned responses: owners and admins."""
    return can_manage_org(member)


def may_see_reports(member) -> bool:
    return is_staff_lead(member)


def may_write_articles(member) -> bool:
    return bool(member) and member.active
