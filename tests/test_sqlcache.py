"""escalation.sqlcache: SQL compiled once per shape and backend, run with each call's values,
giving what peewee gives; anything it cannot follow is compiled on every run instead."""
from datetime import timedelta

import pytest
from peewee import fn

from escalation import sqlcache
from escalation.models import Case, Contact, Member, Queue, User

from . import factories
from .factories import NOW


@pytest.fixture(autouse=True)
def empty_cache():
    sqlcache.clear()
    yield
    sqlcache.clear()


@pytest.fixture
def compiles(monkeypatch):
    """How many times peewee compiled a query through the cache."""
    calls = []
    real = sqlcache._compile

    def counting(db, query):
        calls.append(query)
        return real(db, query)

    monkeypatch.setattr(sqlcache, "_compile", counting)
    return calls


def open_cases(org_id, queue_ids, since, limit):
    return (Case.select(Case.id, Case.subject)
            .where((Case.organisation == org_id) & Case.queue.in_(queue_ids)
                   & (Case.created_at >= since) & Case.status.in_(("open", "waiting")))
            .order_by(Case.id).limit(limit))


def test_rows_match_peewee_for_every_value(org, other_org, compiles):
    queues = [factories.make_queue(org) for _ in range(3)]
    made = [factories.make_case(org, queues[i % 3], created_at=NOW + timedelta(minutes=i))
            for i in range(9)]
    factories.make_case(other_org)
    for queue_ids, since, limit in [((queues[0].id, queues[1].id), NOW, 10),
                                    ((queues[1].id, queues[2].id), NOW + timedelta(minutes=4), 2),
                                    ((queues[2].id, queues[2].id), NOW, 5)]:
        args = (org.id, queue_ids, since, limit)
        key = ("test.open_cases", len(queue_ids))
        assert sqlcache.rows(key, open_cases, *args) == list(open_cases(*args).tuples())
    # Compiled twice for the first call (stand-ins, then the real values as a check), never after.
    assert len(compiles) == 2
    assert len(made) == 9


def test_select_gives_models_with_their_joins(org, agent, supervisor):
    def members(org_id, ids):
        return (Member.select(Member, User).join(User)
                .where((Member.organisation == org_id) & Member.id.in_(ids)).order_by(Member.id))

    ids = sqlcache.padded([agent.id, supervisor.id])
    first = sqlcache.select(("test.members", len(ids)), members, org.id, ids)
    again = sqlcache.select(("test.members", len(ids)), members, org.id, ids)
    assert [m.user.name for m in first] == [m.user.name for m in again] \
        == [m.user.name for m in members(org.id, ids)]
    assert all("user" in m.__rel__ for m in again)  # no query per row for the user


def test_models_convert_each_column(org):
    case = factories.make_case(org, waiting_since=NOW - timedelta(hours=3))
    found = sqlcache.models(Case, ("test.case",), lambda i: Case.select().where(Case.id == i),
                            case.id)
    assert found[0].waiting_since == NOW - timedelta(hours=3)
    assert found[0].queue_id == case.queue_id


def test_a_value_changed_on_its_way_is_never_cached(org, compiles):
    factories.make_contact(org, name="Lena Lind")
    factories.make_contact(org, name="Per Persson")

    def named(org_id, text):  # contains() makes '%text%': the stand-in cannot be followed
        return Contact.select(Contact.name).where((Contact.organisation == org_id)
                                                  & Contact.name.contains(text))

    assert sqlcache.rows(("test.named",), named, org.id, "Lena") == [("Lena Lind",)]
    assert sqlcache.rows(("test.named",), named, org.id, "Pers") == [("Per Persson",)]
    assert sqlcache._cache[(type(sqlcache.database.obj), ("test.named",))] \
        is sqlcache._UNCACHEABLE


def test_a_key_that_misses_part_of_the_shape_is_caught_on_its_first_run(org):
    queue = factories.make_queue(org)
    factories.make_case(org, queue)

    def by_queue(org_id, queue_id):
        query = Case.select(fn.COUNT(Case.id)).where(Case.organisation == org_id)
        if queue_id > 0:  # the SQL depends on the value: the check sees it
            query = query.where(Case.queue == queue_id)
        return query

    assert sqlcache.rows(("test.by_queue",), by_queue, org.id, queue.id) == [(1,)]
    assert sqlcache.rows(("test.by_queue",), by_queue, org.id, queue.id + 1000) == [(0,)]


def test_none_and_booleans_belong_to_the_key():
    with pytest.raises(TypeError):
        sqlcache._stand_in(None, 0)
    with pytest.raises(TypeError):
        sqlcache._stand_in(True, 0)


def test_padding_keeps_the_shapes_few():
    assert sqlcache.padded([]) == ()
    assert sqlcache.padded([5]) == (5,)
    assert sqlcache.padded([3, 1, 3, 2]) == (1, 2, 3, 3)
    assert {len(sqlcache.padded(range(n))) for n in range(1, 51)} == {1, 2, 4, 8, 16, 32, 64}


def test_the_cache_keeps_the_most_recently_used_shapes(org, monkeypatch):
    monkeypatch.setattr(sqlcache, "LIMIT", 3)

    def count(org_id, ids):
        return Queue.select(fn.COUNT(Queue.id)).where((Queue.organisation == org_id)
                                                      & Queue.id.in_(ids))

    for n in range(1, 6):
        ids = tuple(range(1, n + 1))
        assert sqlcache.rows(("test.count", n), count, org.id, ids) == [(0,)]
    assert [key[1] for key in sqlcache._cache] == [("test.count", 3), ("test.count", 4),
                                                   ("test.count", 5)]
