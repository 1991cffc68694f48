#!/usr/bin/env python3
"""Eskalera's benchmark: seed, start gunicorn as the README does, measure with wrk on 127.0.0.1.

    .venv/bin/python bench/run.py                       # 100 000 cases, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --backend sqlite --duration 5
    .venv/bin/python bench/run.py --cases 1000000 --pages owner_landing,threads_escalation,claim \
        --compare bench/results/latest-100000.json

For each backend: a seeded database (cached by size under bench/results/cache/, or as a PostgreSQL
database ``eskalera_bench_<N>_...``) is copied to a throwaway one, migrated to the current schema,
and served by ``gunicorn --workers <n> app:app`` from the project root (DATABASE_URL, SECRET_KEY)
beside the minimal reference app (bench/reference_app.py) under the same gunicorn settings. The
runner signs in through the real login form (CSRF included), then runs wrk (--latency, a Lua
script sets the Cookie and, for fragments, HX-Request) against every page, measures the 50-row
HTMX fragment's size, and drives claim-next with 8 concurrent owners. It reports requests/s,
p50 and p99, the workers' peak RSS, and each page's ratio to the reference (the list reference
for list pages, the bare detail page for the case page). Pages that do not exist yet are
"missing". Results: a table on stdout, JSON in bench/results/, Markdown in bench/RESULTS.md.
"""
import argparse
import gzip
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = BENCH / "results"
CACHE = RESULTS / "cache"
VENV_BIN = Path(sys.executable).parent
GUNICORN = VENV_BIN / "gunicorn"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_PORT, REF_PORT = 8731, 8732
SECRET_KEY = "bench-only-secret-key-not-for-production"
FRAGMENT_LIMIT = 10 * 1024
NOTES_MARKER = "<!-- notes: kept by bench/run.py -->"

# ---------------------------------------------------------------------------------------------
# What is measured. kind: "list" pages compare with the reference list page (target ratio >= 1),
# "detail" with the bare detail page (target >= 0.5, i.e. within 2x); "extra" is reported only.

PAGES = [
    # name, label, kind, signed in as (manifest users key), path (format fields from context)
    ("threads_p1", "Threads view, page 1", "list", "supervisor", "/threads"),
    ("threads_filtered_p1", "Threads view filtered (queue + status), page 1", "list",
     "supervisor", "/threads?queue={busiest_queue_id}&status=open"),
    ("threads_deep", "Threads view, deep page (~90 % in, keyset)", "list", "supervisor",
     "{deep_unfiltered}"),
    ("threads_filtered_deep", "Threads view filtered, deep page", "list", "supervisor",
     "{deep_filtered}"),
    ("threads_fragment", "Threads view, HTMX fragment (50 rows)", "list", "supervisor",
     "/threads"),
    ("agent_landing", "Agent landing (reply queue)", "list", "agent", "/"),
    ("case_page", "Case page, 200-entry timeline", "detail", "agent", "/cases/{big_case_id}"),
    ("owner_landing", "Inbox owner landing", "list", "inbox_owner", "/"),
    ("threads_escalation", "Threads view filtered by escalation inbox", "list", "supervisor",
     "/threads?inbox={claim_inbox_id}"),
    ("threads_search", "Threads view, free-text search (extra)", "extra", "supervisor",
     "/threads?q=printer"),
    # Every report of the last 30 days (the default period): aggregate queries over the
    # organisation's escalations, claims, clocks and cases (issue 6).
    ("reports_30d", "Reports page, 30 days (extra: no ratio target)", "extra", "supervisor",
     "/reports"),
]
HTMX_PAGES = {"threads_fragment"}
REFERENCES = [("ref_hello", "Reference: Flask hello-world", "/hello"),
              ("ref_list", "Reference: bare list page (50 rows + count)", "/list"),
              ("ref_detail", "Reference: bare detail page (case + messages)", "/detail/{big_case_id}"),
              ("ref_list_deep", "Reference: bare list page ~90 % in (OFFSET; extra)",
               "/list?page={ref_deep_page}")]
TARGETS = {"list": 1.0, "detail": 0.5}
CLAIM_P99_TARGET_MS = 50.0


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# The machine


def machine_description():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    pg_version = None
    try:
        import psycopg2
        conn = psycopg2.connect(PG_ADMIN, connect_timeout=3)
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            pg_version = cur.fetchone()[0]
        conn.close()
    except Exception:  # noqa: BLE001 - reported as unavailable
        pass
    try:
        wrk_version = subprocess.run([WRK, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        wrk_version = None
    import gunicorn
    import peewee
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "gunicorn": gunicorn.__version__,
        "peewee": peewee.__version__,
        "wrk": wrk_version,
        "loadavg_at_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# Databases: seed once per size (cached), then work on a throwaway copy


def _cache_key(cases, escalated):
    from bench.seed import SEED_VERSION
    return f"{cases}_{escalated}_v{SEED_VERSION}"


def _pg_admin():
    import psycopg2
    conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
    conn.autocommit = True
    return conn


def _pg_url(name):
    parts = urllib.parse.urlsplit(PG_ADMIN)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def _pg_drop(cur, name):
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,))
    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')


