"""The risk form and the scale form (rules in risks.services)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from accounts.models import Organisation
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
from risks.models import AssetKind, Risk, Treatment
from risks.services import risks as svc
from risks.services.scale import Scale


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=svc.MAX_TEXT)], filters=[strip], **kwargs)


def _rank(label: Any, **kwargs: Any) -> SelectField:
    # validate_choice off: a rank outside the scale gets the service's message, which names the scale.
    return SelectField(label, coerce=coerce_optional_int, validate_choice=False, **kwargs)


class RiskForm(VersionedForm):
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    asset_kind = SelectField(_l("Bien support"), validators=[DataRequired()])
    application_id = SelectField(
        _l("Application"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    asset = StringField(
        _l("Site, processus ou fournisseur"),
        validators=[Optional(), Length(max=200)],
        filters=[strip, none_if_empty],
    )
    threat = _text(_l("Menace"), description=_l("Ce qui pourrait arriver : source et événement."))
    vulnerability = _text(_l("Vulnérabilité"), description=_l("La faiblesse qu'exploiterait la menace."))
    scenario = _text(_l("Scénario"))
    impact_confidentiality = BooleanField(_l("Confidentialité"))
    impact_integrity = BooleanField(_l("Intégrité"))
    impact_availability = BooleanField(_l("Disponibilité"))
    likelihood = _rank(_l("Vraisemblance"))
    impact = _rank(_l("Gravité"))
    existing_measures = _text(_l("Mesures existantes"))
    treatment = SelectField(_l("Traitement"), validators=[Optional()])
    treatment_plan = _text(_l("Plan de traitement"))
    action_ids = MultiCheckboxField(
        _l("Actions correctives"),
        coerce=coerce_id,
        validate_choice=False,
        description=_l("Les actions du SMSI qui traitent ce risque (ouvertes, et celles déjà liées)."),
    )
    control_ids = MultiCheckboxField(
        _l("Mesures de l'annexe A"), validate_choice=False, description=_l("Déclaration d'applicabilité.")
    )
    residual_likelihood = _rank(_l("Vraisemblance résiduelle"))
    residual_impact = _rank(_l("Gravité résiduelle"))
    owner_id = SelectField(
        _l("Propriétaire du risque"),
        coerce=coerce_optional_int,
        validate_choice=False,
        validators=[Optional()],
    )
    accepted_by = StringField(
        _l("Accepté par"),
        validators=[Optional(), Length(max=200)],
        filters=[strip, none_if_empty],
        description=_l("Nom et fonction de la personne qui accepte le risque résiduel."),
    )
    accepted_on = BoundedDateField(_l("Accepté le"), validators=[Optional()])
    next_review_on = BoundedDateField(_l("Prochaine revue"), validators=[Optional()])

    # The service's checks run here too, so that a post shows every error at once, each beside its
    # field (WTForms stops at a field's first failing validator, and knows nothing of the scale).
    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for error in svc.check(self._org, self.data):
            target = getattr(self, error.field, None)
            if target is None:
                self.form_errors.append(error.message)
            elif error.message not in target.errors and not target.errors:
                target.errors = [*target.errors, error.message]
            ok = False
        return ok

    def setup(
        self,
        *,
        org: Organisation,
        scale: Scale,
        applications: list[tuple[int, str]],
        people: list[tuple[int, str]],
        actions: list[tuple[int, str]],
        controls: list[tuple[str, str]],
    ) -> RiskForm:
        self.asset_kind.choices = enum_choices(AssetKind)
        self.treatment.choices = to_choices(
            ((t.value, t.label) for t in Treatment), blank=_l("— à décider —")
        )
        self.application_id.choices = to_choices(applications, blank=_l("— choisir —"))
        likelihoods = list(enumerate(scale.likelihood_labels, start=1))
        impacts = list(enumerate(scale.impact_labels, start=1))
        self.likelihood.choices = to_choices(likelihoods, blank=_l("— choisir —"))
        self.impact.choices = to_choices(impacts, blank=_l("— choisir —"))
        self.residual_likelihood.choices = to_choices(likelihoods, blank=_l("— non évaluée —"))
        self.residual_impact.choices = to_choices(impacts, blank=_l("— non évaluée —"))
        self.owner_id.choices = to_choices(people, blank=_l("— choisir —"))
        self.action_ids.choices = actions
        self.control_ids.choices = controls
        self._org = org
        return self


def initial_data(risk: Risk | None, *, action_ids: list[int] | None = None) -> dict[str, Any]:
    if risk is None:
        return {"asset_kind": AssetKind.APPLICATION.value}
    data: dict[str, Any] = {name: getattr(risk, name) for name in svc.FIELDS}
    data["asset_kind"] = risk.asset_kind.value
    data["treatment"] = risk.treatment.value if risk.treatment else ""
    data["action_ids"] = action_ids or []
    data["version"] = risk.version
    return data
