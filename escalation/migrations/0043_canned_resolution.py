"""Canned responses and confirmed resolutions."""
from ..sla.models import RESOLUTION_MODELS


def migrate(migrator, database):
    database.create_tables(RESOLUTION_MODELS)
