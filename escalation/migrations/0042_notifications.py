"""Notifications (in-app and email outbox)."""
from ..sla.models import NOTIFICATION_MODELS


def migrate(migrator, database):
    database.create_tables(NOTIFICATION_MODELS)