def prepare_database(backend, cases, escalated, *, reseed=False, in_place=False):
    """A migrated throwaway database with the seeded data: (url, manifest, cleanup). With
    ``in_place`` the cached database itself is used (no multi-gigabyte copy at 1 000 000 cases;
    the benchmark writes little: sign-ins, claims it releases again, settled lapses)."""
    from bench.seed import seed
    CACHE.mkdir(parents=True, exist_ok=True)
    key = _cache_key(cases, escalated)
    manifest_path = CACHE / f"{backend}-{key}.json"
    if backend == "sqlite":
        cached = CACHE / f"sqlite-{key}.db"
        if reseed or not (cached.exists() and manifest_path.exists()):
            for path in (cached, Path(f"{cached}-wal"), Path(f"{cached}-shm"), manifest_path):
                path.unlink(missing_ok=True)
            log(f"Seeding {cases} cases into {cached} ...")
            manifest = seed(f"sqlite:///{cached}", cases, escalated=escalated, progress=log)
            manifest_path.write_text(json.dumps(manifest, indent=2))
            log(f"  seeded in {manifest['seconds']} s")
        work = RESULTS / "work" / f"bench-sqlite-{os.getpid()}.db"
        work.parent.mkdir(parents=True, exist_ok=True)
        if in_place:
            work = cached
        else:
            for path in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
                path.unlink(missing_ok=True)
            shutil.copyfile(cached, work)
        url = f"sqlite:///{work}"

        def cleanup():
            if in_place:
                return
            for path in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
                path.unlink(missing_ok=True)
    else:
        cached_name = f"eskalera_bench_{key}"
        work_name = f"eskalera_bench_work_{os.getpid()}"
        admin = _pg_admin()
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cached_name,))
            exists = cur.fetchone() is not None
            if reseed or not (exists and manifest_path.exists()):
                _pg_drop(cur, cached_name)
                cur.execute(f'CREATE DATABASE "{cached_name}"')
                log(f"Seeding {cases} cases into PostgreSQL database {cached_name} ...")
                manifest = seed(_pg_url(cached_name), cases, escalated=escalated, progress=log)
                manifest_path.write_text(json.dumps(manifest, indent=2))
                log(f"  seeded in {manifest['seconds']} s")
            if in_place:
                work_name = cached_name
            else:
                _pg_drop(cur, work_name)
                # A big database (1 000 000 cases: ~4 GB) is copied file by file rather than
                # written into the WAL (PostgreSQL 15's default), which a later checkpoint would
                # have to sync; a small one through the WAL, since FILE_COPY waits for a
                # checkpoint, which takes minutes while other work keeps the disk busy.
                cur.execute("SELECT current_setting('server_version_num')::int, "
                            "pg_database_size(%s)", (cached_name,))
                version, size = cur.fetchone()
                strategy = " STRATEGY FILE_COPY" if version >= 150000 and size > 2 ** 30 else ""
                cur.execute(f'CREATE DATABASE "{work_name}" TEMPLATE "{cached_name}"{strategy}')
        admin.close()
        url = _pg_url(work_name)

        def cleanup():
            if in_place:
                return
            conn = _pg_admin()
            with conn.cursor() as cur:
                _pg_drop(cur, work_name)
            conn.close()
    manifest = json.loads(manifest_path.read_text())
    applied = _migrate_and_refresh(url, manifest)
    manifest["migrations_applied_after_seed"] = applied
    return url, manifest, cleanup


def _migrate_and_refresh(url, manifest):
    """Bring the copy to the current schema, and move the claims that were live when it was
    seeded forward by the cache's age, so they are live now as they were then."""
    from escalation import migrations
    from escalation.clock import utcnow
    from escalation.db import open_database
    db = open_database(url)
    applied = migrations.run(db)
    seeded_at = datetime.fromisoformat(manifest["seeded_at"])
    shift = utcnow() - seeded_at
    with db.connection_context():
        with db.atomic():
            if shift > timedelta(minutes=1):
                rows = db.execute_sql(
                    "SELECT id, claim_expires_at FROM support_case WHERE claimed_by_id IS NOT NULL "
                    "AND claim_expires_at > %s" % _param(db), (_when(db, seeded_at),)).fetchall()
                for case_id, expires in rows:
                    expires = _as_datetime(expires) + shift
                    db.execute_sql(f"UPDATE support_case SET claim_expires_at = {_param(db)} "
                                   f"WHERE id = {_param(db)}", (_when(db, expires), case_id))
                    db.execute_sql(f"UPDATE claim SET expires_at = {_param(db)}, claimed_at = "
                                   f"claimed_at WHERE case_id = {_param(db)} AND ended_at IS NULL",
                                   (_when(db, expires), case_id))
        from bench.seed import settle_lapsed_claims
        from escalation.db import database as proxy
        proxy.initialize(db)
        manifest["lapsed_claims_settled_now"] = settle_lapsed_claims(db, utcnow())
        if not url.startswith("sqlite"):
            db.execute_sql("ANALYZE")
    db.close()
    return applied


def _param(db):
    from peewee import PostgresqlDatabase
    return "%s" if isinstance(db, PostgresqlDatabase) else "?"


def _when(db, value):
    """A datetime parameter as the models store it (SQLite: the text peewee writes)."""
    from peewee import PostgresqlDatabase
    value = value.replace(microsecond=0)
    return value if isinstance(db, PostgresqlDatabase) else str(value)


