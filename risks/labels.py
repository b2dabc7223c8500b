"""How the journal reads the risk register's entries (installed by the Domain record): risks and the
organisation's scale, with their fields and values as on the forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.services import user_names
from catalogue.services import application_names
from core.extensions import db
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.tenancy import scoped
from risks.forms.risks import RiskForm
from risks.forms.scale import ScaleForm
from risks.models import AssetKind, Risk, Treatment
from risks.services.risks import action_titles

ACTION_LABELS: dict[str, Any] = {
    "risk.create": _l("Risque enregistré"),
    "risk.update": _l("Risque modifié"),
    "risk_scale.save": _l("Échelle de cotation des risques enregistrée"),
}


def risk_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Risk.id, Risk.reference, Risk.title), Risk).where(Risk.id.in_(ids))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}


JOURNAL_TYPES: dict[str, JournalType] = {
    "Risk": JournalType(
        _l("Risque"),
        fields=form_labels(RiskForm) | {"reference": _l("Référence")},
        values={"asset_kind": enum_text(AssetKind), "treatment": enum_text(Treatment)},
        names={"owner_id": user_names, "application_id": application_names, "action_ids": action_titles},
        title=risk_titles,
        link=("risks.risk_detail", "risk_id"),
    ),
    "RiskScale": JournalType(
        _l("Échelle de cotation des risques"),
        fields=form_labels(ScaleForm) | {"matrix": _l("Matrice des niveaux")},
        link=("risks.scale_settings", None),
    ),
}
