"""Routing directory entries linked to the service catalog (issue 5): the catalog item or category
an entry is for, so a case that came in through it is offered the entry first.

0030 creates the handoff tables from the current models, so on a new database the columns exist
already; they are added only where an older 0030 made the table without them.
"""
from peewee import IntegerField
from playhouse.migrate import migrate as apply

TABLE = "handoff_routing_entry"


def migrate(migrator, database):
    present = {column.name for column in database.get_columns(TABLE)}
    for name in ("catalog_category_id", "catalog_item_id"):
        if name not in present:
            apply(migrator.add_column(TABLE, name, IntegerField(null=True)))
