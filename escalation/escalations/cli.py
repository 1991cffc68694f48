"""``flask escalations thumbnails``: make the thumbnails of image attachments stored before
thumbnails existed (they are also made on first request; this does them all at once)."""
import click
from flask import current_app

from ..clock import utcnow
from ..db import database
from . import thumbnails


def register(group):
    @group.command("thumbnails")
    def thumbnails_command():
        """Make the missing thumbnails of image attachments."""
        from . import service
        max_pixels = current_app.config.get("THUMBNAIL_MAX_PIXELS", thumbnails.DEFAULT_MAX_PIXELS)
        with database.connection_context():
            counts = service.make_missing_thumbnails(max_pixels=max_pixels, now=utcnow())
        click.echo(f"Thumbnails made: {counts['made']}; images that have none (they do not "
                   f"decode, or are too large): {counts['without']}.")
