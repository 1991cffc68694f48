"""End-to-end fixtures: the real app under gunicorn (2 workers) and Debian's Chromium via Playwright.

How to write an e2e test (tests/e2e/test_<area>_e2e.py)::

    import pytest
    from playwright.sync_api import expect
    from tests import factories
    from tests.e2e.helpers import sign_in

    def test_agent_answers(live_server, new_page, agent):   # `agent`, `org`... are in the live DB
        with live_server.db():                               # more data, written where gunicorn reads
            case = factories.make_case(agent.organisation, assignee=agent)
        page = new_page(locale="sv-SE")                      # a fresh browser context
        sign_in(page, live_server, agent)
        page.goto(live_server.url + f"/cases/{case.id}")
        expect(page.locator("h1")).to_contain_text(case.subject)

What is there:

- ``live_server``: function scope. A gunicorn master with 2 sync workers runs ``app:app`` on
  127.0.0.1 (a free port) against a database migrated with ``escalation.migrations.run``. The
  server itself is started once per backend for the whole session (workers open one connection per
  request, so nothing is held between tests); every test starts on the freshly migrated, empty
  database (SQLite: restored from a copy taken right after the migrations; PostgreSQL: every table
  but ``schema_migration`` truncated, ids restarted). It has ``.url``
  (``http://127.0.0.1:PORT``, no trailing slash), ``.db_url``, ``.backend`` ("sqlite" or
  "postgres"), ``.db()`` (a context manager that points ``escalation.db.database`` at that
  database and opens a connection, so tests/factories.py writes where the server reads; it restores
  the previous binding on exit) and ``.log_tail()`` (the server's recent log; it is also attached
  to the report of a failing test).
- The backend is SQLite unless the test says otherwise:
  ``@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])`` runs it on both. PostgreSQL
  uses the root conftest's throwaway database (``postgres_database``), so it skips with the reason
  where no server is reachable, and fails instead under ESKALERA_REQUIRE_POSTGRES=1.
- The root conftest's people fixtures work here: ``db_url`` is overridden to the live server's
  database (not parametrised), so ``org``, ``other_org``, ``agent``, ``supervisor``, ``admin``,
  ``owner``, ``outsider`` and ``db`` are created in the database gunicorn serves. Requesting them
  also builds a Flask test ``app`` on that URL, which is harmless.
- Extra server settings: override the ``live_server_env`` fixture (a dict of environment
  variables, e.g. ``{"FLASK_LOGIN_MAX_FAILURES": "2"}``) in your module or parametrize it; each
  distinct env gets its own server.
- ``browser``: session scope, headless Chromium at /usr/bin/chromium. Skips with the reason when
  Chromium or Playwright is missing; with ESKALERA_REQUIRE_BROWSER=1 (set by .ci/run) it fails.
- ``new_page(locale="en-GB", java_script_enabled=True, viewport=None, **context_options)``: a page
  in a NEW browser context (own cookies) each call, closed after the test; call it twice for two
  people, ``java_script_enabled=False`` for the plain-forms journey. ``locale`` sets both
  ``navigator.language`` and the Accept-Language header.
- ``page``: ``new_page(locale=browser_locale)``; ``browser_locale`` is "en-GB" unless a test
  parametrizes it (``@pytest.mark.parametrize("browser_locale", ["sv-SE"])``).
- ``tests/e2e/helpers.py``:
  ``sign_in(page, server, member, goto="/")`` signs in in the page's context (posts the sign-in
  form's fields with its CSRF token through ``page.context.request``, so the cookie is the
  context's) and opens ``goto``: fast, for tests about something else;
  ``sign_in_with_form(page, server, member)`` drives the real sign-in form as a person would;
  ``sign_out(page)``; ``csrf_post(page, path, data, htmx=False)``;
  ``mark_document(page)`` / ``same_document(page)`` tell an htmx swap from a full page load;
  ``sv("English msgid")`` is the Swedish catalog's translation (fails when there is none).
- Every test in this folder gets the ``e2e`` marker automatically (``-m e2e`` / ``-m "not e2e"``).
- Wait on real conditions only: ``expect(page).to_have_url(...)``,
  ``expect(locator).to_contain_text(...)``; the default expect timeout is raised to 15 s for
  this shared 2-core machine. Never ``time.sleep`` / ``wait_for_timeout``.
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from escalation import migrations
from escalation.db import database, open_database

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
REQUIRE_BROWSER = os.environ.get("ESKALERA_REQUIRE_BROWSER") == "1"
SERVER_START_SECONDS = 60
EXPECT_TIMEOUT_MS = 15_000
ACTION_TIMEOUT_MS = 15_000
E2E_DIR = Path(__file__).resolve().parent


# ------------------------------------------------------------------------------------------------
# Marking

def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the live server's log to a failing e2e test's report."""
    report = yield
    server = item.funcargs.get("live_server") if hasattr(item, "funcargs") else None
    if report.failed and server is not None:
        report.sections.append(("gunicorn log (tail)", server.log_tail()))
    return report


