#!/usr/bin/env python3
"""Seed a benchmark database: N cases with realistic timelines, fast.

    .venv/bin/python bench/seed.py --url sqlite:///bench/results/cache/x.db --cases 100000
    .venv/bin/python bench/seed.py --url postgresql://postgres@127.0.0.1:5432/eskalera_bench --cases 100000

The schema is built by the project's own migrations (``escalation.migrations.run``); the small
tables (organisation, users, members, queues, inboxes) are written through the models, the large
ones (contacts, cases, messages, audit events, escalations, claims) in bulk: ``executemany`` in
batches inside one transaction on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL. Column names come
from the models, so a renamed column fails loudly instead of seeding the wrong thing.

The shape of the data (deterministic for a given ``--seed``):
- one organisation "Bench Desk" (plus a small second organisation, so every query must scope);
- 20 queues, 50 agents (each in 2-3 queues), an owner, an admin, a supervisor;
- 12 escalation inboxes with 16 inbox owners (3 per inbox; the first inbox has 8 owners: the
  claim-next benchmark's owners); 10 000 escalated cases over them (some claimed, some lapsed);
- cases arrive at a steady rate (274 a day: 100 000 is a year), so a bigger table is a longer
  history, not a bigger backlog: old cases are closed, recent ones open/waiting/resolved;
- timelines: inbound and outbound messages, internal notes and audit events, interleaved in time;
- one case with a 200-entry timeline (the case page benchmark).

Everyone signs in with the password ``BENCH_PASSWORD``. ``seed()`` returns a manifest (JSON-able)
naming the sign-ins, ids and URLs parameters the runner needs.
"""
import argparse
import io
import json
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from peewee import PostgresqlDatabase  # noqa: E402

from escalation import migrations  # noqa: E402
from escalation.clock import utcnow  # noqa: E402
from escalation.db import database as proxy  # noqa: E402
from escalation.db import open_database  # noqa: E402
from escalation.models import (AuditEvent, Case, Claim, Contact, Escalation, Inbox,  # noqa: E402
                               InboxOwner, Member, Message, Organisation, Queue, QueueMember, User)

BENCH_PASSWORD = "bench-password-2026"
SEED_VERSION = 4  # bump when the shape of the data changes (invalidates cached databases)

CASES_PER_DAY = 274
N_QUEUES = 20
N_AGENTS = 50
N_INBOXES = 12
N_INBOX_OWNERS = 16
N_CLAIM_OWNERS = 8
BIG_TIMELINE = 200

FIRST = ["Anna", "Lars", "Karin", "Erik", "Maria", "Johan", "Eva", "Per", "Sara", "Nils", "Emma",
         "Olof", "Lena", "Ahmed", "Fatima", "John", "Linda", "Mikael", "Sofia", "Jonas", "Ida",
         "Oskar", "Elin", "Ali", "Hanna", "Viktor", "Maja", "Gustav", "Amira", "Sven"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Hassan", "Smith", "Lind",
        "Berg", "Lindqvist", "Holm", "Sandberg", "Magnusson"]
SUBJECTS = [
    "Skrivaren på plan {n} skriver inte ut", "VPN kopplar ner var tionde minut",
    "Ny mus till {name}", "Kan inte logga in i lönesystemet", "Mobilen startar om hela tiden",
    "Outlook synkar inte kalendern", "Laptop overheating during meetings",
    "Cannot reach the shared drive", "Screen flickers on the docking station",
    "Request for a second monitor", "Teams audio drops", "Password reset loop",
    "Fakturan för {n} saknas", "Beställning {n} har inte kommit", "Refund for order {n}",
    "Byte av adress", "Vill avsluta mitt abonnemang", "Question about invoice {n}",
    "Appen kraschar vid inloggning", "Wrong item delivered",
]
QUEUE_NAMES = ["Servicedesk", "Texting campaign replies", "Hardware L2", "Billing", "Returns",
               "Onboarding", "Network", "Printers", "Mobile", "Accounts", "Payroll", "Facilities",
               "Security", "Licenses", "Shipping", "Complaints", "VIP", "Spanish speaking",
               "Arabic speaking", "After hours"]
