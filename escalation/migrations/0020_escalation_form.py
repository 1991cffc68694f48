"""The escalation form: service catalog, escalation paths, packets and attachments."""
from peewee import PostgresqlDatabase

from ..escalations.models import MODELS

FROZEN = "data_json, escalation_id, case_id, submitted_at"


def migrate(migrator, database):
    database.create_tables(MODELS)
    # A packet is the form as it was submitted: the database refuses to change what it says.
    # (Its links to an item or a member may still be cleared when those go away.)
    if isinstance(database, PostgresqlDatabase):
        database.execute_sql(
            "CREATE FUNCTION escalation_packet_frozen() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'escalation_packet is immutable'; END; $$ LANGUAGE plpgsql")
        database.execute_sql(
            f"CREATE TRIGGER escalation_packet_no_update BEFORE UPDATE OF {FROZEN} "
            "ON escalation_packet FOR EACH ROW EXECUTE FUNCTION escalation_packet_frozen()")
    else:
        database.execute_sql(
            f"CREATE TRIGGER escalation_packet_no_update BEFORE UPDATE OF {FROZEN} "
            "ON escalation_packet BEGIN SELECT RAISE(ABORT, 'escalation_packet is immutable'); END")
