"""The database: a proxy initialised from ``DATABASE_URL``; one connection per request.

The one place where SQLite and PostgreSQL differ:
- SQLite runs in WAL mode with foreign keys, ``synchronous=FULL`` and a busy timeout, and every
  transaction begins IMMEDIATE, so a transaction that reads and then writes never fails to upgrade
  its lock; writers queue on the busy timeout instead.
- PostgreSQL takes row locks that skip rows other transactions hold (``skip_locked``).
"""
from peewee import DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_database(url: str, *, busy_timeout: float = 10.0):
    """A peewee Database for ``url`` with our settings for its backend (no connection is opened)."""
    if url.startswith("sqlite"):
        return connect(
            url,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "synchronous": "full",
                     "busy_timeout": int(busy_timeout * 1000)},
            timeout=busy_timeout,
            lock_type="IMMEDIATE",
        )
    return connect(url)


def init_app(app):
    database.initialize(open_database(app.config["DATABASE_URL"],
                                      busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"]))

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def is_sqlite() -> bool:
    return isinstance(database.obj, SqliteDatabase)


def skip_locked(query):
    """Lock the selected rows for this transaction, skipping rows other transactions hold.

    On PostgreSQL: ``FOR UPDATE SKIP LOCKED``. On SQLite the whole write transaction already holds
    the database's write lock (BEGIN IMMEDIATE), so the query is returned unchanged.
    """
    if is_postgres():
        return query.for_update(skip_locked=True)
    return query
