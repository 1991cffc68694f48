"""SLA: calendars, policies, tier targets, case tracks and clocks."""
from ..sla.models import CLOCK_MODELS


def migrate(migrator, database):
    database.create_tables(CLOCK_MODELS)
