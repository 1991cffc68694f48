""""Request more" under real concurrency: several threads, each with its own database connection,
take from one pool at the same time, round after round, on SQLite and PostgreSQL. No case is
given twice, none is lost, no batch is larger than asked, and no thread sees a database error."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from escalation.cases import service
from escalation.db import database
from escalation.models import AuditEvent, Case

from . import factories
from .factories import NOW

WORKERS = 6
POOL = 60
BATCH = 4
ROUNDS = 3


def _take_until_empty(member, barrier):
    """One agent pressing "Request more" until nothing is left, on its own connection."""
    batches = []
    barrier.wait()
    with database.connection_context():
        while True:
            taken = service.request_more(member, now=NOW, batch_size=BATCH)
            if not taken:
                return batches
            batches.append([case.id for case in taken])


def _round(org, queues, agents):
    contact = factories.make_contact(org)
    pool = [factories.make_case(org, queues[i % len(queues)], requester=contact,
                                priority=1 + i % 4, created_at=NOW - timedelta(minutes=i))
            for i in range(POOL)]
    database.close()  # the test's own connection holds nothing while the workers run
    barrier = threading.Barrier(len(agents))
    with ThreadPoolExecutor(max_workers=len(agents)) as executor:
        futures = {agent.id: executor.submit(_take_until_empty, agent, barrier) for agent in agents}
        results = {agent_id: future.result(timeout=120) for agent_id, future in futures.items()}
    database.connect(reuse_if_open=True)
    return {case.id for case in pool}, results


def test_request_more_never_gives_a_case_twice(db, org, backend):
    agents = [factories.make_member(org, "agent") for _ in range(WORKERS)]
    # Two queues: half the agents work both, half only the first; every case is reachable.
    first = factories.make_queue(org, members=agents)
    second = factories.make_queue(org, members=agents[: WORKERS // 2])
    for _ in range(ROUNDS):
        pool, results = _round(org, [first, second], agents)
        given = Counter(case_id for batches in results.values() for batch in batches
                        for case_id in batch)
        assert set(given) == pool, "every case of the pool was given to someone"
        assert max(given.values()) == 1, "no case was given twice"
        assert all(1 <= len(batch) <= BATCH for batches in results.values() for batch in batches)
        holders = {case.id: case.assignee_id
                   for case in Case.select().where(Case.id.in_(list(pool)))}
        for agent_id, batches in results.items():
            for batch in batches:
                assert all(holders[case_id] == agent_id for case_id in batch)
        events = Counter(e.case_id for e in AuditEvent.select().where(
            (AuditEvent.action == "case.assigned") & AuditEvent.case.in_(list(pool))))
        assert events == Counter({case_id: 1 for case_id in pool})
    assert Case.select().where(Case.assignee.is_null()).count() == 0
