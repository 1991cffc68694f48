"""Concurrency of escalation inboxes, on SQLite and PostgreSQL, with real commits (issue 3).

- 8 owners, each in a process of its own with its own connection, claim from one inbox of 400
  cases for 20 rounds. Each round starts at the same moment for all of them (a barrier) and uses a
  clock past the previous round's claims, so every round claims all 400 again through lapsed
  claims: no case claimed twice, none lost, no error, nobody above the batch size, and every lapse
  recorded exactly once.
- Conflicting actions on one case at the same moment (claim, move, de-escalate, delete the inbox),
  each in a thread with its own connection: exactly one wins, the others get ``Conflict``, and the
  case's state equals what its events say.
"""
import multiprocessing
import threading
import traceback
from datetime import timedelta

import pytest
from peewee import Value, fn

from escalation.db import database
from escalation.errors import Conflict
from escalation.inboxes import service
from escalation.models import AuditEvent, Case, Claim, Escalation, Inbox

from .factories import NOW, make_case, make_contact, make_inbox, make_member, make_queue
from .test_inboxes_service import replay, route_of

OWNERS = 8
CASES = 400
ROUNDS = 20
BATCH = CASES // OWNERS
ASSIGNMENT_MINUTES = 5
BARRIER_TIMEOUT = 120


def round_clock(number):
    """Each round starts after every claim of the previous one has lapsed."""
    return NOW + timedelta(minutes=number * (ASSIGNMENT_MINUTES + 1))


def claim_rounds(url, owner_id, inbox_id, start, end, results):
    """One owner in a process of its own: claim at the start of each round."""
    from escalation.db import database as proxy
    from escalation.db import open_database
    from escalation.inboxes import service as inboxes
    from escalation.models import Inbox as InboxModel
    from escalation.models import Member
    proxy.initialize(open_database(url))
    with proxy.connection_context():
        owner = Member.get_by_id(owner_id)
        inbox = InboxModel.get_by_id(inbox_id)
        for number in range(ROUNDS):
            start.wait(BARRIER_TIMEOUT)
            try:
                claimed = [case.id for case in
                           inboxes.claim_batch(inbox, owner, now=round_clock(number))]
                results.put((number, owner_id, claimed, None))
            except Exception:  # noqa: BLE001 - every error is a failure the test reports
                results.put((number, owner_id, [], traceback.format_exc()))
            end.wait(BARRIER_TIMEOUT)


def seed_inbox(org):
    """400 escalated cases (mixed reply status and priority) in one inbox with 8 owners, written
    in bulk (the escalation itself is tested elsewhere): each with its open Escalation row."""
    agent = make_member(org, "agent")
    owners = [make_member(org, "agent") for _ in range(OWNERS)]
    queue = make_queue(org, members=[agent])
    inbox = make_inbox(org, owners=owners, batch_size=BATCH,
                       assignment_minutes=ASSIGNMENT_MINUTES)
    contact = make_contact(org)
    with database.atomic():
        Case.insert_many([
            {"organisation": org.id, "subject": f"Load {n}", "queue": queue.id,
             "requester": contact.id, "status": "open", "priority": 1 + n % 4,
             "reply_status": "needs_response" if n % 3 else "responded", "inbox": inbox.id,
             "waiting_since": NOW - timedelta(minutes=n), "created_at": NOW, "updated_at": NOW}
            for n in range(CASES)]).execute()
        Escalation.insert_from(
            Case.select(Case.organisation, Case.id, Case.inbox, Case.queue, Value(agent.id),
                        Value(agent.id), Value("Load"), Value(NOW))
            .where(Case.inbox == inbox.id),
            [Escalation.organisation, Escalation.case, Escalation.inbox, Escalation.origin_queue,
             Escalation.origin_agent, Escalation.escalated_by, Escalation.reason,
             Escalation.escalated_at]).execute()
        Case.update(escalation_id=Escalation.select(Escalation.id)
                    .where(Escalation.case == Case.id)).where(Case.inbox == inbox.id).execute()
    return inbox, owners


def test_eight_owners_claim_400_cases_for_20_rounds_in_separate_processes(db, db_url, org):
    inbox, owners = seed_inbox(org)
    all_ids = {c.id for c in Case.select(Case.id).where(Case.inbox == inbox.id)}
    assert len(all_ids) == CASES
    context = multiprocessing.get_context("spawn")
    start, end = context.Barrier(OWNERS + 1), context.Barrier(OWNERS + 1)
    results = context.Queue()
    workers = [context.Process(target=claim_rounds,
                               args=(db_url, owner.id, inbox.id, start, end, results))
               for owner in owners]
    for worker in workers:
        worker.start()
    try:
        for number in range(ROUNDS):
            start.wait(BARRIER_TIMEOUT)
            end.wait(BARRIER_TIMEOUT)
            outcome = [results.get(timeout=BARRIER_TIMEOUT) for _ in owners]
            check_round(number, outcome, all_ids, inbox)
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    assert Claim.select().count() == ROUNDS * CASES
    lapses = AuditEvent.select().where(AuditEvent.action == "escalation.claim_lapsed").count()
    assert lapses == (ROUNDS - 1) * CASES  # every lapsed claim recorded exactly once
    claimed = AuditEvent.select().where(AuditEvent.action == "escalation.claimed").count()
    assert claimed == ROUNDS * CASES


