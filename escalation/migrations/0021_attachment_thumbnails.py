"""Thumbnails of image attachments, stored in the database like the attachments themselves."""
from ..escalations.models import THUMBNAIL_MODELS


def migrate(migrator, database):
    database.create_tables(THUMBNAIL_MODELS)