# ------------------------------------------------------------------------------------------------
# Databases for the live servers

def _empty_sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'eskalera-e2e.db'}"


def _migrate(url: str) -> list[str]:
    """Run the migrations; return the tables to empty before each test."""
    db = open_database(url)
    migrations.run(db)
    with db.connection_context():
        tables = [t for t in db.get_tables() if t != "schema_migration"]
    db.close()
    return tables


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def _snapshot_sqlite(url: str, snapshot: Path) -> None:
    """Keep a copy of the freshly migrated database (SQLite's online backup)."""
    with sqlite3.connect(_sqlite_path(url)) as live, sqlite3.connect(snapshot) as copy:
        live.backup(copy)
    live.close()
    copy.close()


def _restore_sqlite(url: str, snapshot: Path) -> None:
    """Put the freshly migrated database back in place under the running server (the audit
    trail refuses DELETE, so tables cannot simply be emptied). The journal mode (WAL) is kept."""
    with sqlite3.connect(snapshot) as copy, sqlite3.connect(_sqlite_path(url), timeout=30) as live:
        copy.backup(live)
        mode = live.execute("PRAGMA journal_mode").fetchone()[0]
    live.close()
    copy.close()
    assert mode == "wal", f"the live database lost WAL mode ({mode})"


def _truncate_postgres(url: str, tables: list[str]) -> None:
    from tests.conftest import empty_postgres_database
    empty_postgres_database(url, tables)


# ------------------------------------------------------------------------------------------------
# The live server