INBOX_NAMES = ["Claim bench", "Hardware repairs", "Refund approvals", "Legal", "Security incidents",
               "Spanish speakers", "Arabic speakers", "Vendor L4", "Network engineers",
               "Payroll specialists", "Complaints team", "VIP desk"]
WORDS = ("hej tack problem skrivare dator inloggning lösenord faktura order leverans paket "
         "telefon app fel meddelande igen fortfarande fungerar inte hjälp snälla idag imorgon "
         "the printer still does not work since yesterday could you please help me with my "
         "account invoice refund delivery screen laptop network cable restart tried already "
         "colleague office floor building badge access request urgent when possible thanks").split()


_TEXTS = {}


def _text(rng, low, high):
    """A message-like text of ``low``..``high`` words, from a pool made once (generating each
    text word by word would dominate the seeding time)."""
    pool = _TEXTS.get((low, high))
    if pool is None:
        maker = random.Random(low * 1000 + high)
        pool = _TEXTS[(low, high)] = [
            " ".join(maker.choice(WORDS) for _ in range(maker.randint(low, high))).capitalize() + "."
            for _ in range(997)]
    return pool[int(rng.random() * len(pool))]


# ---------------------------------------------------------------------------------------------
# Bulk writing


class Bulk:
    """Append rows (tuples in the order of ``fields``) per model; flush in batches."""

    def __init__(self, db, batch=20000):
        self.db = db
        self.batch = batch
        self.pg = isinstance(db, PostgresqlDatabase)
        self.rows = {}
        self.columns = {}
        self.counts = {}

    def table(self, model, fields):
        self.columns[model] = [model._meta.fields[name].column_name for name in fields]
        self.rows[model] = []
        self.counts[model] = 0

    def add(self, model, row):
        self.rows[model].append(row)

    def maybe_flush(self):
        """Flush every table (in the order they were declared, so foreign keys hold) once any
        has a full batch. Call between whole cases, never in the middle of one."""
        if any(len(rows) >= self.batch for rows in self.rows.values()):
            self.flush()

    def flush(self):
        for m in list(self.rows):
            rows = self.rows[m]
            if not rows:
                continue
            (self._copy if self.pg else self._executemany)(m, rows)
            self.counts[m] += len(rows)
            self.rows[m] = []

    def _executemany(self, model, rows):
        cols = self.columns[model]
        sql = (f'INSERT INTO "{model._meta.table_name}" ({", ".join(f"{c}" for c in cols)}) '
               f'VALUES ({", ".join("?" for _ in cols)})')
        self.db.connection().executemany(
            sql, [tuple(str(v) if v.__class__ is datetime else v for v in row) for row in rows])

    def _copy(self, model, rows):
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_text(v) for v in row))
            buffer.write("\n")
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in self.columns[model])
        with self.db.connection().cursor() as cursor:
            cursor.copy_expert(f'COPY "{model._meta.table_name}" ({cols}) FROM STDIN', buffer)


def _sqlite(value):
    if isinstance(value, datetime):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _copy_text(value):
    cls = value.__class__
    if cls is int or cls is datetime:
        return str(value)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float, datetime)):
        return str(value)
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


# ---------------------------------------------------------------------------------------------
# The seed


