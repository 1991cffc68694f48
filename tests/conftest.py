"""Fixtures: a function-scoped app on a real database, parametrised over SQLite and PostgreSQL.

- SQLite: a temporary file per test (never ``sqlite://`` in memory: the app uses several
  connections), with the schema built by the migrations.
- PostgreSQL: a throwaway database per test session on 127.0.0.1:5432, built by the same
  migrations, its tables truncated before each test. Where no server is reachable these tests
  skip with the reason; with ``ESKALERA_REQUIRE_POSTGRES=1`` (set by .ci/run) they fail instead.
"""
import os
import re
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from escalation import create_app
from escalation.catalogs import compile_catalogs
from escalation import migrations
from escalation.db import close_pool, database, open_database

from . import factories

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("ESKALERA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("ESKALERA_REQUIRE_POSTGRES") == "1"


# ------------------------------------------------------------------------------------------------
# Catalogs: compiled once per run, as the README's commands and CI do.

@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    compile_catalogs(ROOT / "translations")


# ------------------------------------------------------------------------------------------------
# Databases

def _pg_admin_connect():
    import psycopg2
    from urllib.parse import urlsplit
    parts = urlsplit(PG_ADMIN_URL)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                            password=parts.password, dbname=parts.path.lstrip("/") or "postgres",
                            connect_timeout=3)
    conn.autocommit = True
    return conn


def _pg_url(name):
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


@pytest.fixture(scope="session")
def postgres_database():
    """Create a throwaway database for this test session, migrated; drop it at the end."""
    try:
        admin = _pg_admin_connect()
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        reason = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}".strip()
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (ESKALERA_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    name = f"eskalera_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    db = open_database(url)
    migrations.run(db)
    with db.connection_context():
        tables = [t for t in db.get_tables() if t != "schema_migration"]
    db.close()
    yield {"url": url, "tables": tables}
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """The URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'eskalera-test.db'}"
        migrations.run(open_database(url))
        return url
    pg = request.getfixturevalue("postgres_database")
    empty_postgres_database(pg["url"], pg["tables"])
    return pg["url"]


def empty_postgres_database(url, tables):
    """Delete every row and restart every id sequence. Ten times faster than TRUNCATE for a few
    rows in many tables; triggers (the audit trail's append-only guard) and foreign-key checks are
    off for this transaction only (session_replication_role = replica)."""
    db = open_database(url)
    with db.connection_context():
        with db.atomic():
            db.execute_sql("SET LOCAL session_replication_role = replica")
            for table in tables:
                db.execute_sql(f'DELETE FROM "{table}"')
            sequences = db.execute_sql(
                "SELECT sequence_name FROM information_schema.sequences "
                "WHERE sequence_schema = 'public'").fetchall()
            for (sequence,) in sequences:
                db.execute_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
    db.close()


@pytest.fixture
def backend(db_url):
    return "postgres" if db_url.startswith("postgres") else "sqlite"


# ------------------------------------------------------------------------------------------------
# The app, its client and the database connection of the test itself

class Client(FlaskClient):
    """A test client that keeps the CSRF token of the last page it saw and sends it with every
    POST as ``X-CSRFToken`` (pass ``csrf=False`` to leave it out), as base.html's hx-headers does."""

    csrf_token = None
    _meta = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

    def open(self, *args, **kwargs):
        csrf = kwargs.pop("csrf", True)
        htmx = kwargs.pop("htmx", False)
        headers = dict(kwargs.pop("headers", None) or {})
        method = (kwargs.get("method") or "GET").upper()
        if htmx:
            headers.setdefault("HX-Request", "true")
            if htmx == "boosted":
                headers.setdefault("HX-Boosted", "true")
        if method == "POST" and csrf:
            if self.csrf_token is None:
                self.refresh_csrf()
            headers.setdefault("X-CSRFToken", self.csrf_token)
        response = super().open(*args, headers=headers, **kwargs)
        if response.mimetype == "text/html":
            found = self._meta.search(response.get_data(as_text=True))
            if found:
                self.csrf_token = found.group(1)
        return response

    def refresh_csrf(self):
        self.csrf_token = None
        response = super().open("/auth/account" if self._signed_in() else "/auth/login")
        found = self._meta.search(response.get_data(as_text=True))
        assert found, "no CSRF token on the page"
        self.csrf_token = found.group(1)

    def _signed_in(self):
        with self.session_transaction() as session:
            return "_user_id" in session


@pytest.fixture
def app(db_url):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "test-secret-key",
        "LOGIN_MAX_FAILURES": 5,
    })
    app.test_client_class = Client
    yield app
    close_pool()  # the app's pooled connections end with its test


@pytest.fixture
def db(app):
    """An open connection for the test's own reads and writes (the app's proxy database)."""
    database.connect(reuse_if_open=True)
    yield database
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


# ------------------------------------------------------------------------------------------------
# People

@pytest.fixture
def org(db):
    return factories.make_org(name="Acme Support", slug="acme")


@pytest.fixture
def other_org(db):
    return factories.make_org(name="Other Org", slug="other")


@pytest.fixture
def agent(org):
    return factories.make_member(org, "agent", name="Alice Agent", email="alice@example.test")


@pytest.fixture
def supervisor(org):
    return factories.make_member(org, "supervisor", name="Sam Supervisor", email="sam@example.test")


@pytest.fixture
def admin(org):
    return factories.make_member(org, "admin", name="Ada Admin", email="ada@example.test")


@pytest.fixture
def owner(org):
    return factories.make_member(org, "owner", name="Olle Owner", email="olle@example.test",
                                 locale="sv")


@pytest.fixture
def outsider(other_org):
    return factories.make_member(other_org, "owner", name="Otto Outsider", email="otto@example.test")


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, member, password=factories.PASSWORD):
        response = self.client.post("/auth/login", data={"email": member.user.email,
                                                         "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.client.refresh_csrf()
        return response

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login(client):
    """``login(member)`` signs the test client in as that member."""
    actions = AuthActions(client)
    return actions.login
