"""How the journal reads the risk register's entries (installed by the Domain record): risks and the
organisation's scale, with their fields and values as on the forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.services.users import user_names
from catalogue.services.applications import application_names
from core.extensions import db
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.tenancy import scoped
from risks.forms.ebios import FORMS as EBIOS_FORMS
from risks.forms.ebios import StudyForm
from risks.forms.parcours import MeasureForm, ParcoursForm, PhaseForm, SubsidyForm
from risks.forms.risks import RiskForm
from risks.forms.scale import ScaleForm
from risks.models import AssetKind, EbiosStudy, HygieneAssessment, HygieneStatus, PhaseKind, Risk, Treatment
from risks.reference import hygiene_measures
from risks.services.ebios import KINDS as EBIOS_KINDS
from risks.services.parcours import MEASURE_FIELDS
from risks.services.risks import action_titles

ACTION_LABELS: dict[str, Any] = {
    "risk.create": _l("Risque enregistré"),
    "risk.update": _l("Risque modifié"),
    "risk_scale.save": _l("Échelle de cotation des risques enregistrée"),
    "hygiene.create": _l("Auto-évaluation d'hygiène commencée"),
    "hygiene.update": _l("Auto-évaluation d'hygiène modifiée"),
    "hygiene.answers": _l("Réponses de l'auto-évaluation d'hygiène modifiées"),
    "parcours.create": _l("Parcours de cybersécurité enregistré"),
    "parcours.update": _l("Parcours de cybersécurité modifié"),
    "parcours_phase.create": _l("Phase du parcours créée"),
    "parcours_phase.update": _l("Phase du parcours modifiée"),
    "subsidy.create": _l("Versement de subvention enregistré"),
    "subsidy.update": _l("Versement de subvention modifié"),
    "subsidy.delete": _l("Versement de subvention supprimé"),
    "parcours_measure.create": _l("Mesure du parcours enregistrée"),
    "parcours_measure.update": _l("Mesure du parcours modifiée"),
    "parcours_measure.delete": _l("Mesure retirée du parcours"),
    "ebios.study.create": _l("Étude EBIOS RM commencée"),
    "ebios.study.update": _l("Étude EBIOS RM modifiée"),
    "ebios.study.delete": _l("Étude EBIOS RM supprimée (ses risques restent au registre)"),
    **{
        f"ebios.{kind.name}.{verb}": label
        for kind in EBIOS_KINDS.values()
        for verb, label in (
            ("create", _l("Étude EBIOS RM, élément ajouté : %(what)s", what=kind.label)),
            ("update", _l("Étude EBIOS RM, élément modifié : %(what)s", what=kind.label)),
            ("delete", _l("Étude EBIOS RM, élément supprimé : %(what)s", what=kind.label)),
        )
    },
}


def _measure_labels() -> dict[str, Any]:
    return {f"measure_{m.number}": _l("Mesure %(n)s", n=m.number) for m in hygiene_measures()}


def _hygiene_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    a = HygieneAssessment
    rows = db.session.execute(scoped(select(a.id, a.assessed_on), a).where(a.id.in_(ids)))
    return {r.id: str(_l("Auto-évaluation du %(d)s", d=r.assessed_on.strftime("%d/%m/%Y"))) for r in rows}


def risk_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(Risk.id, Risk.reference, Risk.title), Risk).where(Risk.id.in_(ids))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}


def _study_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    s = EbiosStudy
    rows = db.session.execute(scoped(select(s.id, s.reference, s.title), s).where(s.id.in_(ids)))
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
    "HygieneAssessment": JournalType(
        _l("Auto-évaluation d'hygiène informatique"),
        fields={"assessed_on": _l("Date"), "note": _l("Commentaire général"), **_measure_labels()},
        values={f"measure_{m.number}": enum_text(HygieneStatus) for m in hygiene_measures()},
        title=_hygiene_titles,
        link=("risks.hygiene_detail", "assessment_id"),
    ),
    "Parcours": JournalType(
        _l("Parcours de cybersécurité"), fields=form_labels(ParcoursForm), link=("risks.parcours_index", None)
    ),
    "ParcoursPhase": JournalType(
        _l("Phase du parcours de cybersécurité"),
        fields=form_labels(PhaseForm) | {"kind": _l("Phase")},
        values={"kind": enum_text(PhaseKind)},
        link=("risks.parcours_index", None),
    ),
    "Subsidy": JournalType(
        _l("Versement de subvention du parcours"),
        fields=form_labels(SubsidyForm),
        link=("risks.parcours_index", None),
    ),
    "ParcoursMeasure": JournalType(
        _l("Mesure du parcours de cybersécurité"),
        fields=form_labels(MeasureForm, *MEASURE_FIELDS) | {"action_id": _l("Action du SMSI")},
        names={"action_id": action_titles},
        link=("risks.parcours_index", None),
    ),
    "EbiosStudy": JournalType(
        _l("Étude EBIOS RM"),
        fields=form_labels(StudyForm)
        | {
            "reference": _l("Référence"),
            "deleted_with_it": _l("Éléments des ateliers supprimés avec l'étude"),
            "risks_kept": _l("Risques gardés au registre"),
        },
        title=_study_titles,
        link=("risks.ebios_detail", "study_id"),
    ),
    # the workshops' objects: the treatment is journalled on its operational scenario
    **{
        kind.model.__name__: JournalType(
            kind.label,
            fields={
                name: label
                for other in EBIOS_KINDS.values()
                if other.model is kind.model
                for name, label in form_labels(EBIOS_FORMS[other.name]).items()
            },
        )
        for kind in EBIOS_KINDS.values()
        if kind.name != "treatment"
    },
    "RiskScale": JournalType(
        _l("Échelle de cotation des risques"),
        fields=form_labels(ScaleForm) | {"matrix": _l("Matrice des niveaux")},
        link=("risks.scale_settings", None),
    ),
}
