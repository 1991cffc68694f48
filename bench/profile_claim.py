#!/usr/bin/env python3
"""Where does "Claim next" spend its time? Press it in-process (Flask test client, signed in
through the real form) as one owner against a seeded benchmark database, releasing the inbox's
claims between presses as ``bench/run.py`` does, and show the queries per press and the time.

    .venv/bin/python bench/profile_claim.py --url sqlite:///copy.db \
        --manifest bench/results/cache/sqlite-100000_10000_v3.json --repeat 20 --queries

Use a copy of the database: claiming writes.
"""
import argparse
import cProfile
import json
import pstats
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.profile_page import _signed_in_client, _timed  # noqa: E402
from bench.run import _claim_db, release_all  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--queries", action="store_true", help="list the queries of one press")
    parser.add_argument("--profile", type=int, default=0, help="cProfile rows to show")
    args = parser.parse_args(argv)
    manifest = json.loads(Path(args.manifest).read_text())

    from escalation import create_app
    from escalation.db import database
    app = create_app({"DATABASE_URL": args.url, "SECRET_KEY": "profile-only"})
    client = _signed_in_client(app, manifest["users"]["claim_owners"][0], manifest["password"])
    page = client.get("/auth/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    path = f"/inboxes/{manifest['claim_inbox_id']}/claim"
    helper = _claim_db(args.url)

    queries = []
    real_execute = type(database.obj).execute_sql
    type(database.obj).execute_sql = _timed(real_execute, queries)
    times, counts = [], []
    profiler = cProfile.Profile()
    for n in range(args.repeat + 1):
        release_all(helper, manifest["claim_inbox_id"])
        queries.clear()
        if n and args.profile:
            profiler.enable()
        started = time.perf_counter()
        response = client.post(path, data={"csrf_token": token})
        elapsed = time.perf_counter() - started
        if n and args.profile:
            profiler.disable()
        if response.status_code not in (200, 303):
            sys.exit(f"claim answered {response.status_code}")
        if n:  # the first press warms caches
            times.append(elapsed * 1000)
            counts.append(len(queries))
        if n == 1 and args.queries:
            shapes = Counter(re.sub(r"\s+", " ", q[0])[:150] for q in queries)
            for sql, many in shapes.most_common():
                print(f"{many:4d} x {sql}")
    type(database.obj).execute_sql = real_execute
    times.sort()
    print(f"{path}: {len(times)} presses, median {times[len(times) // 2]:.1f} ms, "
          f"max {times[-1]:.1f} ms, queries per press {min(counts)}-{max(counts)}")
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
