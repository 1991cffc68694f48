"""Who may administer what: small plain functions, tested directly. Views answer 403 when they
say no; the services check them again."""
from ..models import ROLE_RANK, ROLES
from ..permissions import can_assign_role, can_manage_org


def can_administer(member) -> bool:
    """The admin area (members, queues, organisation settings): owners and admins."""
    return can_manage_org(member)


def can_manage_member(actor, member) -> bool:
    """Change, deactivate or reactivate a member of the actor's organisation whose role is not
    above the actor's own (an admin cannot touch an owner)."""
    return (can_administer(actor) and member.organisation_id == actor.organisation_id
            and ROLE_RANK.get(member.role, 0) <= ROLE_RANK[actor.role])


def grantable_roles(actor) -> list[str]:
    """The roles the actor may give: their own and those below it."""
    return [role for role in ROLES if can_assign_role(actor, role)]
