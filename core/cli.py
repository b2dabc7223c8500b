"""``flask demo load``: demo data, contributed by each domain.

Each domain registers a loader with :func:`demo_loader`; loaders run in registration order inside one
transaction and must be idempotent (look up by natural key before creating).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from core.extensions import db

DemoLoader = Callable[[dict[str, Any]], None]
_loaders: list[tuple[str, DemoLoader]] = []


def demo_loader(name: str) -> Callable[[DemoLoader], DemoLoader]:
    def decorator(fn: DemoLoader) -> DemoLoader:
        if name not in {n for n, _ in _loaders}:
            _loaders.append((name, fn))
        return fn

    return decorator


def run_demo_loaders() -> dict[str, Any]:
    """Run every loader; returns the shared context (loaders put what they made in it)."""
    context: dict[str, Any] = {"logins": []}
    for _name, loader in _loaders:
        loader(context)
        db.session.flush()
    return context


demo_cli = AppGroup("demo", help="Données de démonstration.")


@demo_cli.command("load")
def demo_load() -> None:
    """Create (or complete) the demo organisations, catalogue and users. Idempotent."""
    context = run_demo_loaders()
    db.session.commit()
    click.echo("Données de démonstration chargées.")
    if context["logins"]:
        click.echo(f"Comptes de démonstration (mot de passe commun : {context.get('password', '?')}) :")
        for email, label in context["logins"]:
            click.echo(f"  {email:<38} {label}")
    for line in context.get("notes", []):
        click.echo(line)


def register_cli(app: Flask) -> None:
    from core.backup import backup_cli  # noqa: PLC0415 — the CLI groups load when the app registers them
    from core.journal import audit_cli  # noqa: PLC0415 — the CLI groups load when the app registers them

    app.cli.add_command(demo_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
