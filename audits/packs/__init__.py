"""Evidence packs: a signed ZIP of an organisation's (or chosen members') documents and evidence files
for a period, built by the job queue, that an auditor verifies with ``sha256sum``, ``openssl`` and
``pdfsig`` without trusting Égide. A part of the audits domain (:class:`core.domains.DomainPart`):
its routes are on the audits blueprint under ``/audits/packs/``.

The evidence files come from whoever registers a source (:func:`register_evidence_source`: the
evidence store); the documents from every kind of ``reports`` that has a ``build``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l

from audits.packs import services, views  # noqa: F401 — the job, and the routes on the audits blueprint
from audits.packs.models import EvidencePack, PackStatus
from audits.packs.sources import EvidenceForPack, EvidenceSource, register_evidence_source
from audits.packs.store import evidence_store_source
from core import panels
from core.domains import DomainPart
from core.extensions import db
from core.journal import JournalType
from core.security import Permission

packs_cli = AppGroup("packs", help="Dossiers de preuves.")


@packs_cli.command("purge")
def purge_command() -> None:
    """Delete the files of the expired packs (their rows stay, marked expired)."""
    count = services.purge_expired()
    db.session.commit()
    click.echo(f"Dossiers de preuves expirés purgés : {count}.")


def _setup(app: Flask) -> None:
    app.cli.add_command(packs_cli)
    # The audit page's panel: the packs of the audit, and the button that makes one.
    panels.register_panel(
        ("Audit",), panels.Panel("audits.packs", "audits/packs/_audit_panel.html", Permission.AUDITS_VIEW)
    )
    app.jinja_env.globals["audit_packs"] = services.packs_of_audit
    register_evidence_source(evidence_store_source)  # the evidence store of audits.evidence


ACTION_LABELS = {
    "pack.request": _l("Dossier de preuves demandé"),
    "pack.generate": _l("Dossier de preuves généré"),
    "pack.fail": _l("Échec de la préparation d'un dossier de preuves"),
    "pack.download": _l("Dossier de preuves téléchargé"),
    "pack.expire": _l("Dossier de preuves expiré (fichier supprimé)"),
}

JOURNAL_TYPES = {
    "EvidencePack": JournalType(
        _l("Dossier de preuves"),
        fields={"status": _l("État"), "title": _l("Intitulé"), "sha256": _l("Empreinte SHA-256")},
        values={"status": lambda v: str(PackStatus(v).label) if v in set(PackStatus) else v},
        link=("audits.pack_detail", "pack_id"),
    )
}

PART = DomainPart(
    name="audits.packs",
    action_labels=ACTION_LABELS,
    object_types={"EvidencePack": Permission.AUDITS_VIEW},
    journal_types=JOURNAL_TYPES,
    setup=_setup,
)

__all__ = [
    "PART",
    "EvidenceForPack",
    "EvidencePack",
    "EvidenceSource",
    "register_evidence_source",
]
