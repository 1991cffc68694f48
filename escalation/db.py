"""The database: a proxy initialised from ``DATABASE_URL``; a connection per request, taken
from the worker's pool (``DATABASE_POOL``) and given back when the request ends.

The one place where SQLite and PostgreSQL differ:
- SQLite runs in WAL mode with foreign keys, ``synchronous=FULL`` and a busy timeout, and every
  transaction begins IMMEDIATE, so a transaction that reads and then writes never fails to upgrade
  its lock; writers queue on the busy timeout instead.
- PostgreSQL takes row locks that skip rows other transactions hold (``skip_locked``).

Pooling saves what opening a connection costs on every request: a forked backend and a cold
catalog cache on PostgreSQL (8-18 ms), the pragmas and the schema parse on SQLite (~3 ms). A
connection given back inside a transaction is rolled back first (peewee's pools check this); a
PostgreSQL connection the server closed is dropped when it is next taken (the request that finds
it broken fails once).
"""
from peewee import Case, Cast, DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase, Value
from playhouse.db_url import connect

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def _pooled(url: str, pool: int, stale: int) -> tuple[str, dict]:
    """``url`` with peewee's pooled scheme (``sqlite+pool``, ``postgresql+pool``) and the pool's
    settings, unless the URL names a pool already or ``pool`` is 0."""
    scheme, sep, rest = url.partition("://")
    if not pool or "+pool" in scheme:
        return url, {}
    return f"{scheme}+pool{sep}{rest}", {"max_connections": pool, "stale_timeout": stale,
                                         "timeout": 30}


def open_database(url: str, *, busy_timeout: float = 10.0, pool: int = 0, pool_stale: int = 300):
    """A peewee Database for ``url`` with our settings for its backend (no connection is opened).
    With ``pool`` > 0 connections are kept for reuse, at most ``pool`` at a time per process."""
    url, pooling = _pooled(url, pool, pool_stale)
    if url.startswith("sqlite"):
        # Pooled, ``timeout`` is the pool's wait for a free connection and the busy_timeout
        # pragma is sqlite3's wait for a lock; a pooled connection may serve another thread
        # later (never two at once).
        options = {"timeout": busy_timeout} if not pooling else \
            {**pooling, "check_same_thread": False}
        return connect(
            url,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "synchronous": "full",
                     "busy_timeout": int(busy_timeout * 1000)},
            lock_type="IMMEDIATE",
            **options,
        )
    return connect(url, **pooling)


def close_pool():
    """Close every connection the pool keeps (tests and CLI commands that end their database)."""
    if database.obj is not None:
        if not database.is_closed():
            database.close()
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()


def init_app(app):
    database.initialize(open_database(app.config["DATABASE_URL"],
                                      busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"],
                                      pool=app.config["DATABASE_POOL"],
                                      pool_stale=app.config["DATABASE_POOL_STALE"]))

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


def bulk_update(model, rows, fields):
    """One ``UPDATE ... SET column = CASE id WHEN ... END ... WHERE id IN (...)`` for several rows,
    each column cast to its type (PostgreSQL reads bare parameters in a CASE as text)."""
    types = database.obj._field_types if is_postgres() else None
    key = model._meta.primary_key
    changes = {}
    for field in fields:
        value = Case(key, [(row.id, Value(field.db_value(getattr(row, field.name)), unpack=False))
                           for row in rows])
        changes[field] = Cast(value, types[field.field_type]) if types else value
    return model.update(changes).where(key.in_([row.id for row in rows])).execute()
