"""``flask worker``: the queue's consumer, with the app's jobs (huey's consumer, threads)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.jobs.queue import current_huey


@click.command("worker")
@click.option("-w", "--workers", default=2, show_default=True, help="Tâches exécutées en parallèle.")
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Lancer aussi les tâches périodiques (une seule instance du worker doit le faire).",
)
@with_appcontext
def worker_command(workers: int, periodic: bool) -> None:
    """Run the jobs: the queue's consumer, until Ctrl+C or SIGTERM (a running job is finished first)."""
    huey = current_huey()
    click.echo(f"Worker Égide : {workers} fil(s), tâches périodiques {'oui' if periodic else 'non'}.")
    huey.create_consumer(workers=workers, periodic=periodic, worker_type="thread").run()
