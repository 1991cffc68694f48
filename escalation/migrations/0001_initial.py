"""The core schema: organisations, members, queues, contacts, cases, messages, inboxes,
escalations, claims and the append-only audit trail."""
from peewee import PostgresqlDatabase

from ..models import CORE_MODELS


def migrate(migrator, database):
    database.create_tables(CORE_MODELS)
    # The audit trail is append-only: the database itself refuses UPDATE and DELETE of its rows.
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql")
        database.execute_sql(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    else:
        for op in ("UPDATE", "DELETE"):
            database.execute_sql(
                f"CREATE TRIGGER audit_event_no_{op.lower()} BEFORE {op} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