def check_round(number, outcome, all_ids, inbox):
    errors = [error for *_, error in outcome if error]
    assert not errors, errors[0]
    taken = [case_id for _, _, claimed, _ in outcome for case_id in claimed]
    assert len(taken) == len(set(taken)), f"round {number}: a case was claimed twice"
    assert set(taken) == all_ids, f"round {number}: {len(all_ids - set(taken))} cases lost"
    assert all(len(claimed) <= BATCH for _, _, claimed, _ in outcome)
    now = round_clock(number)
    held = {row.claimed_by_id: row.count for row in
            Case.select(Case.claimed_by, fn.COUNT(Case.id).alias("count"))
            .where((Case.inbox == inbox.id) & Case.claim_live_expr(now))
            .group_by(Case.claimed_by)}
    assert sum(held.values()) == len(all_ids) and max(held.values()) <= BATCH
    assert {owner for _, owner, claimed, _ in outcome if claimed} == set(held)
    assert Claim.select().where(Claim.ended_at.is_null()).count() == len(all_ids)


# ------------------------------------------------------------------------------------------------
# Conflicting actions on one case at the same moment

def run_at_once(actions):
    """Run each action in its own thread with its own connection, all released together.
    Returns {name: "won" | "conflict" | "lost"} (``lost``: a claim that found nothing)."""
    barrier = threading.Barrier(len(actions))
    outcome, failures = {}, []

    def run(name, action):
        try:
            with database.connection_context():
                barrier.wait(BARRIER_TIMEOUT)
                outcome[name] = "won" if action() is not False else "lost"
        except Conflict:
            outcome[name] = "conflict"
        except Exception:  # noqa: BLE001
            failures.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=item) for item in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT)
    assert not failures, failures[0]
    return outcome


@pytest.mark.parametrize("claim_kind", ["claim this case", "claim next"])
def test_conflicting_actions_on_one_case_exactly_one_wins(db, org, supervisor, admin, claim_kind):
    agent = make_member(org, "agent")
    owner = make_member(org, "agent")
    queue = make_queue(org, members=[agent])
    winners = {}
    for attempt in range(6):
        inbox = make_inbox(org, owners=[owner], batch_size=5)
        target = make_inbox(org, owners=[owner])
        case = make_case(org, queue, assignee=agent)
        service.escalate(case, inbox, agent, reason="Conflict test", now=NOW)
        seen = {name: Case.get_by_id(case.id) for name in ("claim", "move", "de_escalate")}
        token = service.deletion_token(list(service.cases_in(inbox)))
        now = NOW + timedelta(minutes=attempt)

        def claim():
            if claim_kind == "claim this case":
                return service.claim_case(seen["claim"], owner, now=now)
            return case.id in [c.id for c in service.claim_batch(inbox, owner, now=now)]

        outcome = run_at_once({
            "claim": claim,
            "move": lambda: service.move(seen["move"], target, supervisor, now=now),
            "de_escalate": lambda: service.de_escalate(seen["de_escalate"], supervisor, now=now,
                                                       to="agent"),
            "delete": lambda: service.delete_inbox(Inbox.get_by_id(inbox.id), admin, now=now,
                                                   expected=token),
        })
        won = [name for name, result in outcome.items() if result == "won"]
        assert len(won) == 1, outcome
        assert all(result in ("conflict", "lost") for name, result in outcome.items()
                   if name not in won), outcome
        winners[won[0]] = winners.get(won[0], 0) + 1
        row = Case.get_by_id(case.id)
        assert replay(row) == route_of(row)
        expected = {"claim": (inbox.id, owner.id), "move": (target.id, None),
                    "de_escalate": (None, None), "delete": (None, None)}[won[0]]
        assert (row.inbox_id, row.claimed_by_id) == expected
        assert Escalation.select().where((Escalation.case == case.id)
                                         & Escalation.ended_at.is_null()).count() \
            == (1 if row.inbox_id else 0)
        assert (Inbox.get_by_id(inbox.id).deleted_at is not None) == (won[0] == "delete")
    assert sum(winners.values()) == 6
