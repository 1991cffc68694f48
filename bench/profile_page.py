#!/usr/bin/env python3
"""Why is a page slow? Render it in-process (Flask test client, signed in through the real form)
against a seeded benchmark database and show where the time goes: every SQL query with its time
(and its plan with --explain), the Python time outside the database, and cProfile's top functions.

    .venv/bin/python bench/profile_page.py --url sqlite:///bench/results/cache/sqlite-100000_10000_v3.db \
        --user supervisor@bench.test /threads --repeat 20 --explain

Use a copy of the database (``bench/run.py --keep-database`` leaves one): a page that observes
lapsed claims writes.
"""
import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.seed import BENCH_PASSWORD  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", default="supervisor@bench.test")
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--htmx", action="store_true", help="send HX-Request: true")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="show each distinct query's plan")
    parser.add_argument("--no-warmup", action="store_true",
                        help="time the very first request too (e.g. the owner landing that "
                        "observes lapsed claims)")
    parser.add_argument("--profile", type=int, default=25, help="cProfile rows to show (0: none)")
    parser.add_argument("--summary", metavar="MANIFEST",
                        help="instead of one path: every benchmark page of this seed manifest "
                        "(bench/results/cache/*.json), one line each: queries, SQL ms, total ms")
    parser.add_argument("path", nargs="?")
    args = parser.parse_args(argv)
    if args.summary:
        return summary(args)

    from escalation import create_app
    from escalation.db import database
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "profile-only"})
    client = _signed_in_client(app, args.user, args.password)

    queries = []
    real_execute = type(database.obj).execute_sql
    type(database.obj).execute_sql = _timed(real_execute, queries)
    headers = {"HX-Request": "true"} if args.htmx else {}
    if not args.no_warmup:
        client.get(args.path, headers=headers)  # warm caches (templates, catalogs)
    totals, per_request = [], []
    profiler = cProfile.Profile()
    for _ in range(args.repeat):
        queries.clear()
        started = time.perf_counter()
        profiler.enable()
        response = client.get(args.path, headers=headers)
        profiler.disable()
        totals.append(time.perf_counter() - started)
        per_request.append(list(queries))
    type(database.obj).execute_sql = real_execute
    body = response.get_data()
    last = per_request[-1]
    sql_time = sum(q[2] for q in last)
    mean = sum(totals) / len(totals)
    print(f"{args.path}: HTTP {response.status_code}, {len(body):,} bytes, "
          f"{mean * 1000:.1f} ms per request (mean of {args.repeat}), "
          f"{len(last)} queries taking {sql_time * 1000:.1f} ms, "
          f"so ~{(totals[-1] - sql_time) * 1000:.1f} ms outside the database")
    print()
    for index, (sql, params, seconds) in enumerate(sorted(last, key=lambda q: -q[2])):
        print(f"{seconds * 1000:8.2f} ms  {_short(sql)}")
        if args.explain and seconds > 0.0005:
            for line in explain(database, sql, params):
                print(f"             {line}")
    if args.profile:
        print()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())


def _timed(real_execute, queries):
    """``Database.execute_sql`` that appends (sql, params, seconds) of each query to ``queries``."""
    def timed_execute(self, sql, params=None, *a, **kw):
        started = time.perf_counter()
        try:
            return real_execute(self, sql, params, *a, **kw)
        finally:
            queries.append((sql, params, time.perf_counter() - started))
    return timed_execute


def _signed_in_client(app, user, password):
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"csrf_token": token, "email": user,
                                                "password": password, "next": ""})
    if response.status_code not in (302, 303):
        sys.exit(f"sign-in as {user} failed: {response.status_code}")
    return client


def summary(args):
    """One line per benchmark page: where its time goes, in-process (no HTTP, no gunicorn)."""
    import json
    from bench.run import PAGES, HTMX_PAGES
    from escalation import create_app
    from escalation.db import database
    manifest = json.loads(Path(args.summary).read_text())
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "profile-only"})
    context = dict(manifest)
    context.setdefault("deep_unfiltered", "/threads?older=%d" % (manifest["cases"] // 10))
    context.setdefault("deep_filtered", "/threads?queue=%d&status=open&older=%d"
                       % (manifest["busiest_queue_id"], manifest["cases"] // 10))
    clients = {}
    queries = []
    real_execute = type(database.obj).execute_sql
    timed_execute = _timed(real_execute, queries)

    print(f"{'page':<24} {'status':>6} {'bytes':>8} {'queries':>7} {'SQL ms':>8} {'total ms':>9} "
          f"{'other ms':>9}")
    for name, _label, _kind, role, path in PAGES:
        path = path.format(**context)
        if role not in clients:
            clients[role] = _signed_in_client(app, manifest["users"][role], manifest["password"])
        client = clients[role]
        headers = {"HX-Request": "true"} if name in HTMX_PAGES else {}
        type(database.obj).execute_sql = timed_execute
        try:
            client.get(path, headers=headers)
            totals, sqls, counts = [], [], []
            for _ in range(args.repeat):
                queries.clear()
                started = time.perf_counter()
                response = client.get(path, headers=headers)
                totals.append(time.perf_counter() - started)
                sqls.append(sum(q[2] for q in queries))
                counts.append(len(queries))
        finally:
            type(database.obj).execute_sql = real_execute
        best = min(range(len(totals)), key=lambda i: totals[i])
        print(f"{name:<24} {response.status_code:>6} {len(response.get_data()):>8,} "
              f"{counts[best]:>7} {sqls[best] * 1000:>8.1f} {totals[best] * 1000:>9.1f} "
              f"{(totals[best] - sqls[best]) * 1000:>9.1f}")


def _short(sql, limit=400):
    sql = re.sub(r"\s+", " ", sql)
    return sql if len(sql) <= limit else sql[:limit] + " ..."


def explain(database, sql, params):
    from peewee import PostgresqlDatabase
    if not sql.lstrip().upper().startswith("SELECT"):
        return []
    with database.connection_context():
        if isinstance(database.obj, PostgresqlDatabase):
            rows = database.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
            return [r[0] for r in rows]
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [" " * (2 * _depth(rows, r)) + str(r[-1]) for r in rows]


def _depth(rows, row):
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


if __name__ == "__main__":
    main()
