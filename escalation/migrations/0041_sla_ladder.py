"""SLA: breach ladder steps and their firings (unique per clock and step)."""
from ..sla.models import LADDER_MODELS


def migrate(migrator, database):
    database.create_tables(LADDER_MODELS)
