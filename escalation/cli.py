"""Flask commands: ``flask --app app migrate | seed-demo | compile-translations``."""
import click
from flask import current_app

from . import migrations
from .db import database


@click.command("migrate")
def migrate_command():
    """Apply the database migrations that have not run yet."""
    applied = migrations.run(database)
    click.echo(f"Applied {len(applied)} migration(s)." if applied else "The database is up to date.")


@click.command("seed-demo")
def seed_demo_command():
    """Load the demo organisation and its members (idempotent)."""
    from .demo import seed
    with database.connection_context():
        summary = seed()
    click.echo(summary)


@click.command("compile-translations")
def compile_translations_command():
    """Compile the .po catalogs into .mo files (fails on any error)."""
    from .catalogs import compile_catalogs
    compiled = compile_catalogs(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    click.echo("Compiled: " + ", ".join(compiled))


def init_app(app):
    for command in (migrate_command, seed_demo_command, compile_translations_command):
        app.cli.add_command(command)
