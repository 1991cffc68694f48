"""``flask sla sweep``: fire due ladder steps, warn of lapsing claims, close unanswered
resolutions and send pending notification mail. ``--every 60`` keeps sweeping once a minute
(the demo's start command runs it so); larger deployments run the one-shot form from cron or a
systemd timer on any number of hosts: the sweep is idempotent and safe when run concurrently."""
import logging
import time

import click

from ..clock import utcnow
from ..db import database

log = logging.getLogger("escalation.sla.sweep")


def sweep_once():
    from .ladder import sweep
    with database.connection_context():
        return sweep(utcnow())


def register(group):
    @group.command("sweep")
    @click.option("--every", type=int, default=0,
                  help="Sweep again every N seconds until stopped (0: sweep once).")
    def sweep_command(every):
        """Run the SLA sweep once, or every N seconds."""
        if not every:
            click.echo(_summary(sweep_once()))
            return
        click.echo(f"Sweeping every {every} s; stop with Ctrl+C.")
        while True:
            started = time.monotonic()
            try:
                counts = sweep_once()
                if any(counts.values()):
                    click.echo(_summary(counts))
            except Exception:  # noqa: BLE001 - keep sweeping; the next pass retries
                log.exception("SLA sweep failed")
            time.sleep(max(1.0, every - (time.monotonic() - started)))


def _summary(counts):
    return ", ".join(f"{key}: {value}" for key, value in counts.items())
