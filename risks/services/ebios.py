"""EBIOS Risk Manager studies (ANSSI, 2018): the only writer of a study and of what its five workshops
produce, the workshops' progress, and the risks the study feeds into the register.

* **Workshops.** 1 scope and baseline (business values, supporting assets, feared events rated on the
  organisation's gravity scale, the baseline's gaps — pre-filled from the Statement of Applicability
  and the latest hygiene self-assessment); 2 risk origins and target objectives (SR/OV pairs: a
  suggested relevance, the pairs kept); 3 the ecosystem (stakeholders and their threat level),
  strategic scenarios and attack paths; 4 operational scenarios and their likelihood; 5 treatment,
  security measures, residual risk, monitoring plan.
* **One generic path per kind of object** (:data:`KINDS`: its model, fields, rules), so that the
  views dispatch on the kind instead of repeating themselves; every write is journalled.
* **The register.** Each operational scenario is one risk of the register, written through
  :mod:`risks.services.risks` (never here): likelihood from the scenario, impact from its strategic
  scenario's gravity, treatment and residual from workshop 5, the measures' Annex A controls and
  their actions (written through :mod:`smsi.services.actions`, origin "risk", linked by
  ``risk_actions``). Any change upstream is carried to the risk in the same transaction. Deleting an
  operational scenario keeps its risk in the register (the link is cleared: the risk may have
  actions and an acceptance of its own); deleting a measure keeps its action in the SMSI (it may
  be under way); deleting what other objects build on is refused.
* **Rating** outside the organisation's scale is refused with the register's own message, before
  anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from accounts.models import Organisation, User
from core import audit, references
from core.concurrency import check_version, with_fresh_reference
from core.db import local_today
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.tenancy import UNSCOPED
from risks import reference as ref
from risks.models import (
    EbiosAssetKind,
    EbiosAttackPath,
    EbiosBaselineGap,
    EbiosBusinessValue,
    EbiosFearedEvent,
    EbiosGapSource,
    EbiosMeasure,
    EbiosNature,
    EbiosOperationalScenario,
    EbiosSrOv,
    EbiosStakeholder,
    EbiosStakeholderCategory,
    EbiosStrategicScenario,
    EbiosStudy,
    EbiosSupportingAsset,
    HygieneAssessment,
    HygieneStatus,
    Risk,
    Treatment,
)
from risks.services import hygiene
from risks.services import risks as register
from risks.services import scale as scales
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions
from smsi.services import soa

MAX_TEXT = 10_000
STUDY_FIELDS = (
    "title",
    "scope",
    "missions",
    "objectives",
    "participants",
    "started_on",
    "baseline_notes",
    "monitoring_plan",
    "next_review_on",
)


def _text(
    data: Mapping[str, Any], name: str, limit: int, errors: list[FieldError], *, required: Any = None
) -> Any:
    value = text_value(data.get(name), limit)
    if value and len(value) > limit:
        errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    if required is not None and not value:
        errors.append(FieldError(name, str(required)))
    return value


def _rank(
    data: Mapping[str, Any], name: str, top: int, errors: list[FieldError], *, required: bool = True
) -> Any:
    """A rank 1..top (a criterion of EBIOS RM's grids)."""
    value = data.get(name)
    if value in (None, "", "None"):
        if required:
            errors.append(FieldError(name, _("Choisissez une valeur de 1 à %(n)s.", n=top)))
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= top:
        errors.append(FieldError(name, _("Choisissez une valeur de 1 à %(n)s.", n=top)))
        return None
    return number


def _on_scale(value: Any, name: str, size: int, errors: list[FieldError], *, required: bool = True) -> Any:
    """A likelihood or a gravity on the organisation's scale: the register's message when outside."""
    if value in (None, "", "None"):
        if required:
            errors.append(FieldError(name, _("Choisissez un niveau de l'échelle.")))
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= size:
        errors.append(FieldError(name, _("Choisissez un niveau de l'échelle, de 1 à %(n)s.", n=size)))
        return None
    return number


def _ids_of(model: Any, study: EbiosStudy, values: Any, name: str, errors: list[FieldError]) -> list[int]:
    ids = id_list(values)
    if ids:
        known = set(
            db.session.scalars(
                select(model.id)
                .where(model.study_id == study.id, model.id.in_(ids))
                .execution_options(**UNSCOPED)  # unscoped: the study's own objects
            )
        )
        if set(ids) - known:
            errors.append(FieldError(name, _("Élément inconnu dans cette étude.")))
    return ids


def _one_of(
    model: Any, study: EbiosStudy, value: Any, name: str, errors: list[FieldError], *, required: bool = True
) -> Any:
    ids = id_list([value]) if value not in (None, "", "None") else []
    if not ids:
        if required:
            errors.append(FieldError(name, _("Ce champ est obligatoire.")))
        return None
    before = len(errors)
    _ids_of(model, study, ids, name, errors)
    return ids[0] if len(errors) == before else None


def _controls(values: Any) -> list[str]:
    known = {c.id for c in annex_a.controls()}
    return sorted({str(c) for c in (values or []) if str(c) in known})


# --- the kinds of workshop objects -----------------------------------------------------------------


def _clean_business_value(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    return {
        "name": _text(data, "name", 200, errors, required=_("Nommez la valeur métier.")),
        "nature": enum_value(EbiosNature, data.get("nature"), "nature", errors),
        "description": _text(data, "description", MAX_TEXT, errors),
        "responsible": _text(data, "responsible", 200, errors),
    }


def _clean_asset(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    application_id = (
        id_list([data.get("application_id")]) if data.get("application_id") not in (None, "", "None") else []
    )
    if application_id:
        org = db.session.get(Organisation, study.organisation_id)
        if application_id[0] not in dict(register.application_choices(org)):
            errors.append(FieldError("application_id", _("Application inconnue pour cette organisation.")))
    return {
        "name": _text(data, "name", 200, errors, required=_("Nommez le bien support.")),
        "kind": enum_value(EbiosAssetKind, data.get("kind"), "kind", errors),
        "application_id": application_id[0] if application_id else None,
        "business_value_ids": _ids_of(
            EbiosBusinessValue, study, data.get("business_value_ids"), "business_value_ids", errors
        ),
        "description": _text(data, "description", MAX_TEXT, errors),
    }


def _clean_feared_event(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    scale = scales.scale_of(study.organisation_id)
    return {
        "business_value_id": _one_of(
            EbiosBusinessValue, study, data.get("business_value_id"), "business_value_id", errors
        ),
        "description": _text(
            data, "description", MAX_TEXT, errors, required=_("Décrivez l'événement redouté.")
        ),
        "impacts": _text(data, "impacts", MAX_TEXT, errors),
        "gravity": _on_scale(data.get("gravity"), "gravity", len(scale.impact_labels), errors),
    }


def _clean_gap(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], item: Any
) -> dict[str, Any]:
    clean = {
        "source": enum_value(EbiosGapSource, data.get("source"), "source", errors),
        "reference": _text(data, "reference", 30, errors),
        "description": _text(data, "description", MAX_TEXT, errors, required=_("Décrivez l'écart.")),
        "justification": _text(data, "justification", MAX_TEXT, errors),
    }
    if clean["reference"] and clean["source"] is not None:
        g = EbiosBaselineGap
        stmt = select(g.id).where(
            g.study_id == study.id, g.source == clean["source"], g.reference == clean["reference"]
        )
        if item is not None:
            stmt = stmt.where(g.id != item.id)
        # unscoped: the gaps of this study (the view loaded it scoped)
        if db.session.scalar(stmt.execution_options(**UNSCOPED).limit(1)) is not None:
            errors.append(FieldError("reference", _("Cet écart est déjà noté dans l'étude.")))
    return clean


def _clean_srov(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    return {
        "risk_origin": _text(data, "risk_origin", 200, errors, required=_("Nommez la source de risque.")),
        "target_objective": _text(
            data, "target_objective", 200, errors, required=_("Nommez l'objectif visé.")
        ),
        "motivation": _rank(data, "motivation", 4, errors),
        "resources": _rank(data, "resources", 4, errors),
        "activity": _rank(data, "activity", 4, errors),
        "relevance": _rank(data, "relevance", 3, errors, required=False),
        "is_selected": bool(data.get("is_selected")),
        "justification": _text(data, "justification", MAX_TEXT, errors),
    }


def _clean_stakeholder(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    return {
        "name": _text(data, "name", 200, errors, required=_("Nommez la partie prenante.")),
        "category": enum_value(EbiosStakeholderCategory, data.get("category"), "category", errors),
        **{name: _rank(data, name, 4, errors) for name in ("dependency", "penetration", "maturity", "trust")},
    }


def _clean_strategic(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    scale = scales.scale_of(study.organisation_id)
    srov_id = _one_of(EbiosSrOv, study, data.get("srov_id"), "srov_id", errors)
    if srov_id is not None:
        pair = db.session.get(EbiosSrOv, srov_id)
        if pair is not None and not pair.is_selected:
            errors.append(FieldError("srov_id", _("Seuls les couples SR/OV retenus mènent à un scénario.")))
    events = _ids_of(EbiosFearedEvent, study, data.get("feared_event_ids"), "feared_event_ids", errors)
    gravity = _on_scale(data.get("gravity"), "gravity", len(scale.impact_labels), errors, required=False)
    if gravity is None and not any(e.field == "gravity" for e in errors):
        gravities = [e.gravity for e in _rows(EbiosFearedEvent, study) if e.id in set(events)]
        gravity = max(gravities, default=None)
        if gravity is None:
            errors.append(
                FieldError("gravity", _("Indiquez la gravité, ou choisissez les événements redoutés."))
            )
    return {
        "srov_id": srov_id,
        "title": _text(data, "title", 200, errors, required=_("Donnez un intitulé au scénario.")),
        "description": _text(data, "description", MAX_TEXT, errors),
        "gravity": gravity,
        "feared_event_ids": events,
    }


def _clean_attack_path(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    return {
        "scenario_id": _one_of(EbiosStrategicScenario, study, data.get("scenario_id"), "scenario_id", errors),
        "stakeholder_id": _one_of(
            EbiosStakeholder, study, data.get("stakeholder_id"), "stakeholder_id", errors, required=False
        ),
        "description": _text(
            data, "description", MAX_TEXT, errors, required=_("Décrivez le chemin d'attaque.")
        ),
    }


def _clean_operational(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    scale = scales.scale_of(study.organisation_id)
    return {
        "strategic_scenario_id": _one_of(
            EbiosStrategicScenario, study, data.get("strategic_scenario_id"), "strategic_scenario_id", errors
        ),
        "title": _text(data, "title", 200, errors, required=_("Donnez un intitulé au scénario.")),
        "description": _text(data, "description", MAX_TEXT, errors),
        "asset_ids": _ids_of(EbiosSupportingAsset, study, data.get("asset_ids"), "asset_ids", errors),
        "likelihood": _on_scale(data.get("likelihood"), "likelihood", len(scale.likelihood_labels), errors),
    }


def _clean_treatment(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], _item: Any
) -> dict[str, Any]:
    scale = scales.scale_of(study.organisation_id)
    clean = {
        "treatment": enum_value(Treatment, data.get("treatment"), "treatment", errors),
        "treatment_plan": _text(data, "treatment_plan", MAX_TEXT, errors),
        "control_ids": _controls(data.get("control_ids")),
        "residual_likelihood": _on_scale(
            data.get("residual_likelihood"),
            "residual_likelihood",
            len(scale.likelihood_labels),
            errors,
            required=False,
        ),
        "residual_impact": _on_scale(
            data.get("residual_impact"), "residual_impact", len(scale.impact_labels), errors, required=False
        ),
        "accepted_by": _text(data, "accepted_by", 200, errors),
        "accepted_on": data.get("accepted_on") or None,
    }
    if (clean["residual_likelihood"] is None) != (clean["residual_impact"] is None) and not errors:
        missing = "residual_impact" if clean["residual_impact"] is None else "residual_likelihood"
        errors.append(FieldError(missing, _("Le risque résiduel se note sur les deux axes.")))
    if not errors:
        errors += register._acceptance_errors(clean)
    return clean


def _clean_measure(
    study: EbiosStudy, data: Mapping[str, Any], errors: list[FieldError], item: Any
) -> dict[str, Any]:
    owner_id = id_list([data.get("owner_id")])
    if not owner_id:
        errors.append(FieldError("owner_id", _("Désignez le responsable de l'action.")))
    elif owner_id[0] not in dict(
        smsi_actions.owner_choices(study.organisation_id, include=item.owner_id if item else None)
    ):
        errors.append(FieldError("owner_id", _("Cette personne n'a pas de rôle SMSI dans l'organisation.")))
    due_on = data.get("due_on") or None
    if due_on is None:
        errors.append(FieldError("due_on", _("Indiquez l'échéance.")))
    elif item is None and due_on < local_today():
        errors.append(FieldError("due_on", _("Une nouvelle action ne peut pas être déjà échue.")))
    return {
        "scenario_id": _one_of(
            EbiosOperationalScenario, study, data.get("scenario_id"), "scenario_id", errors
        ),
        "title": _text(data, "title", 200, errors, required=_("Donnez un intitulé à la mesure.")),
        "description": _text(data, "description", MAX_TEXT, errors),
        "control_ids": _controls(data.get("control_ids")),
        "owner_id": owner_id[0] if owner_id else None,
        "due_on": due_on,
    }


def _used_by(model: Any, column: Any, label: Any) -> Callable[[Any], str | None]:
    def check(item: Any) -> str | None:
        # unscoped: rows of the item's own study (the view loaded it scoped)
        stmt = select(func.count()).select_from(model).where(column == item.id).execution_options(**UNSCOPED)
        return str(label) if db.session.scalar(stmt) else None

    return check


def _not_in_json(model: Any, attribute: str, label: Any) -> Callable[[Any], str | None]:
    def check(item: Any) -> str | None:
        # unscoped: rows of the item's own study (the view loaded it scoped)
        rows = db.session.scalars(
            select(model).where(model.study_id == item.study_id).execution_options(**UNSCOPED)
        )
        return str(label) if any(item.id in (getattr(r, attribute) or []) for r in rows) else None

    return check


@dataclass(frozen=True)
class Kind:
    """One kind of workshop object: its model, its workshop, its rules, what keeps it from deletion."""

    name: str
    model: type[Any]
    workshop: int
    label: Any
    clean: Callable[[EbiosStudy, Mapping[str, Any], list[FieldError], Any], dict[str, Any]]
    creatable: bool = True
    in_use: tuple[Callable[[Any], str | None], ...] = ()
    feeds_register: bool = False  # a change may move the study's risks

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS[self.name]


FIELDS: dict[str, tuple[str, ...]] = {
    "business_value": ("name", "nature", "description", "responsible"),
    "asset": ("name", "kind", "application_id", "business_value_ids", "description"),
    "feared_event": ("business_value_id", "description", "impacts", "gravity"),
    "gap": ("source", "reference", "description", "justification"),
    "srov": (
        "risk_origin",
        "target_objective",
        "motivation",
        "resources",
        "activity",
        "relevance",
        "is_selected",
        "justification",
    ),
    "stakeholder": ("name", "category", "dependency", "penetration", "maturity", "trust"),
    "strategic": ("srov_id", "title", "description", "gravity", "feared_event_ids"),
    "attack_path": ("scenario_id", "stakeholder_id", "description"),
    "operational": ("strategic_scenario_id", "title", "description", "asset_ids", "likelihood"),
    "treatment": (
        "treatment",
        "treatment_plan",
        "control_ids",
        "residual_likelihood",
        "residual_impact",
        "accepted_by",
        "accepted_on",
    ),
    "measure": ("scenario_id", "title", "description", "control_ids", "owner_id", "due_on"),
}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "business_value",
            EbiosBusinessValue,
            1,
            _l("Valeur métier"),
            _clean_business_value,
            in_use=(
                _used_by(
                    EbiosFearedEvent,
                    EbiosFearedEvent.business_value_id,
                    _l("Des événements redoutés portent sur cette valeur métier : supprimez-les d'abord."),
                ),
            ),
        ),
        Kind(
            "asset",
            EbiosSupportingAsset,
            1,
            _l("Bien support"),
            _clean_asset,
            feeds_register=True,
            in_use=(
                _not_in_json(
                    EbiosOperationalScenario,
                    "asset_ids",
                    _l("Des scénarios opérationnels passent par ce bien support : retirez-le d'abord."),
                ),
            ),
        ),
        Kind(
            "feared_event",
            EbiosFearedEvent,
            1,
            _l("Événement redouté"),
            _clean_feared_event,
            in_use=(
                _not_in_json(
                    EbiosStrategicScenario,
                    "feared_event_ids",
                    _l("Des scénarios stratégiques mènent à cet événement redouté : retirez-le d'abord."),
                ),
            ),
        ),
        Kind("gap", EbiosBaselineGap, 1, _l("Écart au socle de sécurité"), _clean_gap),
        Kind(
            "srov",
            EbiosSrOv,
            2,
            _l("Couple SR/OV"),
            _clean_srov,
            feeds_register=True,
            in_use=(
                _used_by(
                    EbiosStrategicScenario,
                    EbiosStrategicScenario.srov_id,
                    _l("Des scénarios stratégiques partent de ce couple : supprimez-les d'abord."),
                ),
            ),
        ),
        Kind("stakeholder", EbiosStakeholder, 3, _l("Partie prenante"), _clean_stakeholder),
        Kind(
            "strategic",
            EbiosStrategicScenario,
            3,
            _l("Scénario stratégique"),
            _clean_strategic,
            feeds_register=True,
            in_use=(
                _used_by(
                    EbiosOperationalScenario,
                    EbiosOperationalScenario.strategic_scenario_id,
                    _l("Des scénarios opérationnels déclinent ce scénario : supprimez-les d'abord."),
                ),
            ),
        ),
        Kind("attack_path", EbiosAttackPath, 3, _l("Chemin d'attaque"), _clean_attack_path),
        Kind(
            "operational",
            EbiosOperationalScenario,
            4,
            _l("Scénario opérationnel"),
            _clean_operational,
            feeds_register=True,
        ),
        Kind(
            "treatment",
            EbiosOperationalScenario,
            5,
            _l("Traitement du risque"),
            _clean_treatment,
            creatable=False,
            feeds_register=True,
        ),
        Kind("measure", EbiosMeasure, 5, _l("Mesure de sécurité"), _clean_measure, feeds_register=True),
    )
}


# --- writes ----------------------------------------------------------------------------------------


def _clean_study(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    clean = {
        "title": _text(data, "title", 200, errors, required=_("Donnez un intitulé à l'étude.")),
        "scope": _text(data, "scope", MAX_TEXT, errors, required=_("Décrivez l'objet étudié.")),
        "missions": _text(data, "missions", MAX_TEXT, errors),
        "objectives": _text(data, "objectives", MAX_TEXT, errors),
        "participants": _text(data, "participants", MAX_TEXT, errors),
        "started_on": data.get("started_on") or None,
        "baseline_notes": _text(data, "baseline_notes", MAX_TEXT, errors),
        "monitoring_plan": _text(data, "monitoring_plan", MAX_TEXT, errors),
        "next_review_on": data.get("next_review_on") or None,
    }
    if clean["started_on"] is None:
        errors.append(FieldError("started_on", _("Indiquez la date de début de l'étude.")))
    return clean


def _save_study(
    org: Organisation, actor: User | None, study: EbiosStudy, data: Mapping[str, Any], name: str
) -> EbiosStudy:
    errors: list[FieldError] = []
    clean = _clean_study(data, errors)
    raise_field_errors(errors)
    with audit.audited(org.id, actor, name, study, ("reference", *STUDY_FIELDS)):
        for key in STUDY_FIELDS:
            setattr(study, key, clean[key])
        if study.id is None:
            study.reference = references.next_reference(EbiosStudy, org.id, "EBIOS-")
            db.session.add(study)
    return study


def check_study(data: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    _clean_study(data, errors)
    return errors


def create_study(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> EbiosStudy:
    return with_fresh_reference(
        lambda: _save_study(org, actor, EbiosStudy(organisation_id=org.id), data, "ebios.study.create")
    )


def update_study(study: EbiosStudy, actor: User | None, data: Mapping[str, Any]) -> EbiosStudy:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(study, data.get("version"))
    org = db.session.get(Organisation, study.organisation_id)
    return _save_study(org, actor, study, data, "ebios.study.update")


def check_item(kind: Kind, study: EbiosStudy, data: Mapping[str, Any], item: Any = None) -> list[FieldError]:
    """Every error ``data`` would get (the forms show them all at once)."""
    errors: list[FieldError] = []
    kind.clean(study, data, errors, item)
    return errors


def save_item(
    kind: Kind, study: EbiosStudy, actor: User | None, data: Mapping[str, Any], item: Any = None
) -> Any:
    """Create (``item`` None) or update one workshop object, then carry the change to the register."""
    if item is not None:
        check_version(item, data.get("version"))
    errors: list[FieldError] = []
    clean = kind.clean(study, data, errors, item)
    raise_field_errors(errors)
    given_before = _study_controls(study) if kind.feeds_register else {}
    if item is None:
        item = kind.model(organisation_id=study.organisation_id, study_id=study.id)
    action = f"ebios.{kind.name}.{'update' if item.id else 'create'}"
    with audit.audited(study.organisation_id, actor, action, item, kind.fields):
        for key in kind.fields:
            setattr(item, key, clean[key])
    if kind.name == "measure":
        _sync_action(study, actor, item)
    if kind.feeds_register:
        sync_register(study, actor, given_before)
    return item


def delete_item(kind: Kind, item: Any, actor: User | None) -> None:
    """Delete one object, unless others build on it (a French message, nothing deleted). An
    operational scenario's risk stays in the register, its link to the study cleared."""
    for check in kind.in_use:
        if (message := check(item)) is not None:
            raise FieldError("item", message)
    audit.record(item.organisation_id, actor, f"ebios.{kind.name}.delete", item, audit.snapshot(item, ()))
    study = db.session.get(EbiosStudy, item.study_id)
    given_before = _study_controls(study) if kind.feeds_register else {}
    if isinstance(item, EbiosOperationalScenario):
        risk = _risk_of(item)
        if risk is not None:  # what the database's ON DELETE SET NULL does, said to the session too
            risk.ebios_scenario_id = None
    db.session.delete(item)
    db.session.flush()
    if kind.feeds_register:  # a measure's controls leave its scenario's risk with it
        sync_register(study, actor, given_before)


# The workshop objects, each before those it builds on (deleted in this order with their study).
_DELETE_ORDER = (
    EbiosMeasure,
    EbiosOperationalScenario,
    EbiosAttackPath,
    EbiosStrategicScenario,
    EbiosStakeholder,
    EbiosSrOv,
    EbiosBaselineGap,
    EbiosFearedEvent,
    EbiosSupportingAsset,
    EbiosBusinessValue,
)


def delete_study(study: EbiosStudy, actor: User | None, version: Any) -> int:
    """Delete a study with everything its workshops hold; returns how many of its risks stay in the
    register. Those risks are the organisation's, treated and followed there: they stay, their link
    to the study cleared, as do the SMSI actions of its measures. ``version``: the study's as the
    page showed it (EditConflict when somebody changed it since). Journalled as one entry, with the
    study's fields and what was deleted with it."""
    check_version(study, version)
    org_id = study.organisation_id
    scenario_ids = select(EbiosOperationalScenario.id).where(
        EbiosOperationalScenario.study_id == study.id, EbiosOperationalScenario.organisation_id == org_id
    )
    risks = list(
        db.session.scalars(
            select(Risk)
            .where(Risk.organisation_id == org_id, Risk.ebios_scenario_id.in_(scenario_ids))
            .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly
        )
    )
    for risk in risks:
        risk.ebios_scenario_id = None
    db.session.flush()
    deleted = 0
    for model in _DELETE_ORDER:
        result = db.session.execute(
            delete(model)
            .where(model.study_id == study.id, model.organisation_id == org_id)
            .execution_options(synchronize_session=False)
        )
        deleted += max(result.rowcount or 0, 0)
    audit.record(
        org_id,
        actor,
        "ebios.study.delete",
        study,
        {
            **{name: (audit.jsonable(getattr(study, name)), None) for name in ("reference", *STUDY_FIELDS)},
            "deleted_with_it": (deleted, None),
            "risks_kept": (len(risks), len(risks)),
        },
    )
    db.session.delete(study)
    db.session.flush()
    db.session.expire_all()
    return len(risks)


def prefill_baseline(study: EbiosStudy, actor: User | None) -> int:
    """Add to workshop 1's gaps the applicable controls of the SoA not yet implemented and the
    measures of the latest hygiene self-assessment not (or partly) applied, skipping those already
    noted. Returns how many were added."""
    org_id = study.organisation_id
    have = {(g.source, g.reference) for g in _rows(EbiosBaselineGap, study)}
    titles = {c.id: c.title for c in annex_a.controls()}
    rows: list[tuple[EbiosGapSource, str, str]] = []
    for control_id, entry in sorted(soa.entries(org_id).items(), key=lambda e: _control_order(e[0])):
        status = getattr(entry.status, "value", entry.status)
        if entry.applicable and status != "implemented":
            text = _(
                "%(title)s — mesure applicable, %(status)s.",
                title=titles.get(control_id, control_id),
                status=str(entry.status.label).lower(),
            )
            rows.append((EbiosGapSource.SOA, control_id, text))
    latest = db.session.scalars(
        select(HygieneAssessment)
        .where(HygieneAssessment.organisation_id == org_id)
        .order_by(HygieneAssessment.assessed_on.desc())
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly (the demo)
    ).all()
    if latest:
        measures = {m.number: m for m in ref.hygiene_measures()}
        for number, answer in sorted(hygiene.answers(latest[0]).items()):
            if answer.status in (HygieneStatus.NOT_IMPLEMENTED, HygieneStatus.PARTIAL) and number in measures:
                text = _(
                    "%(title)s — %(status)s.",
                    title=measures[number].title,
                    status=str(answer.status.label).lower(),
                )
                rows.append((EbiosGapSource.HYGIENE, f"H-{number}", text))
    added = 0
    for source, reference, text in rows:
        if (source, reference) in have:
            continue
        gap = EbiosBaselineGap(organisation_id=org_id, study_id=study.id)
        with audit.audited(org_id, actor, "ebios.gap.create", gap, FIELDS["gap"]):
            gap.source, gap.reference, gap.description = source, reference, text
            db.session.add(gap)
        added += 1
    return added


def _control_order(control_id: str) -> int:
    return next((c.position for c in annex_a.controls() if c.id == control_id), 999)


# --- the register ----------------------------------------------------------------------------------


def _risk_of(scenario: EbiosOperationalScenario) -> Risk | None:
    return db.session.scalar(
        select(Risk)
        .where(Risk.ebios_scenario_id == scenario.id, Risk.organisation_id == scenario.organisation_id)
        .execution_options(**UNSCOPED)  # unscoped: filtered on the organisation explicitly (the demo)
    )


def _risk_data(
    study: EbiosStudy, scenario: EbiosOperationalScenario, risk: Risk | None, given_before: set[str]
) -> dict[str, Any]:
    strategic = db.session.get(EbiosStrategicScenario, scenario.strategic_scenario_id)
    pair = db.session.get(EbiosSrOv, strategic.srov_id)
    assets = [a for a in _rows(EbiosSupportingAsset, study) if a.id in set(scenario.asset_ids or [])]
    application = next((a for a in assets if a.application_id), None)
    measures = [m for m in _rows(EbiosMeasure, study) if m.scenario_id == scenario.id]
    kept = [c for c in risk.control_ids or [] if c not in given_before] if risk else []  # added on the risk
    controls = sorted(
        {*kept, *(scenario.control_ids or []), *(c for m in measures for c in m.control_ids or [])}
    )
    actions = sorted(
        {*(register.action_ids_of(risk) if risk else []), *(m.action_id for m in measures if m.action_id)}
    )
    text = "\n\n".join(t for t in (strategic.title, strategic.description, scenario.description) if t)
    data: dict[str, Any] = {name: getattr(risk, name) for name in register.FIELDS} if risk else {}
    data.update(
        title=scenario.title,
        asset_kind="application" if application else "process",
        application_id=application.application_id if application else None,
        asset=", ".join(a.name for a in assets)[:200] or study.title,
        threat=f"{pair.risk_origin} — {pair.target_objective}",
        scenario=_("Étude EBIOS RM %(ref)s. %(text)s", ref=study.reference, text=text),
        likelihood=scenario.likelihood,
        impact=strategic.gravity,
        treatment=scenario.treatment.value if scenario.treatment else None,
        treatment_plan=scenario.treatment_plan,
        control_ids=controls,
        residual_likelihood=scenario.residual_likelihood,
        residual_impact=scenario.residual_impact,
        accepted_by=scenario.accepted_by,
        accepted_on=scenario.accepted_on,
        action_ids=actions,
    )
    if risk is None:
        data["next_review_on"] = study.next_review_on
    else:
        data["version"] = risk.version
    return data


def _differs(risk: Risk, data: Mapping[str, Any]) -> bool:
    wanted = register.normalise(data, [])
    if wanted["action_ids"] != register.action_ids_of(risk):
        return True
    return any(getattr(risk, name) != wanted[name] for name in register.FIELDS)


def _study_controls(study: EbiosStudy) -> dict[int, set[str]]:
    """The Annex A controls the study gives each operational scenario's risk: the scenario's own
    (workshop 5) and those of its measures."""
    given: dict[int, set[str]] = {}
    for scenario in _rows(EbiosOperationalScenario, study):
        given[scenario.id] = set(scenario.control_ids or [])
    for measure in _rows(EbiosMeasure, study):
        given.setdefault(measure.scenario_id, set()).update(measure.control_ids or [])
    return given


def sync_register(
    study: EbiosStudy, actor: User | None, given_before: Mapping[int, set[str]] | None = None
) -> list[Risk]:
    """Each operational scenario of the study as one risk of the register, created or brought up to
    date through the register's service (its rules, its journal). ``given_before``: the controls the
    study gave each scenario's risk before the change (:func:`_study_controls`) — those it no longer
    gives leave the risk; controls added on the risk's own page stay."""
    org = db.session.get(Organisation, study.organisation_id)
    out = []
    for scenario in _rows(EbiosOperationalScenario, study):
        risk = _risk_of(scenario)
        data = _risk_data(study, scenario, risk, (given_before or {}).get(scenario.id, set()))
        try:
            if risk is None:
                risk = register.create_risk(org, actor, data)
                risk.ebios_scenario_id = scenario.id  # the one column the register's form does not carry
                db.session.flush()
            elif _differs(risk, data):
                register.update_risk(risk, actor, data)
        except FieldError as error:
            # the register refuses what the scenario says: tell it beside the scenario's field
            names = {"impact": "gravity", "title": "title"}
            raise FieldError(
                names.get(error.field, error.field),
                _("Registre des risques (%(title)s) : %(msg)s", title=scenario.title, msg=error.message),
            ) from None
        out.append(risk)
    return out


def _sync_action(study: EbiosStudy, actor: User | None, measure: EbiosMeasure) -> None:
    """The measure as an action of the SMSI (created, or its title, owner and due date updated)."""
    scenario = db.session.get(EbiosOperationalScenario, measure.scenario_id)
    org = db.session.get(Organisation, study.organisation_id)
    data = {
        "title": measure.title,
        "description": measure.description,
        "origin": "risk",
        "origin_detail": _("Étude EBIOS RM %(ref)s — %(title)s", ref=study.reference, title=scenario.title)[
            :300
        ],
        "owner_id": measure.owner_id,
        "due_on": measure.due_on,
    }
    action = (
        smsi_actions.actions_by_ids([measure.action_id]).get(measure.action_id) if measure.action_id else None
    )
    if action is None:
        data |= {"type": "preventive", "priority": "normal", "status": "planned"}
        measure.action_id = smsi_actions.create_action(org, actor, data).id
        db.session.flush()
        return
    current = {name: getattr(action, name) for name in smsi_actions.FIELDS}
    if any(current[k] != v for k, v in data.items() if k != "origin"):
        smsi_actions.update_action(action, actor, current | data | {"version": action.version})


# --- reads -----------------------------------------------------------------------------------------


def _rows(model: Any, study: EbiosStudy) -> list[Any]:
    return list(
        db.session.scalars(
            select(model)
            .where(model.study_id == study.id, model.organisation_id == study.organisation_id)
            .order_by(model.id)
            .execution_options(**UNSCOPED)  # unscoped: the study's own objects (the demo has no request)
        )
    )


def studies(org_id: int) -> list[EbiosStudy]:
    s = EbiosStudy
    return list(
        db.session.scalars(
            select(s).where(s.organisation_id == org_id).order_by(s.started_on.desc(), s.id.desc())
        )
    )


@dataclass
class StudyData:
    """Everything a study holds, read once (a study has tens of objects, not thousands)."""

    study: EbiosStudy
    business_values: list[EbiosBusinessValue] = field(default_factory=list)
    assets: list[EbiosSupportingAsset] = field(default_factory=list)
    feared_events: list[EbiosFearedEvent] = field(default_factory=list)
    gaps: list[EbiosBaselineGap] = field(default_factory=list)
    pairs: list[EbiosSrOv] = field(default_factory=list)
    stakeholders: list[EbiosStakeholder] = field(default_factory=list)
    strategic: list[EbiosStrategicScenario] = field(default_factory=list)
    paths: list[EbiosAttackPath] = field(default_factory=list)
    operational: list[EbiosOperationalScenario] = field(default_factory=list)
    measures: list[EbiosMeasure] = field(default_factory=list)
    risks: dict[int, Risk] = field(default_factory=dict)  # by operational scenario

    def named(self, items: Iterable[Any], ids: Iterable[int] | None) -> list[Any]:
        wanted = set(ids or [])
        return [i for i in items if i.id in wanted]

    def by_id(self, items: Iterable[Any], item_id: int | None) -> Any:
        return next((i for i in items if i.id == item_id), None)


def study_data(study: EbiosStudy) -> StudyData:
    out = StudyData(
        study,
        _rows(EbiosBusinessValue, study),
        _rows(EbiosSupportingAsset, study),
        _rows(EbiosFearedEvent, study),
        _rows(EbiosBaselineGap, study),
        _rows(EbiosSrOv, study),
        _rows(EbiosStakeholder, study),
        _rows(EbiosStrategicScenario, study),
        _rows(EbiosAttackPath, study),
        _rows(EbiosOperationalScenario, study),
        _rows(EbiosMeasure, study),
    )
    ids = [o.id for o in out.operational]
    if ids:
        # unscoped: the study's own organisation, named
        rows = db.session.scalars(
            select(Risk)
            .where(Risk.organisation_id == study.organisation_id, Risk.ebios_scenario_id.in_(ids))
            .execution_options(**UNSCOPED)
        )
        out.risks = {r.ebios_scenario_id: r for r in rows}
    return out


@dataclass(frozen=True)
class Check:
    label: str
    done: bool


@dataclass(frozen=True)
class WorkshopProgress:
    number: int
    title: str
    produces: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def done(self) -> int:
        return sum(1 for c in self.checks if c.done)

    @property
    def percent(self) -> int:
        return round(100 * self.done / len(self.checks)) if self.checks else 0

    @property
    def complete(self) -> bool:
        return all(c.done for c in self.checks)


def workshops() -> list[dict[str, Any]]:
    return list(ref._data()["workshops"])


def progress(data: StudyData) -> list[WorkshopProgress]:
    """Each workshop's completeness: what it must produce, done or not."""
    s = data.study
    with_ops = {o.strategic_scenario_id for o in data.operational}
    treated = [o for o in data.operational if o.treatment is not None]
    checks = {
        1: (
            Check(_("Objet étudié et missions décrits"), bool(s.scope and s.missions)),
            Check(_("Au moins une valeur métier"), bool(data.business_values)),
            Check(_("Au moins un bien support"), bool(data.assets)),
            Check(_("Des événements redoutés cotés en gravité"), bool(data.feared_events)),
            Check(
                _("Socle de sécurité examiné (écarts ou commentaire)"), bool(data.gaps or s.baseline_notes)
            ),
        ),
        2: (
            Check(_("Des couples SR/OV évalués"), bool(data.pairs)),
            Check(_("Au moins un couple retenu"), any(p.is_selected for p in data.pairs)),
        ),
        3: (
            Check(_("Parties prenantes de l'écosystème évaluées"), bool(data.stakeholders)),
            Check(_("Au moins un scénario stratégique"), bool(data.strategic)),
            Check(_("Des chemins d'attaque décrits"), bool(data.paths)),
        ),
        4: (
            Check(_("Au moins un scénario opérationnel"), bool(data.operational)),
            Check(
                _("Chaque scénario stratégique décliné"),
                bool(data.strategic) and all(x.id in with_ops for x in data.strategic),
            ),
        ),
        5: (
            Check(
                _("Chaque risque a une option de traitement"),
                bool(data.operational) and len(treated) == len(data.operational),
            ),
            Check(_("Des mesures de sécurité décidées"), bool(data.measures)),
            Check(
                _("Risques résiduels évalués"), bool(treated) and all(o.residual_likelihood for o in treated)
            ),
            Check(_("Plan de suivi rédigé"), bool(s.monitoring_plan)),
        ),
    }
    english = ref._in_english()
    return [
        WorkshopProgress(
            int(w["number"]),
            w["title_en" if english else "title_fr"],
            tuple(p["label_en" if english else "label_fr"] for p in w["produces"]),
            checks[int(w["number"])],
        )
        for w in workshops()
    ]


def study_heat_map(data: StudyData) -> register.HeatMap:
    """The study's risks per cell, before and after treatment (from its operational scenarios)."""
    out = register.HeatMap()
    strategic = {x.id: x for x in data.strategic}
    for o in data.operational:
        cell = (o.likelihood, strategic[o.strategic_scenario_id].gravity)
        out.inherent[cell] = out.inherent.get(cell, 0) + 1
        if o.residual_likelihood and o.residual_impact:
            rcell = (o.residual_likelihood, o.residual_impact)
            out.residual[rcell] = out.residual.get(rcell, 0) + 1
        else:
            out.not_rated += 1
    return out


def study_choices(org_id: int) -> list[tuple[int, str]]:
    """The register's filter "study": the organisation's studies."""
    return [(s.id, f"{s.reference} — {s.title}") for s in studies(org_id)]


def study_of_risk(risk: Risk) -> EbiosStudy | None:
    """The study a risk of the register comes from (its risk page links to it)."""
    if risk.ebios_scenario_id is None:
        return None
    o = EbiosOperationalScenario
    return db.session.scalar(
        select(EbiosStudy)
        .join(o, o.study_id == EbiosStudy.id)
        .where(o.id == risk.ebios_scenario_id, EbiosStudy.organisation_id == risk.organisation_id)
    )