def seed(url, n_cases=100_000, *, escalated=10_000, rng_seed=1, progress=print, now=None,
         unobserved_lapses=2):
    """Seed the (empty) database at ``url``; return the manifest. ``now`` is the seed's present:
    the newest case arrives just before it and live claims run from it (the runner moves live
    claims forward when it reuses a cached database later)."""
    started = time.monotonic()
    now = now or utcnow()
    db = open_database(url)
    migrations.run(db)
    proxy.initialize(db)
    rng = random.Random(rng_seed)
    pg = isinstance(db, PostgresqlDatabase)
    with db.connection_context():
        if not pg:
            # Seeding only: a rollback journal (one big transaction in WAL would write every page
            # twice), no fsync. WAL is switched back on at the end; the app sets FULL itself.
            db.execute_sql("PRAGMA journal_mode=DELETE")
            db.execute_sql("PRAGMA synchronous=OFF")
            db.execute_sql("PRAGMA cache_size=-200000")
        with db.atomic():
            if not pg:  # rows of one case go to several tables; check references at commit
                db.execute_sql("PRAGMA defer_foreign_keys=ON")
            else:
                # A bulk load: skip the per-row foreign-key triggers (the seed writes consistent
                # references; on SQLite they are checked at commit). Needs a superuser, as the
                # benchmark's local server has.
                db.execute_sql("SET LOCAL session_replication_role = replica")
            manifest = _seed(db, rng, n_cases, escalated, progress, now)
        if pg:
            for model in (Organisation, User, Member, Queue, QueueMember, Contact, Inbox,
                          InboxOwner, Case, Message, AuditEvent, Escalation, Claim):
                table = model._meta.table_name
                db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")
            settled = settle_lapsed_claims(db, now, keep_per_inbox=unobserved_lapses)
            db.execute_sql("VACUUM ANALYZE")  # what autovacuum would have done by now
        else:
            settled = settle_lapsed_claims(db, now, keep_per_inbox=unobserved_lapses)
            db.execute_sql("PRAGMA journal_mode=WAL")
        progress(f"  lapsed claims settled as observed: {settled}")
    db.close()
    manifest.update(url=url, cases=n_cases, seed_version=SEED_VERSION,
                    migrations=migrations.available(), seconds=round(time.monotonic() - started, 1))
    return manifest


