"""SQL text compiled once per process and reused with each request's values.

peewee builds a query's SQL in Python on every run: 0.2-2 ms per query on a list page (more with
many terms, union arms or a long ``IN`` list), which on the threads view and the owners' overview
cost more than running the SQL. A query whose text depends only on a known *shape* (which filters
are set, how many ids a list holds) is compiled here once per shape and backend, with stand-in
values; later runs put the request's values where the stand-ins were.

    rows = sqlcache.rows(("threads.rows", shape), build, org_id, queue_id, now)

``rows`` gives plain tuples, ``select`` what iterating the query gives (models with their joins,
dicts...), ``models`` instances of one model from a flat select. ``build(*args)`` returns the
peewee query. The key names everything besides the values that
changes the SQL text. Each value is an int, a str or a datetime, or a tuple of them (an ``IN``
list; ``padded`` keeps the number of shapes small); None and booleans change the text (``IS
NULL``), so they belong to the key, never to the values. A value must reach the SQL as a
parameter unchanged (``contains(text)`` makes ``'%text%'``: such a query is not for this cache).

The first run of a key checks itself: the query built with the real values must give the same
text and the same parameters as the cached form; if not (a value used in a way this cannot
follow), that key is compiled on every run instead, which is always correct.
"""
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from .db import database

LIMIT = 512  # shapes kept per process (least recently used dropped first)

_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()  # for threaded workers; compiling happens outside it
_UNCACHEABLE = object()


def padded(ids) -> tuple:
    """``ids`` as a sorted tuple padded to a power of two by repeating its last id (the same
    ``IN`` list), so that a page of 1 to 50 ids has seven shapes rather than fifty."""
    ids = sorted(set(ids))
    if not ids:
        return ()
    size = 1
    while size < len(ids):
        size *= 2
    return tuple(ids + [ids[-1]] * (size - len(ids)))


def _stand_in(value, index):
    """A value of the same type as ``value`` that no real query uses, unique per index."""
    if isinstance(value, bool) or value is None:
        raise TypeError("None and booleans shape the SQL: put them in the key")
    if isinstance(value, int):
        return -(7_340_000_000_000 + index)
    if isinstance(value, str):
        return f"\x00stand-in-{index}\x00"
    if isinstance(value, datetime):
        return datetime(1901, 2, 3, 4, 5, 6) + timedelta(microseconds=index + 1)
    raise TypeError(f"not a parameter value for the SQL cache: {type(value).__name__}")


def _flatten(args):
    flat = []
    for arg in args:
        if isinstance(arg, tuple):
            flat.extend(arg)
        else:
            flat.append(arg)
    return flat


def _with_stand_ins(args):
    """``args`` with every value replaced by its stand-in, and {stand-in: flat index}."""
    index, out, where = 0, [], {}
    for arg in args:
        if isinstance(arg, tuple):
            values = []
            for value in arg:
                stand = _stand_in(value, index)
                where[(type(stand), stand)] = index
                values.append(stand)
                index += 1
            out.append(tuple(values))
        else:
            stand = _stand_in(arg, index)
            where[(type(stand), stand)] = index
            out.append(stand)
            index += 1
    return out, where


def _compile(db, query):
    return db.get_sql_context().sql(query).query()


def _prepare(db, build, args, real=None):
    """``(sql, slots)``: the text, and per parameter ``(True, flat index)`` for a value or
    ``(False, constant)``; or ``_UNCACHEABLE``. ``real`` is ``build(*args)`` if already built."""
    stand_ins, where = _with_stand_ins(args)
    sql, params = _compile(db, build(*stand_ins))
    slots = []
    for param in params:
        found = where.get((type(param), param)) if not isinstance(param, bool) else None
        if found is not None:
            slots.append((True, found))
        elif isinstance(param, str) and "\x00stand-in-" in param:
            return _UNCACHEABLE  # a value went into the SQL changed
        else:
            slots.append((False, param))
    # Check once with the real values: same text, same parameters.
    real_sql, real_params = _compile(db, build(*args) if real is None else real)
    if real_sql != sql or list(real_params) != _fill(slots, _flatten(args)):
        return _UNCACHEABLE
    return sql, slots


def _fill(slots, flat):
    return [flat[what] if is_value else what for is_value, what in slots]


def execute(key, build, *args):
    """The cursor of ``build(*args)``, run with SQL compiled once per ``key`` and backend."""
    db = database.obj
    return db.execute_sql(*_sql_and_params(db, key, build, args))


def _sql_and_params(db, key, build, args, real=None):
    full_key = (type(db), key)
    with _lock:
        entry = _cache.get(full_key)
        if entry is not None:
            _cache.move_to_end(full_key)
    if entry is None:
        entry = _prepare(db, build, args, real)
        with _lock:
            _cache[full_key] = entry
            if len(_cache) > LIMIT:
                _cache.popitem(last=False)
    if entry is _UNCACHEABLE:
        return _compile(db, build(*args) if real is None else real)
    sql, slots = entry
    return sql, _fill(slots, _flatten(args))


def rows(key, build, *args) -> list[tuple]:
    """Every row of ``build(*args)`` as a plain tuple (no field conversions: for columns the
    driver already returns as Python wants them: ids, counts, text)."""
    return execute(key, build, *args).fetchall()


def select(key, build, *args) -> list:
    """Every result of ``build(*args)`` as peewee gives it (model instances with the models
    they join, dicts or tuples, as the query asks), with the SQL compiled once per key. The
    query is still built each time (that is cheap; its shape tells peewee how to read the
    rows), only not compiled."""
    db = database.obj
    query = build(*args)
    cursor = db.execute_sql(*_sql_and_params(db, key, build, args, query))
    return list(query._get_cursor_wrapper(cursor))  # what iterating the query would do


def models(model, key, build, *args) -> list:
    """``build(*args)`` as ``model`` instances (each column set on the field of its name, with
    the field's conversion, as ``Model.raw`` does; other columns become attributes)."""
    db = database.obj
    sql, params = _sql_and_params(db, key, build, args)
    return list(model.raw(sql, *params))


def clear():
    with _lock:
        _cache.clear()
