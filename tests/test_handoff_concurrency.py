"""Handoff codes under concurrency, on SQLite and PostgreSQL, with real commits:

- 16 redemptions of one code at once (threads, each with its own connection): exactly one wins,
  in repeated trials;
- the attempt limits hold across two app instances in separate processes (two "workers"), and
  across many members at once for the organisation's limit.
"""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from escalation.clock import utcnow
from escalation.db import database
from escalation.errors import Invalid, Throttled
from escalation.handoff import service
from escalation.handoff.models import HandoffAttempt, HandoffCode, HandoffNotice
from escalation.models import AuditEvent, Case

from .factories import make_member, make_queue
from .factories_handoff import SECRET, make_worked_case

ROOT = Path(__file__).resolve().parent.parent
TRIALS = 3
RACERS = 16


def run_at_once(workers):
    """Run each callable in its own thread with its own connection, all released together.
    Returns their results (or the exceptions they raised), in order."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(index, work):
        database.connect(reuse_if_open=True)
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # noqa: BLE001 - the outcome is the result
            results[index] = exc
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sixteen_redemptions_of_one_code_have_exactly_one_winner(db, org, agent, trial):
    racers = [make_member(org, "agent") for _ in range(RACERS)]
    queue = make_queue(org, members=[agent, *racers])
    case = make_worked_case(org, agent, queue=queue)
    now = utcnow()
    code, plain = service.issue_code(case, agent, secret_key=SECRET, now=now)
    database.close()  # the test's own connection holds nothing while the threads run

    results = run_at_once([
        (lambda member=member: service.redeem_code(plain, member, secret_key=SECRET, now=now))
        for member in racers])

    database.connect(reuse_if_open=True)
    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, Invalid)]
    assert len(winners) == 1, results
    assert len(losers) == RACERS - 1, results
    winner = winners[0]
    assert Case.get_by_id(case.id).assignee_id == winner.assignee_id
    assert HandoffCode.get_by_id(code.id).redeemed_by_id == winner.assignee_id
    assert AuditEvent.select().where(AuditEvent.action == "handoff.redeemed").count() == 1
    assert HandoffNotice.select().where(HandoffNotice.kind == "taken_over").count() == 1
    assert HandoffAttempt.select().count() == RACERS - 1


def test_the_organisation_limit_holds_when_many_guess_at_once(db, org, admin):
    guessers = [make_member(org, "agent") for _ in range(11)]
    now = utcnow()
    database.close()

    def guess_ten(member):
        outcomes = []
        for _ in range(10):
            try:
                service.check_code("BBBB-BBBB", member, secret_key=SECRET, now=now)
            except (Invalid, Throttled) as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    results = run_at_once([(lambda m=m: guess_ten(m)) for m in guessers])
    database.connect(reuse_if_open=True)
    flat = [outcome for outcomes in results for outcome in outcomes]
    assert flat.count("Invalid") == service.ORG_FAILURES_PER_HOUR
    assert flat.count("Throttled") == 110 - service.ORG_FAILURES_PER_HOUR
    assert HandoffAttempt.select().count() == service.ORG_FAILURES_PER_HOUR
    assert AuditEvent.select().where(AuditEvent.action == "handoff.redemption_paused").count() == 1
    assert HandoffNotice.select().where(HandoffNotice.member == admin).count() == 1


WORKER = r"""
import json, sys
from escalation import create_app
from tests.conftest import AuthActions, Client
url, email, attempts = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret-key"})
app.test_client_class = Client
client = app.test_client()
from escalation.models import Member, User
from escalation.db import database
with database.connection_context():
    member = Member.select().join(User).where(User.email == email).get()
AuthActions(client).login(member)
print("ready", flush=True)
sys.stdin.readline()  # wait until both workers are signed in
statuses = [client.post("/handoff/redeem", data={"code": "BBBB-BBBB"}).status_code
            for _ in range(attempts)]
print(json.dumps(statuses), flush=True)
"""


def test_the_member_limit_holds_across_two_workers(db, db_url, org, agent):
    """Two app instances in two processes (as two gunicorn workers), one member guessing in both
    at the same time: exactly the limit of failures is let through, the rest are refused."""
    database.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, db_url, agent.user.email, "8"],
                                cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for worker in workers:
            line = worker.stdout.readline()
            assert line.strip() == "ready", worker.stderr.read()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    statuses = [s for out, err in outputs for s in json.loads(out.strip().splitlines()[-1])]
    assert statuses.count(422) == service.MEMBER_FAILURES_PER_HOUR, (statuses, outputs[0][1][-2000:])
    assert statuses.count(429) == 16 - service.MEMBER_FAILURES_PER_HOUR
    database.connect(reuse_if_open=True)
    assert HandoffAttempt.select().count() == service.MEMBER_FAILURES_PER_HOUR