class LiveServer:
    """gunicorn running ``app:app`` with several workers on a free port of 127.0.0.1."""

    def __init__(self, db_url: str, backend: str, workdir: Path, env: dict | None = None,
                 workers: int = 2):
        self.db_url = db_url
        self.backend = backend
        self.workdir = workdir
        self.extra_env = dict(env or {})
        self.workers = workers
        self.url = None
        self.process = None
        self.log_path = workdir / "gunicorn.log"
        self.snapshot = workdir / "migrated.db"
        self.tables = []
        self._database = None

    # -- lifecycle

    def start(self):
        self.tables = _migrate(self.db_url)
        if self.backend == "sqlite":
            _snapshot_sqlite(self.db_url, self.snapshot)
        env = dict(os.environ)
        env.update({"DATABASE_URL": self.db_url, "SECRET_KEY": f"e2e-{uuid.uuid4().hex}",
                    "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "default"})
        env.update(self.extra_env)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "--bind", "127.0.0.1:0", "--workers", str(self.workers),
                   "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "-",
                   "--error-logfile", "-", "--log-level", "info", "app:app"]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.url = self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_answering(self) -> str:
        deadline = time.monotonic() + SERVER_START_SECONDS
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if url is None:
                found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self._read_log())
                url = found.group(1) if found else None
            if url is not None and self._answers(url):
                return url
            time.sleep(0.1)  # polling a starting process, not a test wait
        raise RuntimeError(f"gunicorn did not answer within {SERVER_START_SECONDS}s:\n{self.log_tail()}")

    @staticmethod
    def _answers(url) -> bool:
        try:
            with urllib.request.urlopen(url + "/auth/login", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self._database is not None and not self._database.is_closed():
            self._database.close()

    # -- between tests

    def reset(self):
        """Back to the freshly migrated database, so each test starts from a known state."""
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn has exited:\n{self.log_tail()}")
        if self.backend == "sqlite":
            _restore_sqlite(self.db_url, self.snapshot)
        else:
            _truncate_postgres(self.db_url, self.tables)
        self._log_offset = self.log_path.stat().st_size

    # -- for tests

    @contextmanager
    def db(self):
        """Bind ``escalation.db.database`` to this server's database with an open connection."""
        if self._database is None:
            self._database = open_database(self.db_url)
        previous = database.obj
        database.initialize(self._database)
        opened = self._database.connect(reuse_if_open=True)
        try:
            yield self._database
        finally:
            if opened:
                self._database.close()
            database.obj = previous

    def path(self, path: str) -> str:
        return self.url + path

    def _read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        text = self._read_log()[getattr(self, "_log_offset", 0):]
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self):
        return f"<LiveServer {self.backend} {self.url}>"


@pytest.fixture(scope="session")
def _live_servers(compiled_catalogs):
    """Servers started on first use, one per (backend, env); all stopped at session end."""
    servers = {}
    workdir = Path(tempfile.mkdtemp(prefix="eskalera-e2e-"))

    def get(backend: str, env: dict, postgres_url: str | None) -> LiveServer:
        key = (backend, tuple(sorted(env.items())))
        if key not in servers:
            directory = workdir / f"server-{len(servers)}"
            directory.mkdir()
            url = _empty_sqlite_url(directory) if backend == "sqlite" else postgres_url
            servers[key] = LiveServer(url, backend, directory, env).start()
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def e2e_backend():
    """"sqlite" unless a test parametrizes it: ``@pytest.mark.parametrize("e2e_backend", [...])``."""
    return "sqlite"


@pytest.fixture
def live_server_env():
    """Extra environment for gunicorn (override or parametrize for special settings)."""
    return {}


@pytest.fixture
def live_server(request, _live_servers, e2e_backend, live_server_env):
    postgres_url = None
    if e2e_backend == "postgres":
        # The root conftest's throwaway database (it skips, or fails under
        # ESKALERA_REQUIRE_POSTGRES=1, where no server is reachable). Tests run one at a time and
        # each starts by emptying it, so sharing it with the unit tests is safe.
        postgres_url = request.getfixturevalue("postgres_database")["url"]
    server = _live_servers(e2e_backend, live_server_env, postgres_url)
    server.reset()
    yield server
    if not database.is_closed():
        database.close()


@pytest.fixture
def db_url(live_server):
    """The root conftest's fixtures (org, agent, db...) use the live server's database here,
    once, not parametrised over both backends."""
    return live_server.db_url


# ------------------------------------------------------------------------------------------------
# The browser

def _browser_unavailable(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(reason + " (ESKALERA_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _playwright():
    if not os.path.exists(CHROMIUM):
        _browser_unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        _browser_unavailable(f"Playwright for Python is not installed: {exc}")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser):
    """``new_page(locale="en-GB", java_script_enabled=True, viewport=None, **options)``: a page
    in a fresh browser context (its own cookies). Contexts are closed after the test."""
    contexts = []

    def make(locale="en-GB", java_script_enabled=True, viewport=None, **options):
        if viewport is not None:
            options["viewport"] = viewport
        context = browser.new_context(locale=locale, java_script_enabled=java_script_enabled,
                                      **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browser_locale():
    return "en-GB"


@pytest.fixture
def page(new_page, browser_locale):
    return new_page(locale=browser_locale)
