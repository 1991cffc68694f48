"""Knowledge articles and their links to cases."""
from ..sla.models import ARTICLE_MODELS


def migrate(migrator, database):
    database.create_tables(ARTICLE_MODELS)
