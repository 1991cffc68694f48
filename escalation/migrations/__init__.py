"""A small migration runner over ``playhouse.migrations``.

Each module ``NNNN_name.py`` in this folder defines ``migrate(migrator, database)``. Applied names
are recorded in ``schema_migration``; ``run`` applies the missing ones in order, each in its own
transaction. The test fixtures build the schema with the same call, so migrations always run.
"""
import importlib
import pkgutil
from pathlib import Path

from peewee import CharField, DateTimeField, Model
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator

from ..clock import utcnow

DIRECTORY = Path(__file__).resolve().parent


def _migration_model(database):
    class SchemaMigration(Model):
        name = CharField(max_length=200, primary_key=True)
        applied_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "schema_migration"

    SchemaMigration._meta.set_database(database)
    return SchemaMigration


def available(directory: Path = DIRECTORY) -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules([str(directory)])
                  if info.name[:4].isdigit())


def migrator_for(database):
    from peewee import PostgresqlDatabase
    target = getattr(database, "obj", database)
    if isinstance(target, PostgresqlDatabase):
        return PostgresqlMigrator(target)
    return SqliteMigrator(target)


def run(database, directory: Path = DIRECTORY) -> list[str]:
    """Apply every migration not applied yet; return the names applied now."""
    from ..db import database as proxy
    target = getattr(database, "obj", database)
    previous = proxy.obj
    proxy.initialize(target)  # the models are bound to the proxy
    try:
        return _run(target, directory)
    finally:
        proxy.obj = previous


def _run(target, directory):
    record = _migration_model(target)
    with target.connection_context():
        target.create_tables([record], safe=True)
        done = {row.name for row in record.select()}
        applied = []
        for name in available(directory):
            if name in done:
                continue
            module = importlib.import_module(f"{__name__}.{name}")
            with target.atomic():
                module.migrate(migrator_for(target), target)
                record.create(name=name)
            applied.append(name)
    return applied