def _seed(db, rng, n_cases, n_escalated, progress, now):
    from escalation.auth.service import hash_password
    password_hash = hash_password(BENCH_PASSWORD)  # one scrypt hash, shared: same password

    org = Organisation.create(name="Bench Desk", slug="bench", default_locale="sv",
                              timezone="Europe/Stockholm", created_at=now - timedelta(days=3650))
    other = Organisation.create(name="Other Org", slug="bench-other", default_locale="en",
                                created_at=now - timedelta(days=3650))

    def member(email, name, role, locale, organisation=org):
        user = User.create(email=email, name=name, password_hash=password_hash, locale=locale,
                           created_at=now - timedelta(days=3000))
        return Member.create(organisation=organisation, user=user, role=role,
                             created_at=now - timedelta(days=3000))

    owner = member("owner@bench.test", "Olga Owner", "owner", "sv")
    admin = member("admin@bench.test", "Adam Admin", "admin", "en")
    supervisor = member("supervisor@bench.test", "Stina Supervisor", "supervisor", "sv")
    agents = [member(f"agent{i:02d}@bench.test", f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
                     "agent", "sv" if i % 3 else "en") for i in range(1, N_AGENTS + 1)]
    inbox_owners = [member(f"inboxowner{i:02d}@bench.test", f"Inbox Owner {i:02d}", "agent",
                           "sv" if i % 2 else "en") for i in range(1, N_INBOX_OWNERS + 1)]
    other_agents = [member(f"other{i}@bench.test", f"Other {i}", "agent", "en", other)
                    for i in range(1, 4)]

    queues = [Queue.create(organisation=org, name=name, tier=1 + (i % 3 == 2),
                           created_at=now - timedelta(days=3000))
              for i, name in enumerate(QUEUE_NAMES[:N_QUEUES])]
    other_queues = [Queue.create(organisation=other, name=f"Other queue {i}") for i in (1, 2)]
    queue_agents = {q.id: [] for q in queues}
    for index, agent in enumerate(agents):
        for k in range(2 + index % 2):
            queue = queues[(index + k * 7) % N_QUEUES]
            queue_agents[queue.id].append(agent)
    for index, agent in enumerate(inbox_owners):  # inbox owners work a queue too
        queue_agents[queues[index % N_QUEUES].id].append(agent)
    QueueMember.insert_many([{"queue": qid, "member": m.id} for qid, ms in queue_agents.items()
                             for m in ms]).execute()
    QueueMember.insert_many([{"queue": q.id, "member": m.id} for q in other_queues
                             for m in other_agents]).execute()

    inboxes = [Inbox.create(organisation=org, name=name, description=f"Escalations: {name}.",
                            tier=2 + i % 3, batch_size=5, assignment_minutes=60,
                            created_at=now - timedelta(days=1000))
               for i, name in enumerate(INBOX_NAMES[:N_INBOXES])]
    inbox_owner_map = {inboxes[0].id: inbox_owners[:N_CLAIM_OWNERS]}
    for i, inbox in enumerate(inboxes[1:], start=1):
        inbox_owner_map[inbox.id] = [inbox_owners[(i * 3 + k) % N_INBOX_OWNERS] for k in range(3)]
    InboxOwner.insert_many([{"inbox": iid, "member": m.id} for iid, ms in inbox_owner_map.items()
                            for m in ms]).execute()
    progress(f"  people, queues and inboxes: {len(agents)} agents, {len(queues)} queues, "
             f"{len(inboxes)} inboxes")

    bulk = Bulk(db)
    bulk.table(Contact, ["id", "organisation", "name", "email", "phone", "locale", "created_at"])
    bulk.table(Case, ["id", "organisation", "subject", "requester", "requested_for", "queue",
                      "assignee", "status", "reply_status", "priority", "inbox", "escalation_id",
                      "claimed_by", "claim_expires_at", "waiting_since", "created_at",
                      "updated_at", "version"])
    # Declared in foreign-key order: flush writes them in this order.
    bulk.table(Escalation, ["id", "organisation", "case", "inbox", "origin_queue", "origin_agent",
                            "from_inbox", "escalated_by", "reason", "escalated_at", "ended_at",
                            "end_reason", "ended_by"])
    bulk.table(Claim, ["id", "organisation", "escalation", "case", "member", "claimed_at",
                       "expires_at", "ended_at", "end_reason"])
    bulk.table(Message, ["id", "organisation", "case", "kind", "body", "author", "contact",
                         "created_at"])
    bulk.table(AuditEvent, ["id", "organisation", "case", "actor", "action", "subject_type",
                            "subject_id", "data_json", "created_at"])
    ids = {model: 0 for model in (Contact, Message, AuditEvent, Escalation, Claim)}

    def next_id(model):
        ids[model] += 1
        return ids[model]

    # Contacts: one per ~5 cases, at least 1000.
    n_contacts = max(1000, n_cases // 5)
    for cid in range(1, n_contacts + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        bulk.add(Contact, (cid, org.id, f"{first} {last}", f"{first}.{last}.{cid}@example.test".lower(),
                           f"+46 70 {cid:07d}" if cid % 3 == 0 else None, rng.choice(("sv", "en", None)),
                           now - timedelta(days=3650)))
    ids[Contact] = n_contacts

    span_days = n_cases / CASES_PER_DAY
    start = now - timedelta(days=span_days)
    # Escalated cases come from the recent quarter of the history (at most the last 40 000 cases).
    recent = min(n_cases, max(n_escalated * 3, 40_000))
    escalated_ids = set(rng.sample(range(n_cases - recent + 1, n_cases + 1), min(n_escalated, recent)))
    # The 200-entry case: a recent, open case with agent01, not escalated.
    big_case_id = max(set(range(n_cases - 50, n_cases + 1)) - escalated_ids)
    inbox_weights = [0.25] + [0.75 / (N_INBOXES - 1)] * (N_INBOXES - 1)
    held = {}  # (inbox, owner) -> live claims, kept below the batch size

    def event(case_id, actor, action, at, subject=None, **data):
        bulk.add(AuditEvent, (next_id(AuditEvent), org.id, case_id, actor, action,
                              type(subject).__name__.lower() if subject else ("case" if case_id else ""),
                              getattr(subject, "id", case_id), json.dumps(data, sort_keys=True), at))

    # Places in event data, as the app writes them ("from"/"to" with the names as they were).
    def queue_ref(q):
        return {"queue_id": q.id, "queue": q.name}

    def inbox_ref(i):
        return {"inbox_id": i.id, "inbox": i.name}

    def member_ref(m):
        return {"member_id": m.id, "member": m.user.name} if m is not None else {}

    for case_id in range(1, n_cases + 1):
        created = start + timedelta(days=span_days * (case_id - 1) / n_cases,
                                    seconds=rng.randint(0, 300))
        age = (now - created).total_seconds() / 86400
        queue = queues[min(int(rng.paretovariate(1.2)) - 1, N_QUEUES - 1) if rng.random() < 0.5
                       else rng.randrange(N_QUEUES)]
        agent = rng.choice(queue_agents[queue.id]) if queue_agents[queue.id] else None
        requester = rng.randint(1, n_contacts)
        requested_for = rng.randint(1, n_contacts) if rng.random() < 0.1 else None
        priority = rng.choices((1, 2, 3, 4), (20, 50, 22, 8))[0]
        is_escalated = case_id in escalated_ids
        big = case_id == big_case_id
        if big:
            queue = next(q for q in queues if agents[0] in queue_agents[q.id])
            agent, status, reply, assignee = agents[0], "open", "needs_response", agents[0]
        elif is_escalated:
            status = "resolved" if rng.random() < 0.08 else "open"
            reply = ("closed" if status == "resolved"
                     else "needs_response" if rng.random() < 0.6 else "responded")
            assignee = None
        else:
            status = _status_for_age(rng, age)
            reply = ("closed" if status in ("resolved", "closed") else "responded"
                     if status == "waiting" else rng.choice(("needs_response", "needs_response",
                                                              "responded")))
            assignee = agent if rng.random() < 0.8 or status in ("resolved", "closed") else None
        actor = assignee.id if assignee else (agent.id if agent else None)

        # Timeline: messages in/out alternating, notes, status events, spread after `created`.
        t = created
        exchanges = BIG_TIMELINE if big else rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5, 6))
        end_with_in = reply == "needs_response"
        limit = now - timedelta(minutes=5)
        step = max(60, int(min(age, 20) * 86400 / (exchanges * 3 + 2)))
        event(case_id, None, "case.created", t, channel=rng.choice(("email", "sms", "phone", "web")))
        if assignee:
            event(case_id, None, "case.assigned", min(t + timedelta(seconds=5), limit),
                  to=assignee.id)
        entries = 0
        kinds = []
        if big:  # 200 entries: 120 messages, 20 notes, 58 events + created/assigned above
            kinds = (["in", "out"] * 60 + ["note"] * 20 + ["event"] * 58)
            rng.shuffle(kinds)
            kinds[0], kinds[-1] = "in", "in"
            step = 3600
        else:
            n_msgs = exchanges * 2 - (0 if end_with_in else 1) if exchanges > 1 else 1
            kinds = ["in" if i % 2 == 0 else "out" for i in range(n_msgs)]
            if end_with_in and kinds[-1] != "in":
                kinds.append("in")
            if not end_with_in and len(kinds) > 1 and kinds[-1] != "out":
                kinds.append("out")
            if rng.random() < 0.3:
                kinds.insert(rng.randint(1, len(kinds)), "note")
        last_in = created
        for kind in kinds:
            t = min(t + timedelta(seconds=rng.randint(step // 2, step * 3 // 2)), limit)
            entries += 1
            if kind == "event":
                event(case_id, actor, "case.status_changed", t,
                      **{"from": "waiting", "to": "open"})
            elif kind == "in":
                last_in = t
                bulk.add(Message, (next_id(Message), org.id, case_id, "in", _text(rng, 8, 60),
                                   None, requester, t))
            else:
                bulk.add(Message, (next_id(Message), org.id, case_id, kind,
                                   _text(rng, 6, 50), actor, None, t))
                if kind == "out" and not big:  # the big case: exactly 200 entries
                    event(case_id, actor, "case.replied", t)
        if status in ("waiting", "resolved", "closed"):
            t = min(t + timedelta(hours=rng.randint(1, 48)), limit)
            event(case_id, actor, "case.status_changed", t, **{"from": "open", "to": status})

        inbox_id = escalation_id = claimed_by = claim_expires = None
        if is_escalated:
            inbox = rng.choices(inboxes, inbox_weights)[0]
            inbox_id = inbox.id
            escalated_at = min(t + timedelta(minutes=rng.randint(1, 600)), limit)
            escalation_id = next_id(Escalation)
            bulk.add(Escalation, (escalation_id, org.id, case_id, inbox_id, queue.id,
                                  agent.id if agent else None, None, agent.id if agent else None,
                                  _text(rng, 5, 25), escalated_at, None, None, None))
            event(case_id, agent.id if agent else None, "escalation.escalated", escalated_at,
                  reason="Needs a specialist", escalation_id=escalation_id,
                  **{"from": {**queue_ref(queue), **member_ref(agent)}, "to": inbox_ref(inbox)})
            t = escalated_at
            if status == "open" and rng.random() < 0.12:
                owners = inbox_owner_map[inbox_id]
                claimant = rng.choice(owners)
                live = rng.random() < 0.6 and held.get((inbox_id, claimant.id), 0) < 3
                claimed_at = min(t + timedelta(minutes=rng.randint(1, 300)), limit)
                if live:
                    claimed_at = now - timedelta(minutes=rng.randint(1, 50))
                    held[(inbox_id, claimant.id)] = held.get((inbox_id, claimant.id), 0) + 1
                expires = claimed_at + timedelta(minutes=inbox.assignment_minutes)
                claimed_by, claim_expires = claimant.id, expires
                bulk.add(Claim, (next_id(Claim), org.id, escalation_id, case_id, claimant.id,
                                 claimed_at, expires, None, None))
                event(case_id, claimant.id, "escalation.claimed", claimed_at, reason="",
                      expires_at=expires.isoformat(), escalation_id=escalation_id,
                      **{"from": inbox_ref(inbox), "to": member_ref(claimant)})
                t = max(t, claimed_at)
        elif status == "closed" and rng.random() < 0.03:
            # History: an escalation that ended (de-escalated back to its queue).
            inbox = rng.choice(inboxes)
            at = created + timedelta(hours=1)
            ended = at + timedelta(hours=rng.randint(1, 72))
            history_id = next_id(Escalation)
            bulk.add(Escalation, (history_id, org.id, case_id, inbox.id, queue.id,
                                  actor, None, actor, _text(rng, 5, 20), at, ended,
                                  "de_escalated", inbox_owner_map[inbox.id][0].id))
            event(case_id, actor, "escalation.escalated", at, reason="", escalation_id=history_id,
                  **{"from": queue_ref(queue), "to": inbox_ref(inbox)})
            event(case_id, inbox_owner_map[inbox.id][0].id, "escalation.de_escalated", ended,
                  reason="", escalation_id=history_id,
                  **{"from": inbox_ref(inbox), "to": queue_ref(queue)})

        waiting_since = last_in if reply == "needs_response" else None
        subject = rng.choice(SUBJECTS).format(n=rng.randint(1, 99999), name=rng.choice(FIRST))
        bulk.add(Case, (case_id, org.id, subject, requester, requested_for, queue.id,
                        assignee.id if assignee else None, status, reply, priority, inbox_id,
                        escalation_id, claimed_by, claim_expires, waiting_since, created,
                        max(t, created), 1 + entries // 4))
        bulk.maybe_flush()
        if case_id % 50_000 == 0:
            progress(f"  {case_id} cases ...")

    # The second organisation: a few cases, so unscoped queries would show.
    other_cases = max(100, n_cases // 50)
    other_contact = next_id(Contact)
    bulk.add(Contact, (other_contact, other.id, "Other Contact", "other@example.test", None, "en",
                       now - timedelta(days=400)))
    for k in range(other_cases):
        case_id = n_cases + 1 + k
        created = now - timedelta(minutes=k * 7 + 10)
        bulk.add(Case, (case_id, other.id, f"Other org case {k}", other_contact, None,
                        other_queues[k % 2].id, other_agents[k % 3].id, "open", "needs_response",
                        2, None, None, None, None, created, created, created, 1))
        bulk.add(Message, (next_id(Message), other.id, case_id, "in", "Other organisation.",
                           None, other_contact, created))
        bulk.maybe_flush()
    bulk.flush()
    progress("  rows: " + ", ".join(f"{m._meta.table_name} {bulk.counts[m]}" for m in bulk.counts))

    return {
        "password": BENCH_PASSWORD,
        "organisation_id": org.id,
        "users": {
            "owner": owner.user.email, "admin": admin.user.email,
            "supervisor": supervisor.user.email, "agent": agents[0].user.email,
            "inbox_owner": inbox_owners[0].user.email,
            "claim_owners": [m.user.email for m in inbox_owners[:N_CLAIM_OWNERS]],
        },
        "agent_member_id": agents[0].id,
        "big_case_id": big_case_id,
        "claim_inbox_id": inboxes[0].id,
        "claim_inbox_batch_size": inboxes[0].batch_size,
        "inbox_ids": [i.id for i in inboxes],
        "queue_ids": [q.id for q in queues],
        "busiest_queue_id": queues[0].id,
        "agent_ids": [a.id for a in agents],
        "rows": {m._meta.table_name: bulk.counts[m] for m in bulk.counts},
        "seeded_at": now.isoformat(sep=" "),
    }


def settle_lapsed_claims(db, now, *, keep_per_inbox=2):
    """Leave at most ``keep_per_inbox`` lapsed claims per inbox unobserved; the others get what
    observing them writes (the claim ended "lapsed", the case unclaimed, an
    "escalation.claim_lapsed" event), as on a desk whose owners open their pages every day.

    Idempotent: the runner calls it again on a cached copy, whose live claims lapse as it ages.
    (A pile of hundreds of unobserved lapses is a case of its own: see bench/RESULTS.md.)"""
    p = "%s" if isinstance(db, PostgresqlDatabase) else "?"
    when = now if isinstance(db, PostgresqlDatabase) else str(now.replace(microsecond=0))
    rows = db.execute_sql(
        "SELECT id, organisation_id, inbox_id, claimed_by_id, claim_expires_at FROM support_case "
        f"WHERE claimed_by_id IS NOT NULL AND claim_expires_at <= {p} "
        "ORDER BY inbox_id, claim_expires_at DESC, id", (when,)).fetchall()
    kept, settle = {}, []
    for row in rows:
        kept[row[2]] = kept.get(row[2], 0) + 1
        if kept[row[2]] > keep_per_inbox:
            settle.append(row)
    with db.atomic():
        for start in range(0, len(settle), 500):
            chunk = settle[start:start + 500]
            ids = ", ".join(str(row[0]) for row in chunk)
            db.execute_sql("UPDATE claim SET ended_at = expires_at, end_reason = 'lapsed' "
                           f"WHERE ended_at IS NULL AND case_id IN ({ids})")
            db.execute_sql("UPDATE support_case SET claimed_by_id = NULL, claim_expires_at = NULL, "
                           f"version = version + 1 WHERE id IN ({ids})")
            AuditEvent.insert_many([
                {"organisation": row[1], "case": row[0], "actor": None,
                 "action": "escalation.claim_lapsed", "subject_type": "case",
                 "subject_id": row[0], "created_at": row[4],
                 "data_json": json.dumps({"inbox_id": row[2], "member_id": row[3]})}
                for row in chunk]).execute()
    return len(settle)


def _status_for_age(rng, age_days):
    if age_days < 3:
        return rng.choices(("open", "waiting", "resolved"), (70, 15, 15))[0]
    if age_days < 30:
        return rng.choices(("open", "waiting", "resolved", "closed"), (20, 15, 30, 35))[0]
    if age_days < 90:
        return rng.choices(("open", "resolved", "closed"), (1, 14, 85))[0]
    return rng.choices(("resolved", "closed"), (3, 97))[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="sqlite:///path.db or postgresql://...")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--escalated", type=int, default=10_000)
    parser.add_argument("--unobserved-lapses", type=int, default=2, metavar="N",
                        help="lapsed claims per inbox left for the app to observe (the rest are "
                        "settled as observed); e.g. 1000 to reproduce a pile of them")
    parser.add_argument("--manifest", help="write the manifest JSON here")
    args = parser.parse_args(argv)
    manifest = seed(args.url, args.cases, escalated=args.escalated,
                    unobserved_lapses=args.unobserved_lapses)
    text = json.dumps(manifest, indent=2)
    if args.manifest:
        Path(args.manifest).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
