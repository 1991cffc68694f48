"""The database connection: pooled by default (a worker keeps its connections between
requests), one per request when ``DATABASE_POOL`` is 0; a connection given back inside a
transaction never carries that transaction into the next request."""
from playhouse.pool import PooledDatabase

from escalation import create_app
from escalation.db import close_pool, database, open_database
from escalation.models import Organisation


def test_urls_open_pooled_databases_unless_pooling_is_off(db_url):
    assert isinstance(open_database(db_url, pool=4), PooledDatabase)
    assert not isinstance(open_database(db_url), PooledDatabase)


def test_requests_reuse_the_workers_connection(app, client):
    assert isinstance(database.obj, PooledDatabase)
    client.get("/auth/login")
    database.connect(reuse_if_open=True)
    first = database.connection()
    database.close()
    client.get("/auth/login")
    database.connect(reuse_if_open=True)
    assert database.connection() is first
    database.close()


def test_a_connection_given_back_mid_transaction_is_rolled_back(app, db):
    database.close()
    database.connect()
    database.begin()
    Organisation.create(name="Half done", slug="half-done")
    database.close()  # back to the pool with the transaction open
    database.connect()
    assert not database.in_transaction()
    assert not Organisation.select().where(Organisation.slug == "half-done").exists()


def test_pooling_can_be_turned_off(db_url):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "x",
                      "DATABASE_POOL": 0})
    try:
        assert not isinstance(database.obj, PooledDatabase)
        assert app.test_client().get("/auth/login").status_code == 200
    finally:
        close_pool()


def test_bulk_update_writes_each_rows_own_values_nulls_and_times_included(db, org):
    from datetime import datetime

    from escalation.db import bulk_update
    from escalation.models import Contact
    first = Contact.create(organisation=org, name="Ada", email="ada@example.com")
    second = Contact.create(organisation=org, name="Bo", email="bo@example.com")
    untouched = Contact.create(organisation=org, name="Cy", email="cy@example.com")
    first.name, first.email = "Ada L.", None
    second.name, second.created_at = "Bo K.", datetime(2026, 1, 2, 3, 4, 5)
    assert bulk_update(Contact, [first, second],
                       [Contact.name, Contact.email, Contact.created_at]) == 2
    rows = {c.id: c for c in Contact.select()}
    assert (rows[first.id].name, rows[first.id].email) == ("Ada L.", None)
    assert (rows[second.id].name, rows[second.id].created_at) == ("Bo K.",
                                                                 datetime(2026, 1, 2, 3, 4, 5))
    assert rows[untouched.id].name == "Cy"
