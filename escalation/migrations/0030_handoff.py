"""Work sessions, checklists, handoff codes (settings, attempts, notices) and the routing
directory."""
from ..handoff.models import HANDOFF_MODELS


def migrate(migrator, database):
    database.create_tables(HANDOFF_MODELS)
