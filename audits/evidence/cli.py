"""``flask keys``: the evidence store's key ring (see :mod:`audits.evidence.keyring`).

* ``init`` — create the ring and its first key if there is none (idempotent: ``make run`` calls it);
* ``status`` — the keys, which one is active, how many data keys each one wraps;
* ``rotate`` — a new active key, then every data key re-wrapped under it, in batches, each batch
  committed and journalled (the files are not re-encrypted);
* ``retire <id>`` — take a key out of the ring, refused while any data key still uses it (and for
  the active key).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from core import audit
from core.extensions import db

from . import keyring, services

keys_cli = AppGroup("keys", help="Trousseau de clés du coffre de preuves.")


@keys_cli.command("init")
def init_command() -> None:
    """Crée le trousseau et sa première clé s'il n'existe pas (idempotent)."""
    key_id, created = keyring.init_ring()
    keyring.evidence_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    if created:
        click.echo(f"Trousseau créé dans {keyring.key_dir()} : clé active {key_id}.")
    else:
        click.echo(f"Trousseau déjà en place ({keyring.key_dir()}) : clé active {key_id}.")


@keys_cli.command("status")
def status_command() -> None:
    """Les clés du trousseau, la clé active et le nombre de clés de fichiers que chacune protège."""
    keys = keyring.list_keys()
    if not keys:
        raise click.ClickException("Aucun trousseau : lancez « flask keys init ».")
    usage = services.key_usage()
    click.echo(f"Trousseau : {keyring.key_dir()}")
    for info in keys:
        mark = "active" if info.active else "      "
        click.echo(f"  {info.key_id}  {mark}  {usage.pop(info.key_id, 0)} fichier(s)")
    for missing, count in usage.items():
        click.echo(f"  {missing}  ABSENTE  {count} fichier(s) illisibles sans elle")


@keys_cli.command("rotate")
@click.option("--batch", default=500, show_default=True, help="Clés re-chiffrées par transaction.")
def rotate_command(batch: int) -> None:
    """Nouvelle clé active ; re-chiffre toutes les clés de fichiers (pas les fichiers)."""
    keyring.init_ring()
    new_id = keyring.new_key()
    audit.record(
        None,
        None,
        "evidence.keys_rotate",
        audit.Ref("EvidenceKeyRing", None),
        detail={"active": new_id},
        request_context=False,
    )
    db.session.commit()
    count = services.rewrap_all(new_id, batch=batch)
    click.echo(f"Nouvelle clé active {new_id} ; {count} clé(s) de fichiers re-chiffrée(s).")


@keys_cli.command("retire")
@click.argument("key_id")
def retire_command(key_id: str) -> None:
    """Retire une clé du trousseau (refusé tant qu'une clé de fichier l'utilise)."""
    used = services.key_usage().get(key_id, 0)
    if used:
        raise click.ClickException(
            f"La clé {key_id} protège encore {used} fichier(s) : lancez « flask keys rotate » d'abord."
        )
    try:
        target = keyring.retire_key_file(key_id)
    except keyring.KeyRingError as error:
        raise click.ClickException(str(error)) from None
    audit.record(
        None,
        None,
        "evidence.keys_retire",
        audit.Ref("EvidenceKeyRing", None),
        detail={"retired": key_id},
        request_context=False,
    )
    db.session.commit()
    click.echo(
        f"Clé {key_id} retirée du trousseau (déplacée dans {target} : à détruire quand aucune "
        "sauvegarde n'en a plus besoin)."
    )
