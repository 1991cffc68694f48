"""What the breach ladder and confirmed resolution ask of the areas that own a case's route and
status. They go through those areas' services, so history rows and events stay theirs."""
from ..models import Case, Escalation, Inbox


def release(case, *, now):
    from ..inboxes import service as inboxes
    inboxes.release(case, None, now=now, reason="")


def escalate_to(case, inbox, *, now):
    from ..inboxes import service as inboxes
    if case.inbox_id is None:
        inboxes.escalate(case, inbox, None, reason="SLA", now=now)
    else:
        inboxes.move(case, inbox, None, reason="", now=now)


def resolve(case, actor, *, now, note):
    if case.inbox_id is not None and case.status in ("open", "waiting") \
            and _open_escalation(case):
        from ..inboxes import service as inboxes
        inboxes.resolve_in_inbox(case, actor, now=now, note=note)
    else:
        from ..cases import service as cases
        cases.change_status(case, actor, status="resolved", now=now, note=note)


def reply(case, actor, *, body, now):
    from ..cases import service as cases
    return cases.reply(case, actor, body=body, now=now)


def close(case, *, now):
    from ..cases import service as cases
    cases.change_status(case, None, status="closed", now=now)


def record_answer(case, contact, *, body, now):
    from ..cases import service as cases
    return cases.record_inbound(case, body=body, now=now, contact=contact)


def claim_for(case, member, *, now):
    from ..inboxes import service as inboxes
    inboxes.claim_case(case, member, now=now)


def _open_escalation(case):
    return Escalation.select().where((Escalation.id == case.escalation_id)
                                     & Escalation.ended_at.is_null()).exists()


def next_inbox(case):
    """The next inbox of the case's escalation path (its catalog item's, from the escalation
    packet), else the organisation's first inbox of the next tier up."""
    current = Inbox.get_or_none(Inbox.id == case.inbox_id) if case.inbox_id else None
    path = _path_of(case)
    if path:
        ids = [inbox.id for inbox in path]
        if current is None:
            return path[0]
        if current.id in ids and ids.index(current.id) + 1 < len(ids):
            return path[ids.index(current.id) + 1]
    tier = current.tier if current is not None else _queue_tier(case)
    return (Inbox.for_org(case.organisation_id).where(Inbox.tier > tier)
            .order_by(Inbox.tier, Inbox.id).first())


def _queue_tier(case):
    from ..models import Queue
    return Queue.select(Queue.tier).where(Queue.id == case.queue_id).scalar() or 1


def _path_of(case):
    try:
        from ..escalations.models import EscalationPacket, PathStep
    except ImportError:
        return []
    packet = EscalationPacket.latest_for(case.id)
    if packet is None or packet.item_id is None:
        return []
    return [step.inbox for step in PathStep.path_of(packet.item_id)]


def packet_of(case):
    """The latest escalation packet's data, if the escalation form area keeps one."""
    try:
        from ..escalations.models import EscalationPacket
    except ImportError:
        return None
    return EscalationPacket.latest_for(case.id if isinstance(case, Case) else case)
