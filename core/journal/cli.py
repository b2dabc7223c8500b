"""``flask audit``: verify the journal's chains, sign their heads, print the public key."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import func, or_, select

from core import audit
from core.audit import PLATFORM_CHAIN
from core.db import Base
from core.extensions import db
from core.journal.filters import PLATFORM

audit_cli = AppGroup("audit", help="Journal d'audit : vérifier les chaînes, signer leurs têtes.")


def _organisations() -> Any:
    return Base.metadata.tables["organisations"]


def _chain_names() -> dict[int, str]:
    orgs = _organisations()
    names = dict(db.session.execute(select(orgs.c.id, orgs.c.name)).all())
    names[PLATFORM_CHAIN] = "plateforme"
    return names


def _label(chain: int, names: Mapping[int, str]) -> str:
    return f"Chaîne {chain} ({names.get(chain, '?')})"


def resolve_chain(value: str) -> int:
    """An organisation id or name (or "0", "platform", "plateforme") → its chain number."""
    text = value.strip()
    if text.lower() in ("0", PLATFORM, "plateforme"):
        return PLATFORM_CHAIN
    orgs = _organisations()
    if text.isdigit():
        condition = orgs.c.id == int(text)
    else:
        condition = or_(
            func.lower(orgs.c.name) == text.lower(), func.lower(orgs.c.short_name) == text.lower()
        )
    found = db.session.execute(select(orgs.c.id).where(condition)).scalars().all()
    if len(found) != 1:
        raise click.BadParameter(f"organisation inconnue ou ambiguë : {value}", param_hint="--org")
    return found[0]


@audit_cli.command("verify")
@click.option("--org", metavar="ORG_ID_OR_NAME", help="Une seule organisation (0 : la plateforme).")
@click.option(
    "--anchors",
    "anchors_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True),
    help="Recouper avec ce fichier d'ancres (copie d'un témoin) plutôt qu'avec AUDIT_ANCHOR_FILE.",
)
def verify_command(org: str | None, anchors_path: str | None) -> None:
    """Walk the chains and name the first broken entry; exit status 1 if a chain is broken.

    The anchors of the anchor file (AUDIT_ANCHOR_FILE, or --anchors: a witness's copy, e.g. gathered
    with `flask audit anchor --export`) must be in the database and match its entries.
    """
    if anchors_path:
        anchor_file = audit.read_anchor_file(Path(anchors_path), complete=False)
    else:
        anchor_file = audit.configured_anchor_file()
    if anchor_file is not None:
        state = f"{len(anchor_file.anchors)} ancre(s)" if anchor_file.exists else "introuvable"
        click.echo(f"Fichier d'ancres {anchor_file.path} : {state}")
        for number in anchor_file.bad_lines:
            click.echo(f"{anchor_file.path}, ligne {number} : illisible", err=True)
    verdicts = audit.verify(None if org is None else [resolve_chain(org)], anchor_file=anchor_file or False)
    names = _chain_names()
    for verdict in verdicts:
        click.echo(f"{_label(verdict.chain, names)} : {verdict.message()}")
    if not verdicts:
        click.echo("Aucune chaîne : le journal est vide.")
    if any(not v.ok for v in verdicts) or (anchor_file is not None and anchor_file.bad_lines):
        raise SystemExit(1)


@audit_cli.command("anchor")
@click.option(
    "--export",
    "export",
    metavar="FILE|-",
    is_flag=False,
    flag_value="-",
    default=None,
    help="Puis ajouter la dernière ancre de chaque chaîne à FILE (« - » : la sortie standard), "
    "pour un témoin sur une autre machine.",
)
def anchor_command(export: str | None) -> None:
    """Sign the head of every chain that moved (Égide also does it by itself, see AUDIT_AUTO_ANCHOR).

    With --export, then write the latest anchor of every chain as JSON lines {chain, seq, hash,
    signed_at, key_id, signature}: each checks with the public key alone (`flask audit public-key`),
    Ed25519 over the canonical JSON of {chain, hash, seq, signed_at}. E.g. from cron:
    `flask audit anchor --export - | ssh temoin 'cat >> egide-anchors.jsonl'`.
    """
    to_stdout = export == "-"
    report = click.echo if not to_stdout else lambda text: click.echo(text, err=True)
    result = audit.anchor_heads()
    db.session.commit()
    names = _chain_names()
    for anchor in result.anchors:
        report(
            f"{_label(anchor.chain, names)} : entrée n° {anchor.seq} signée "
            f"(empreinte {anchor.hash[:16]}…, clé {anchor.key_id})"
        )
    for verdict in result.refused:
        click.echo(f"{_label(verdict.chain, names)} : NON signée — {verdict.message()}", err=True)
    if not result.anchors and not result.refused:
        report("Aucune chaîne n'a bougé depuis sa dernière ancre.")
    if export is not None:
        keys = audit.trusted_public_keys()
        lines = []
        for anchor in audit.latest_anchors():
            if not audit.signature_checks(anchor, keys):
                click.echo(
                    f"{_label(anchor.chain, names)} : ancre n° {anchor.seq} non exportée, signature invalide",
                    err=True,
                )
                continue
            lines.append(audit.anchor_line(anchor))
        if to_stdout:
            for line in lines:
                click.echo(line)
        else:
            audit.append_anchor_lines(Path(export), lines)
            report(f"{len(lines)} ancre(s) ajoutée(s) à {export}")
    if result.refused:
        raise SystemExit(1)


@audit_cli.command("public-key")
def public_key_command() -> None:
    """Print the public key (PEM), so that an auditor can check anchors without trusting Égide.

    An anchor signs the canonical JSON {"chain","hash","seq","signed_at"} (sorted keys, no spaces,
    UTF-8; signed_at in ISO 8601 UTC with microseconds) with Ed25519.
    """
    key = audit.signing_key().public_key()
    click.echo(audit.public_key_pem(key), nl=False)
    click.echo(f"key id: {audit.key_id(key)}", err=True)
