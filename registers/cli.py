"""``flask registers …``: the register's maintenance commands."""

from __future__ import annotations

import click

from core.extensions import db
from registers.blueprint import bp
from registers.services import exchange


@bp.cli.command("purge-imports")
def purge_imports() -> None:
    """Delete the files of register imports left unconfirmed past their delay (for a cron job)."""
    count = exchange.purge_expired()
    db.session.commit()
    click.echo(f"{count} import(s) expiré(s) supprimé(s).")
