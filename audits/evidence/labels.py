"""How the journal reads the evidence store's entries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.services.users import user_names
from core.extensions import db
from core.forms import form_labels
from core.journal import JournalType
from core.tenancy import scoped

from .forms import EvidenceEditForm
from .models import Evidence, EvidenceVersion

ACTION_LABELS: dict[str, Any] = {
    "evidence.create": _l("Preuve enregistrée"),
    "evidence.update": _l("Preuve modifiée"),
    "evidence.version_upload": _l("Fichier de preuve déposé (chiffré)"),
    "evidence.download": _l("Fichier de preuve téléchargé"),
    "evidence.link": _l("Preuve liée à un objet"),
    "evidence.unlink": _l("Lien d'une preuve retiré"),
    "evidence.keys_rotate": _l("Nouvelle clé active du coffre de preuves"),
    "evidence.keys_rewrap": _l("Clés de fichiers de preuve re-chiffrées"),
    "evidence.keys_retire": _l("Clé retirée du trousseau du coffre de preuves"),
}


def evidence_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Evidence.id, Evidence.title), Evidence).where(Evidence.id.in_(ids))
    )
    return {r.id: r.title for r in rows}


def version_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(
            select(EvidenceVersion.id, EvidenceVersion.number, EvidenceVersion.filename), EvidenceVersion
        ).where(EvidenceVersion.id.in_(ids))
    )
    return {r.id: f"v{r.number} — {r.filename}" for r in rows}


JOURNAL_TYPES: dict[str, JournalType] = {
    "Evidence": JournalType(
        _l("Preuve"),
        fields=form_labels(EvidenceEditForm) | {"link": _l("Lien")},
        names={"owner_id": user_names},
        title=evidence_titles,
        link=("audits.evidence_detail", "evidence_id"),
    ),
    "EvidenceVersion": JournalType(
        _l("Version d'un fichier de preuve"),
        fields={
            "number": _l("Version"),
            "filename": _l("Nom du fichier"),
            "size": _l("Taille (octets)"),
            "sha256": _l("Empreinte SHA-256"),
            "media_type": _l("Type de contenu"),
        },
        title=version_titles,
    ),
    "EvidenceKeyRing": JournalType(_l("Trousseau de clés du coffre de preuves")),
}