def _as_datetime(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# ---------------------------------------------------------------------------------------------
# Servers


class Server:
    def __init__(self, name, args, port, env, log_path, ready_path):
        self.name, self.port, self.ready_path = name, port, ready_path
        self.log_file = open(log_path, "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see "
                                   f"{self.log_file.name}")
            try:
                status, _, _ = http_get(self.port, self.ready_path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def workers(self):
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                children.append(int(entry.name))
        return children

    def memory(self):
        """Per worker: peak RSS (VmHWM) and current RSS in MiB."""
        result = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            result.append({"pid": pid,
                           "peak_rss_mib": int(fields["VmHWM"].split()[0]) / 1024,
                           "rss_mib": int(fields["VmRSS"].split()[0]) / 1024})
        return result

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop, workers included
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def pooled(url, max_connections=4, stale_timeout=300):
    """The same database through peewee's connection pool (``sqlite+pool://``,
    ``postgresql+pool://``): a deployment setting, no code change. Each gunicorn worker keeps its
    connections open between requests instead of connecting per request."""
    scheme, rest = url.split("://", 1)
    sep = "&" if "?" in rest else "?"
    return (f"{scheme}+pool://{rest}{sep}max_connections={max_connections}"
            f"&stale_timeout={stale_timeout}")


def gunicorn_args(workers, port, app, *extra):
    """As the README starts it (``gunicorn --workers N app:app``), bound to 127.0.0.1; no access
    log, for the app and the reference alike."""
    return [str(GUNICORN), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", *extra, app]


# ---------------------------------------------------------------------------------------------
# HTTP: a small client (no redirects followed) and signing in through the real form


def http_get(port, path, headers=None, timeout=30):
    return http_request(port, "GET", path, headers=headers, timeout=timeout)


def http_request(port, method, path, *, headers=None, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), data
    finally:
        conn.close()


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Session:
    """A signed-in browser, as far as the benchmark needs one: the session cookie and the page's
    CSRF token."""

    def __init__(self, port, email, password):
        self.port = port
        self.cookies = {}
        status, headers, body = self.get("/auth/login")
        match = CSRF_INPUT.search(body.decode())
        if status != 200 or not match:
            raise RuntimeError(f"no sign-in form at /auth/login (status {status})")
        token = match.group(1) or match.group(2)
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password,
                                       "next": ""})
        status, headers, body = self.request("POST", "/auth/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        if status not in (302, 303):
            raise RuntimeError(f"sign-in as {email} failed with {status}")
        self.email = email

    @property
    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method, path, *, headers=None, body=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, response.headers, data
        finally:
            conn.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def csrf_token(self, path="/"):
        status, _, body = self.get(path)
        match = CSRF_META.search(body.decode())
        if not match:
            raise RuntimeError(f"no CSRF token on {path} (status {status})")
        return match.group(1)


# ---------------------------------------------------------------------------------------------
# wrk

LUA = """
wrk.method = "GET"
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"bytes\\": %d, " ..
    "\\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, \\"mean_us\\": %.1f, \\"max_us\\": %d, " ..
    "\\"non2xx3xx\\": %d, \\"connect_errors\\": %d, \\"read_errors\\": %d, " ..
    "\\"write_errors\\": %d, \\"timeouts\\": %d}}\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def run_wrk(port, path, *, headers, duration, connections, threads):
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(headers=lines))
    try:
        result = subprocess.run(
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
             "--timeout", "30s", "-s", script.name, f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script.name)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line[len("BENCH_JSON "):])
            seconds = raw["duration_us"] / 1e6
            return {
                "requests": raw["requests"],
                "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
                "p50_ms": round(raw["p50_us"] / 1000, 1),
                "p90_ms": round(raw["p90_us"] / 1000, 1),
                "p99_ms": round(raw["p99_us"] / 1000, 1),
                "mean_ms": round(raw["mean_us"] / 1000, 1),
                "max_ms": round(raw["max_us"] / 1000, 1),
                "errors": {k: raw[k] for k in ("non2xx3xx", "connect_errors", "read_errors",
                                               "write_errors", "timeouts") if raw[k]},
            }
    raise RuntimeError(f"wrk gave no result: {result.stdout[-500:]} {result.stderr[-500:]}")


# ---------------------------------------------------------------------------------------------
# Deep pages: follow the keyset cursor ("older=<id>") and, once its form is confirmed, jump to
# the cursor that following it ~90 % of the way would reach (the same URL, found in one query).

OLDER_LINK = re.compile(r'href="([^"]*[?&](?:amp;)?older=(\d+)[^"]*)"')


def _older_link(html):
    match = OLDER_LINK.search(html)
    if not match:
        return None, None
    return match.group(1).replace("&amp;", "&"), int(match.group(2))


def deep_url(session, first_path, url, manifest, where_sql, *, hops=3, depth=0.9):
    """Follow ``hops`` cursors from ``first_path``, checking that each cursor is the id of the
    last row shown; then return the URL of the page ~``depth`` of the way through."""
    status, _, body = session.get(first_path, headers={"HX-Request": "true"})
    if status != 200:
        return None, f"page 1 answered {status}"
    link, cursor = _older_link(body.decode())
    if link is None:
        return None, "no keyset link (older=) on page 1"
    ids = _ordered_ids(url, manifest, where_sql)
    page_size = 50
    for hop in range(1, hops + 1):
        if cursor != ids[hop * page_size - 1]:
            return None, (f"cursor {cursor} after page {hop} is not the last row's id "
                          f"({ids[hop * page_size - 1]}); not following further")
        status, _, body = session.get(link, headers={"HX-Request": "true"})
        if status != 200:
            return None, f"page {hop + 1} answered {status}"
        link, cursor = _older_link(body.decode())
        if link is None:
            return None, f"no keyset link on page {hop + 1}"
    target_page = max(hops + 1, int(len(ids) * depth) // page_size)
    deep_cursor = ids[target_page * page_size - 1]
    deep = re.sub(r"older=\d+", f"older={deep_cursor}", link)
    status, _, body = session.get(deep)
    if status != 200:
        return None, f"the deep page answered {status}"
    return deep, f"page {target_page + 1} of {len(ids) // page_size + 1} (older={deep_cursor})"


def _ordered_ids(url, manifest, where_sql):
    from escalation.db import open_database
    db = open_database(url)
    with db.connection_context():
        rows = db.execute_sql(
            f"SELECT id FROM support_case WHERE organisation_id = {manifest['organisation_id']}"
            f"{' AND ' + where_sql if where_sql else ''} ORDER BY id DESC").fetchall()
    db.close()
    return [row[0] for row in rows]


# ---------------------------------------------------------------------------------------------
# Claim-next under concurrent owners


def claim_benchmark(port, url, manifest, *, rounds, owners, htmx):
    """``owners`` owners (separate sessions, one thread each) press "Claim next" on the same inbox
    at the same moment, ``rounds`` times; between rounds every claim in that inbox is released
    directly in the database (outside the measured time), so there is always work."""
    emails = manifest["users"]["claim_owners"][:owners]
    inbox_id = manifest["claim_inbox_id"]
    path = f"/inboxes/{inbox_id}/claim"
    sessions = [Session(port, email, manifest["password"]) for email in emails]
    tokens = [s.csrf_token("/auth/account") for s in sessions]
    # Does the endpoint exist? (A GET to a POST-only route is 405; a missing one 404.)
    status, _, _ = sessions[0].get(path)
    if status == 404:
        return {"status": "missing", "note": f"POST {path} not found"}
    db = _claim_db(url)
    member_ids = _member_ids(db, emails)
    release_all(db, inbox_id)
    latencies, statuses, taken, duplicates, over_batch = [], {}, 0, 0, 0
    round_seconds = []
    batch = manifest["claim_inbox_batch_size"]

    def press(index, barrier, out):
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-CSRFToken": tokens[index]}
        if htmx:
            headers["HX-Request"] = "true"
        body = urllib.parse.urlencode({"csrf_token": tokens[index]})
        barrier.wait()
        started = time.perf_counter()
        status, _, _ = sessions[index].request("POST", path, headers=headers, body=body)
        out[index] = (status, time.perf_counter() - started, time.perf_counter())

    for round_no in range(rounds + 1):  # round 0 warms the workers up and is not counted
        barrier = threading.Barrier(len(sessions) + 1)
        out = [None] * len(sessions)
        threads = [threading.Thread(target=press, args=(i, barrier, out)) for i in range(len(sessions))]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = max(o[2] for o in out) - started
        held = _held(db, inbox_id, member_ids)
        if round_no:
            round_seconds.append(elapsed)
            for status, seconds, _ in out:
                latencies.append(seconds * 1000)
                statuses[status] = statuses.get(status, 0) + 1
            taken += sum(held.values())
            over_batch += sum(1 for n in held.values() if n > batch)
            duplicates += _duplicate_claims(db, inbox_id)
        release_all(db, inbox_id)
    db.close()
    latencies.sort()
    total_time = sum(round_seconds)
    ok = sum(n for s, n in statuses.items() if s in (200, 204, 303))
    return {
        "status": "ok" if ok == len(latencies) else "errors",
        "owners": len(sessions), "rounds": rounds, "htmx": htmx,
        "requests": len(latencies), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "claims_per_s": round(len(latencies) / total_time, 1) if total_time else 0.0,
        "cases_claimed": taken, "cases_per_s": round(taken / total_time, 1) if total_time else 0.0,
        "p50_ms": round(_percentile(latencies, 50), 1), "p99_ms": round(_percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "duplicate_claims": duplicates, "owners_over_batch": over_batch,
        "expected_cases_per_round": min(len(sessions) * batch,
                                        manifest.get("claimable_in_claim_inbox") or 10 ** 9),
    }


def _percentile(values, pct):
    if not values:
        return float("nan")
    k = (len(values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _claim_db(url):
    from escalation.db import open_database
    db = open_database(url)
    db.connect()
    return db


def _member_ids(db, emails):
    p = _param(db)
    ids = []
    for email in emails:
        row = db.execute_sql("SELECT m.id FROM member m JOIN user_account u ON u.id = m.user_id "
                             f"WHERE u.email = {p}", (email,)).fetchone()
        ids.append(row[0])
    return ids


def _held(db, inbox_id, member_ids):
    p = _param(db)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    held = {}
    for member_id in member_ids:
        held[member_id] = db.execute_sql(
            f"SELECT COUNT(*) FROM support_case WHERE inbox_id = {p} AND claimed_by_id = {p} "
            f"AND claim_expires_at > {p}", (inbox_id, member_id, _when(db, now))).fetchone()[0]
    return held


def _duplicate_claims(db, inbox_id):
    p = _param(db)
    return db.execute_sql(
        "SELECT COUNT(*) FROM (SELECT case_id FROM claim WHERE ended_at IS NULL AND case_id IN "
        f"(SELECT id FROM support_case WHERE inbox_id = {p}) GROUP BY case_id "
        "HAVING COUNT(*) > 1) d", (inbox_id,)).fetchone()[0]


def release_all(db, inbox_id):
    """End every claim in the inbox, as "release" would (without the events: set-up, not
    measured)."""
    p = _param(db)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with db.atomic():
        db.execute_sql(f"UPDATE claim SET ended_at = {p}, end_reason = 'released' "
                       "WHERE ended_at IS NULL AND case_id IN "
                       f"(SELECT id FROM support_case WHERE inbox_id = {p})", (_when(db, now), inbox_id))
        db.execute_sql("UPDATE support_case SET claimed_by_id = NULL, claim_expires_at = NULL, "
                       f"version = version + 1 WHERE inbox_id = {p} AND claimed_by_id IS NOT NULL",
                       (inbox_id,))


# ---------------------------------------------------------------------------------------------
# One backend


def bench_backend(backend, args, selected):
    url, manifest, cleanup = prepare_database(backend, args.cases, args.escalated,
                                              reseed=args.reseed, in_place=args.in_place)
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    app_url = pooled(url) if args.pool else url
    env = {**os.environ, "DATABASE_URL": app_url, "SECRET_KEY": SECRET_KEY}
    env.pop("FLASK_DEBUG", None)
    result = {"backend": backend, "database": app_url, "cases": args.cases, "pool": args.pool,
              "manifest": {k: v for k, v in manifest.items() if k not in ("agent_ids", "queue_ids")},
              "pages": {}, "references": {}, "claim": None}
    app = ref = None
    try:
        log(f"[{backend}] starting gunicorn (app :{APP_PORT}, reference :{REF_PORT}, "
            f"{args.workers} workers each)")
        app = Server("app", gunicorn_args(args.workers, APP_PORT, "app:app"), APP_PORT, env,
                     logs / f"app-{backend}.log", "/auth/login")
        ref = Server("reference", gunicorn_args(args.workers, REF_PORT, "reference_app:app",
                                                "--pythonpath", str(BENCH)),
                     REF_PORT, {**env, "DATABASE_URL": url}, logs / f"reference-{backend}.log",
                     "/hello")
        wrk_opts = dict(duration=args.duration, connections=args.connections, threads=args.threads)
        context = dict(manifest)
        context["ref_deep_page"] = int(args.cases * 0.9) // 50
        sessions = {}

        def session(role):
            if role not in sessions:
                sessions[role] = Session(APP_PORT, manifest["users"][role], manifest["password"])
            return sessions[role]

        # Deep-page URLs, found by following the keyset cursor.
        if {"threads_deep", "threads_filtered_deep"} & selected:
            for name, first, where in (
                    ("deep_unfiltered", "/threads", ""),
                    ("deep_filtered", f"/threads?queue={manifest['busiest_queue_id']}&status=open",
                     f"queue_id = {manifest['busiest_queue_id']} AND status = 'open'")):
                try:
                    found, note = deep_url(session("supervisor"), first, url, manifest, where)
                except Exception as exc:  # noqa: BLE001 - reported, not fatal
                    found, note = None, f"{type(exc).__name__}: {exc}"
                context[name] = found
                context[name + "_note"] = note
                result[name + "_note"] = note
                log(f"[{backend}] {name}: {found} ({note})")

        def measure_reference(name, label, path):
            path = path.format(**context)
            status, _, body = http_get(REF_PORT, path)
            if status != 200:
                return {"label": label, "path": path, "status": f"error {status}"}
            run_wrk(REF_PORT, path, headers={}, **{**wrk_opts, "duration": args.warmup})
            figures = run_wrk(REF_PORT, path, headers={}, **wrk_opts)
            log(f"[{backend}] {label}: {figures['rps']} req/s, p50 {figures['p50_ms']} ms, "
                f"p99 {figures['p99_ms']} ms")
            return {"label": label, "path": path, "status": "ok", "bytes": len(body),
                    "rss": ref.memory(), **figures}

        for name, label, path in REFERENCES:
            result["references"][name] = measure_reference(name, label, path)

        for name, label, kind, role, path in PAGES:
            if name not in selected:
                continue
            entry = {"label": label, "kind": kind, "role": role}
            result["pages"][name] = entry
            try:
                path = path.format(**context)
            except KeyError:
                path = None
            if path in (None, "None"):
                entry.update(status="missing", note=context.get(
                    "deep_unfiltered_note" if name == "threads_deep" else "deep_filtered_note",
                    "no URL"))
                continue
            entry["path"] = path
            try:
                who = session(role)
            except Exception as exc:  # noqa: BLE001
                entry.update(status="error", note=f"sign-in: {exc}")
                continue
            headers = {"Cookie": who.cookie_header}
            if name in HTMX_PAGES:
                headers["HX-Request"] = "true"
            status, resp_headers, body = who.get(path, headers={k: v for k, v in headers.items()
                                                                if k != "Cookie"})
            entry["http_status"] = status
            entry["bytes"] = len(body)
            entry["gzip_bytes"] = len(gzip.compress(body))
            if name in HTMX_PAGES:
                entry["rows"] = len(re.findall(r"<tr[\s>]", body.decode())) - \
                    len(re.findall(r"<thead", body.decode()))
                entry["is_fragment"] = b"<html" not in body
            if status == 404:
                entry.update(status="missing")
                log(f"[{backend}] {label}: missing ({path} is 404)")
                continue
            if status != 200:
                entry.update(status=f"error {status}",
                             note=(resp_headers.get("Location") or body[:200].decode(errors="replace")))
                log(f"[{backend}] {label}: HTTP {status} at {path}")
                continue
            if args.paired and kind in ("list", "detail"):
                # Its reference right before it: the shared machine's load drifts over minutes,
                # so each page is compared with a reference measured under the same load.
                ref_path = (REFERENCES[2][2] if kind == "detail" else REFERENCES[1][2]).format(**context)
                paired = run_wrk(REF_PORT, ref_path, headers={}, **wrk_opts)
                entry["paired_reference"] = {"path": ref_path, **paired}
            entry["loadavg_before"] = os.getloadavg()
            run_wrk(APP_PORT, path, headers=headers, **{**wrk_opts, "duration": args.warmup})
            figures = run_wrk(APP_PORT, path, headers=headers, **wrk_opts)
            entry.update(status="ok" if figures["requests"] else "too slow: no response in time",
                         rss=app.memory(), **figures)
            log(f"[{backend}] {label}: {figures['rps']} req/s, p50 {figures['p50_ms']} ms, "
                f"p99 {figures['p99_ms']} ms, {entry['bytes']} bytes"
                + (f" (reference just before: {entry['paired_reference']['rps']} req/s)"
                   if "paired_reference" in entry else "")
                + (f", errors {figures['errors']}" if figures["errors"] else ""))

        # The reference list page once more at the end: the machine is shared and its load
        # drifts, so list pages are compared with the mean of the two.
        if selected & {p[0] for p in PAGES if p[2] == "list"}:
            again = measure_reference("ref_list", "Reference: bare list page (again)",
                                      REFERENCES[1][2])
            result["references"]["ref_list_end"] = again

        if "claim" in selected:
            log(f"[{backend}] claim-next: {args.claim_owners} owners x {args.claim_rounds} rounds")
            try:
                claim = claim_benchmark(APP_PORT, url, manifest, rounds=args.claim_rounds,
                                        owners=args.claim_owners, htmx=args.claim_htmx)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                claim = {"status": "error", "note": f"{type(exc).__name__}: {exc}"}
            result["claim"] = claim
            log(f"[{backend}] claim-next: {json.dumps(claim)}")
        result["app_memory"] = app.memory()
        result["reference_memory"] = ref.memory()
    finally:
        for server in (app, ref):
            if server is not None:
                server.stop()
        if not args.keep_database:
            cleanup()
    _ratios(result)
    return result


def _ratios(result):
    refs = result["references"]
    list_rps = [r["rps"] for k, r in refs.items() if k in ("ref_list", "ref_list_end") and r.get("rps")]
    ref_list = statistics.mean(list_rps) if list_rps else None
    ref_detail = refs.get("ref_detail", {}).get("rps")
    result["reference_list_rps"] = ref_list
    for entry in result["pages"].values():
        if entry.get("status") != "ok":
            continue
        base = ref_detail if entry["kind"] == "detail" else ref_list
        if entry.get("paired_reference", {}).get("rps"):
            base = entry["paired_reference"]["rps"]
        if base:
            entry["ratio"] = round(entry["rps"] / base, 2)
        target = TARGETS.get(entry["kind"])
        if target is not None and "ratio" in entry:
            entry["target"] = f"ratio >= {target}"
            entry["met"] = entry["ratio"] >= target
    fragment = result["pages"].get("threads_fragment")
    if fragment and fragment.get("status") == "ok":
        fragment["size_met"] = fragment["bytes"] < FRAGMENT_LIMIT
    claim = result.get("claim")
    if claim and claim.get("p99_ms") is not None and claim.get("status") in ("ok", "errors"):
        claim["met"] = claim["p99_ms"] < CLAIM_P99_TARGET_MS and claim["status"] == "ok" \
            and not claim["duplicate_claims"] and not claim["owners_over_batch"]


# ---------------------------------------------------------------------------------------------
# Reports


def peak_rss(memory):
    return max((w["peak_rss_mib"] for w in memory or []), default=None)


def table(results, backend=None):
    rows = [("backend", "page", "status", "req/s", "p50 ms", "p99 ms", "bytes", "ref req/s",
             "ratio", "target", "peak RSS MiB")]
    for res in results:
        b = res["backend"]
        if backend and b != backend:
            continue
        for name, ref in res["references"].items():
            rows.append((b, ref["label"], ref["status"], _f(ref.get("rps")), _f(ref.get("p50_ms")),
                         _f(ref.get("p99_ms")), _f(ref.get("bytes")), "", "", "",
                         _f(peak_rss(ref.get("rss")))))
        for name, page in res["pages"].items():
            target = ""
            if "met" in page:
                target = ("met" if page["met"] else "MISSED") + f" ({page['target']})"
            if name == "threads_fragment" and "size_met" in page:
                target += (" · " if target else "") + ("< 10 KB met" if page["size_met"]
                                                        else "< 10 KB MISSED")
            ref_rps = (page.get("paired_reference") or {}).get("rps")
            if ref_rps is None and page.get("ratio"):
                ref_rps = round(page["rps"] / page["ratio"], 1)
            rows.append((b, page["label"], page["status"], _f(page.get("rps")),
                         _f(page.get("p50_ms")), _f(page.get("p99_ms")), _f(page.get("bytes")),
                         _f(ref_rps), _f(page.get("ratio")), target,
                         _f(peak_rss(page.get("rss")))))
        claim = res.get("claim")
        if claim:
            target = ""
            if "met" in claim:
                target = ("met" if claim["met"] else "MISSED") + f" (p99 < {CLAIM_P99_TARGET_MS:g} ms)"
            rows.append((b, f"Claim next, {claim.get('owners', '?')} owners at once (claims/s)",
                         claim["status"], _f(claim.get("claims_per_s")), _f(claim.get("p50_ms")),
                         _f(claim.get("p99_ms")), "", "", "", target, ""))
    return rows


def _f(value):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def markdown(report):
    m = report["machine"]
    o = report["options"]
    lines = [
        "## Performance",
        "",
        f"Measured with `bench/run.py` on {report['finished_at'][:10]}: {report['cases']:,} cases "
        f"(10 000 of them escalated over 12 inboxes), wrk for {o['duration']} s per page after a "
        f"{o['warmup']} s warm-up, {o['connections']} connections, {o['threads']} threads; "
        f"`gunicorn --workers {o['workers']}` for the app and the reference alike, on 127.0.0.1.",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}; Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL "
        f"{m['postgresql'] or 'n/a'}, gunicorn {m['gunicorn']}, peewee {m['peewee']}, "
        f"{m.get('wrk') or 'wrk'}. Load average when the run started: "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}.",
        "",
    ]
    if o.get("pool"):
        lines += ["The app was served through peewee's connection pool (`DATABASE_URL` "
                  "`sqlite+pool://...` / `postgresql+pool://...`); the reference connects per "
                  "request.", ""]
    if report.get("note"):
        lines += [f"**{report['note']}**", ""]
    lines += ["Ratio = the page's requests/s ÷ its reference's requests/s, the reference measured "
              "right before the page (the bare list page for list pages, the bare detail page for "
              "the case page); ≥ 1.0 means at least as fast. Targets: list pages ≥ 1.0, the case "
              "page ≥ 0.5 (within 2×), the 50-row HTMX fragment < 10 KB, claim-next p99 < 50 ms "
              "with 8 owners at once. p50/p99 are wrk's latencies with the connections above, so "
              "they include waiting for a free worker. Peak RSS is the largest gunicorn worker's "
              "VmHWM after the page.", ""]
    for res in report["results"]:
        rows = table([res])
        lines += [f"### {res['backend']}", ""]
        header = [c for i, c in enumerate(rows[0]) if i != 0]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows[1:]:
            lines.append("| " + " | ".join(str(c) for i, c in enumerate(row) if i != 0) + " |")
        lines.append("")
        claim = res.get("claim") or {}
        if claim.get("requests"):
            lines.append(
                f"Claim next: {claim['owners']} owners, each signed in with their own session, "
                f"press it on the same inbox at the same moment, {claim['rounds']} rounds "
                f"({claim['requests']} requests, {claim['cases_claimed']} cases claimed, "
                f"{claim['cases_per_s']} cases/s); statuses {claim['statuses']}; duplicate claims "
                f"{claim['duplicate_claims']}; owners over the batch size "
                f"{claim['owners_over_batch']}.")
        elif claim:
            lines.append(f"Claim next: {claim.get('status')} ({claim.get('note', '')}).")
        frag = res["pages"].get("threads_fragment") or {}
        if frag.get("bytes"):
            lines.append(f"HTMX fragment: {frag['bytes']:,} bytes ({frag.get('gzip_bytes', 0):,} "
                         f"gzipped) for {frag.get('rows')} rows.")
        for key in ("deep_unfiltered_note", "deep_filtered_note"):
            if res.get(key):
                lines.append(f"Deep page ({key.split('_')[1]}): {res[key]}.")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Eskalera benchmark (wrk on 127.0.0.1)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--escalated", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (app and reference)")
    parser.add_argument("--pages", help="comma-separated page names (and 'claim'); default all")
    parser.add_argument("--no-paired", dest="paired", action="store_false",
                        help="do not measure each page's reference right before it (faster; the "
                        "ratio then uses the reference measured at the start and the end)")
    parser.add_argument("--pool", action="store_true",
                        help="serve the app through peewee's connection pool (DATABASE_URL "
                        "sqlite+pool:// / postgresql+pool://); the reference stays bare")
    parser.add_argument("--claim-rounds", type=int, default=25)
    parser.add_argument("--claim-owners", type=int, default=8)
    parser.add_argument("--claim-htmx", action="store_true",
                        help="claim with HX-Request (fragment response) instead of a plain POST")
    parser.add_argument("--reseed", action="store_true", help="seed again even if cached")
    parser.add_argument("--in-place", action="store_true",
                        help="benchmark the cached seeded database itself instead of a throwaway "
                        "copy (for 1 000 000 cases: saves copying gigabytes)")
    parser.add_argument("--keep-database", action="store_true",
                        help="keep the throwaway copy (bench/results/work/ or eskalera_bench_work_<pid>)")
    parser.add_argument("--no-markdown", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument("--compare", help="an earlier results JSON to compare with (e.g. 100k vs 1M)")
    parser.add_argument("--note", default="Numbers taken on a shared 2-core machine while other "
                        "work was running are provisional.")
    args = parser.parse_args(argv)
    if args.duration > 120 or args.claim_rounds > 500:
        parser.error("bounded runs only: --duration <= 120, --claim-rounds <= 500")
    all_names = {p[0] for p in PAGES} | {"claim"}
    selected = set(args.pages.split(",")) if args.pages else all_names
    unknown = selected - all_names
    if unknown:
        parser.error(f"unknown pages: {', '.join(sorted(unknown))} (known: {', '.join(sorted(all_names))})")
    for port in (APP_PORT, REF_PORT):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                parser.error(f"port {port} is in use (another benchmark running?)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    report = {"started_at": started.isoformat(timespec="seconds"), "cases": args.cases,
              "machine": machine_description(), "options": vars(args), "note": args.note,
              "results": []}
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        t0 = time.monotonic()
        report["results"].append(bench_backend(backend, args, selected))
        log(f"[{backend}] done in {time.monotonic() - t0:.0f} s")
    report["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds())
    if args.compare:
        report["comparison"] = compare(report, json.loads(Path(args.compare).read_text()))
    rows = table(report["results"])
    print()
    print_table(rows)
    if report.get("comparison"):
        print()
        print_table(report["comparison"]["rows"])
    stamp = started.strftime("%Y%m%d-%H%M%S")
    tag = f"{args.cases}{'-pool' if args.pool else ''}"
    out = RESULTS / f"run-{stamp}-{tag}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / f"latest-{tag}.json").write_text(json.dumps(report, indent=2, default=str))
    log(f"\nJSON: {out}")
    if not args.no_markdown:
        text = markdown(report)
        if report.get("comparison"):
            text += "\n" + comparison_markdown(report["comparison"])
        target = BENCH / "RESULTS.md"
        # Notes written by hand below the marker survive a new run.
        if target.exists() and NOTES_MARKER in target.read_text():
            text += "\n" + NOTES_MARKER + target.read_text().split(NOTES_MARKER, 1)[1]
        target.write_text(text)
        log(f"Markdown: {BENCH / 'RESULTS.md'}")
    log(f"Total: {report['seconds']} s")


def compare(report, earlier):
    """This run's figures against an earlier run's (e.g. 1 000 000 cases against 100 000): the
    change in requests/s per backend and page (within 20 % is the target), also normalised by
    each run's hello-world (the machine's speed at the time, which costs the same at any size;
    the reference list page cannot serve here: its COUNT(*) grows with the table)."""
    rows = [("backend", "page", f"req/s @{earlier['cases']:,}", f"req/s @{report['cases']:,}",
             "change", "change / hello-world", "p99 before", "p99 now", "within 20 %")]
    out = []
    before = {r["backend"]: r for r in earlier["results"]}

    def hello(res):
        return (res["references"].get("ref_hello") or {}).get("rps")

    def row(backend, label, was_rps, now_rps, was_p99, now_p99, h_was, h_now):
        change = now_rps / was_rps - 1
        norm = (now_rps / h_now) / (was_rps / h_was) - 1 if h_was and h_now else None
        ok = max(change, norm if norm is not None else change) >= -0.2
        out.append({"backend": backend, "page": label, "before": was_rps, "now": now_rps,
                    "change": change, "normalised_change": norm, "within_20": ok})
        rows.append((backend, label, _f(was_rps), _f(now_rps), f"{change:+.0%}",
                     f"{norm:+.0%}" if norm is not None else "", _f(was_p99), _f(now_p99),
                     "yes" if ok else "NO"))

    for res in report["results"]:
        old = before.get(res["backend"])
        if not old:
            continue
        h_was, h_now = hello(old), hello(res)
        for name, page in res["pages"].items():
            was = old["pages"].get(name)
            if page.get("status") != "ok" or not was or was.get("status") != "ok":
                continue
            row(res["backend"], page["label"], was["rps"], page["rps"], was.get("p99_ms"),
                page.get("p99_ms"), h_was, h_now)
        claim, was = res.get("claim") or {}, old.get("claim") or {}
        if claim.get("claims_per_s") and was.get("claims_per_s"):
            row(res["backend"], "Claim next (claims/s)", was["claims_per_s"],
                claim["claims_per_s"], was.get("p99_ms"), claim.get("p99_ms"), h_was, h_now)
    return {"earlier_cases": earlier["cases"], "rows": rows, "pairs": out}


def comparison_markdown(comparison):
    rows = comparison["rows"]
    lines = [f"### Against {comparison['earlier_cases']:,} cases", "",
             "| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
