"""The forms of an EBIOS RM study: the study itself, and one per kind of workshop object (the rules
are the service's, risks.services.ebios: a post shows every error at once, beside its field)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import (
    BoundedDateField,
    MultiCheckboxField,
    VersionedForm,
    coerce_id,
    coerce_optional_int,
    enum_choices,
    none_if_empty,
    strip,
    to_choices,
)
from risks.models import (
    EbiosAssetKind,
    EbiosGapSource,
    EbiosNature,
    EbiosStakeholderCategory,
    EbiosStudy,
    Treatment,
)
from risks.services import ebios as svc
from risks.services.scale import Scale

CRITERIA = ((1, "1"), (2, "2"), (3, "3"), (4, "4"))
RELEVANCE = ((1, _l("1 — faible")), (2, _l("2 — moyenne")), (3, _l("3 — forte")))


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=svc.MAX_TEXT)], filters=[strip], **kwargs)


def _line(label: Any, limit: int = 200, **kwargs: Any) -> StringField:
    return StringField(
        label, validators=[Optional(), Length(max=limit)], filters=[strip, none_if_empty], **kwargs
    )


def _pick(label: Any, **kwargs: Any) -> SelectField:
    # validate_choice off: a value outside the choices gets the service's message
    return SelectField(label, coerce=coerce_optional_int, validate_choice=False, **kwargs)


def _many(label: Any, **kwargs: Any) -> MultiCheckboxField:
    return MultiCheckboxField(label, coerce=coerce_id, validate_choice=False, **kwargs)


class StudyForm(VersionedForm):
    title = StringField(
        _l("Intitulé de l'étude"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    scope = _text(
        _l("Objet étudié"), description=_l("Le périmètre : le système, le service ou l'activité étudiés.")
    )
    missions = _text(_l("Missions"), description=_l("Ce que l'objet étudié permet de faire, pour qui."))
    objectives = _text(_l("Objectifs de l'étude"))
    participants = _text(_l("Participants"), description=_l("Qui participe à chaque atelier (rôles)."))
    started_on = BoundedDateField(_l("Début de l'étude"), validators=[Optional()])
    baseline_notes = _text(_l("Socle de sécurité : référentiels et commentaire"))
    monitoring_plan = _text(
        _l("Plan de suivi des risques"), description=_l("Indicateurs, revues, qui suit quoi et quand.")
    )
    next_review_on = BoundedDateField(_l("Prochaine revue de l'étude"), validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        return _attach(self, svc.check_study(self.data)) and ok


def _attach(form: Any, errors: list[Any]) -> bool:
    for error in errors:
        target = getattr(form, error.field, None)
        if target is None:
            form.form_errors.append(error.message)
        elif not target.errors:
            target.errors = [*target.errors, error.message]
    return not errors


class ItemForm(VersionedForm):
    """A workshop object's form: choices from the study, the service's checks on validation."""

    item_kind: str = ""  # the key of risks.services.ebios.KINDS

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self._study, self._item = study, extra.get("item")
        return self

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        return (
            _attach(self, svc.check_item(svc.KINDS[self.item_kind], self._study, self.data, self._item))
            and ok
        )


def _named(items: list[Any]) -> list[tuple[int, str]]:
    return [(i.id, str(i)) for i in items]


class BusinessValueForm(ItemForm):
    item_kind = "business_value"
    name = StringField(_l("Valeur métier"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    nature = SelectField(_l("Nature"), validators=[DataRequired()])
    description = _text(_l("Description"))
    responsible = _line(_l("Responsable"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.nature.choices = enum_choices(EbiosNature)
        return super().setup(study, data, scale, extra)


class AssetForm(ItemForm):
    item_kind = "asset"
    name = StringField(_l("Bien support"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    kind = SelectField(_l("Type"), validators=[DataRequired()])
    application_id = _pick(_l("Application du catalogue"))
    business_value_ids = _many(_l("Valeurs métier qu'il supporte"))
    description = _text(_l("Description"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.kind.choices = enum_choices(EbiosAssetKind)
        self.application_id.choices = to_choices(extra["applications"], blank=_l("— aucune —"))
        self.business_value_ids.choices = _named(data.business_values)
        return super().setup(study, data, scale, extra)


class FearedEventForm(ItemForm):
    item_kind = "feared_event"
    business_value_id = _pick(_l("Valeur métier"))
    description = TextAreaField(
        _l("Événement redouté"), validators=[DataRequired(), Length(max=svc.MAX_TEXT)], filters=[strip]
    )
    impacts = _text(_l("Impacts"), description=_l("Missions, humains, juridiques, financiers, image…"))
    gravity = _pick(_l("Gravité"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.business_value_id.choices = to_choices(_named(data.business_values), blank=_l("— choisir —"))
        self.gravity.choices = to_choices(enumerate(scale.impact_labels, start=1), blank=_l("— choisir —"))
        return super().setup(study, data, scale, extra)


class GapForm(ItemForm):
    item_kind = "gap"
    source = SelectField(_l("Référentiel"), validators=[DataRequired()])
    reference = _line(_l("Référence"), 30, description=_l("Par exemple A.8.13 ou H-12."))
    description = TextAreaField(
        _l("Écart"), validators=[DataRequired(), Length(max=svc.MAX_TEXT)], filters=[strip]
    )
    justification = _text(_l("Justification"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.source.choices = enum_choices(EbiosGapSource)
        return super().setup(study, data, scale, extra)


class SrOvForm(ItemForm):
    item_kind = "srov"
    risk_origin = StringField(
        _l("Source de risque"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    target_objective = StringField(
        _l("Objectif visé"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    motivation = _pick(_l("Motivation"))
    resources = _pick(_l("Ressources"))
    activity = _pick(_l("Activité"))
    relevance = _pick(
        _l("Pertinence"), description=_l("Laissée vide : la pertinence suggérée par les trois critères.")
    )
    is_selected = BooleanField(_l("Couple retenu pour la suite de l'étude"))
    justification = _text(_l("Justification"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        for name in ("motivation", "resources", "activity"):
            getattr(self, name).choices = to_choices(CRITERIA, blank=_l("— choisir —"))
        self.relevance.choices = to_choices(RELEVANCE, blank=_l("— suggérée —"))
        return super().setup(study, data, scale, extra)


class StakeholderForm(ItemForm):
    item_kind = "stakeholder"
    name = StringField(_l("Partie prenante"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    category = SelectField(_l("Catégorie"), validators=[DataRequired()])
    dependency = _pick(_l("Dépendance"))
    penetration = _pick(_l("Pénétration"))
    maturity = _pick(_l("Maturité cyber"))
    trust = _pick(_l("Confiance"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.category.choices = enum_choices(EbiosStakeholderCategory)
        for name in ("dependency", "penetration", "maturity", "trust"):
            getattr(self, name).choices = to_choices(CRITERIA, blank=_l("— choisir —"))
        return super().setup(study, data, scale, extra)


class StrategicForm(ItemForm):
    item_kind = "strategic"
    srov_id = _pick(_l("Couple SR/OV retenu"))
    title = StringField(
        _l("Scénario stratégique"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    description = _text(_l("Description"))
    feared_event_ids = _many(_l("Événements redoutés"))
    gravity = _pick(
        _l("Gravité"), description=_l("Laissée vide : la plus haute des événements redoutés choisis.")
    )

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.srov_id.choices = to_choices(
            _named([p for p in data.pairs if p.is_selected]), blank=_l("— choisir —")
        )
        self.feared_event_ids.choices = _named(data.feared_events)
        self.gravity.choices = to_choices(
            enumerate(scale.impact_labels, start=1), blank=_l("— d'après les événements —")
        )
        return super().setup(study, data, scale, extra)


class AttackPathForm(ItemForm):
    item_kind = "attack_path"
    scenario_id = _pick(_l("Scénario stratégique"))
    stakeholder_id = _pick(_l("Partie prenante empruntée"))
    description = TextAreaField(
        _l("Chemin d'attaque"), validators=[DataRequired(), Length(max=svc.MAX_TEXT)], filters=[strip]
    )

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.scenario_id.choices = to_choices(_named(data.strategic), blank=_l("— choisir —"))
        self.stakeholder_id.choices = to_choices(_named(data.stakeholders), blank=_l("— attaque directe —"))
        return super().setup(study, data, scale, extra)


class OperationalForm(ItemForm):
    item_kind = "operational"
    strategic_scenario_id = _pick(_l("Scénario stratégique"))
    title = StringField(
        _l("Scénario opérationnel"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    description = _text(_l("Mode opératoire"), description=_l("Les actions élémentaires de l'attaquant."))
    asset_ids = _many(_l("Biens supports visés"))
    likelihood = _pick(_l("Vraisemblance"))

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.strategic_scenario_id.choices = to_choices(_named(data.strategic), blank=_l("— choisir —"))
        self.asset_ids.choices = _named(data.assets)
        self.likelihood.choices = to_choices(
            enumerate(scale.likelihood_labels, start=1), blank=_l("— choisir —")
        )
        return super().setup(study, data, scale, extra)


class TreatmentForm(ItemForm):
    item_kind = "treatment"
    treatment = SelectField(_l("Option de traitement"), validators=[Optional()])
    treatment_plan = _text(_l("Stratégie de traitement"))
    control_ids = MultiCheckboxField(_l("Mesures de l'annexe A"), validate_choice=False)
    residual_likelihood = _pick(_l("Vraisemblance résiduelle"))
    residual_impact = _pick(_l("Gravité résiduelle"))
    accepted_by = _line(_l("Risque résiduel accepté par"))
    accepted_on = BoundedDateField(_l("Accepté le"), validators=[Optional()])

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.treatment.choices = to_choices(((t.value, t.label) for t in Treatment), blank=_l("— choisir —"))
        self.control_ids.choices = extra["controls"]
        self.residual_likelihood.choices = to_choices(
            enumerate(scale.likelihood_labels, start=1), blank=_l("— non évaluée —")
        )
        self.residual_impact.choices = to_choices(
            enumerate(scale.impact_labels, start=1), blank=_l("— non évaluée —")
        )
        return super().setup(study, data, scale, extra)


class MeasureForm(ItemForm):
    item_kind = "measure"
    scenario_id = _pick(_l("Scénario opérationnel traité"))
    title = StringField(
        _l("Mesure de sécurité"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    description = _text(_l("Description"))
    control_ids = MultiCheckboxField(_l("Mesures de l'annexe A"), validate_choice=False)
    owner_id = _pick(_l("Responsable"))
    due_on = BoundedDateField(_l("Échéance"), validators=[Optional()])

    def setup(self, study: EbiosStudy, data: svc.StudyData, scale: Scale, extra: dict[str, Any]) -> ItemForm:
        self.scenario_id.choices = to_choices(_named(data.operational), blank=_l("— choisir —"))
        self.control_ids.choices = extra["controls"]
        self.owner_id.choices = to_choices(extra["people"], blank=_l("— choisir —"))
        return super().setup(study, data, scale, extra)


FORMS: dict[str, type[ItemForm]] = {
    f.item_kind: f
    for f in (
        BusinessValueForm,
        AssetForm,
        FearedEventForm,
        GapForm,
        SrOvForm,
        StakeholderForm,
        StrategicForm,
        AttackPathForm,
        OperationalForm,
        TreatmentForm,
        MeasureForm,
    )
}


def initial_data(kind: str, item: Any) -> dict[str, Any]:
    data = {name: getattr(item, name) for name in svc.FIELDS[kind]}
    data = {k: (v.value if hasattr(v, "value") and not isinstance(v, int) else v) for k, v in data.items()}
    data["version"] = item.version
    return data
