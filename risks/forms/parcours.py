"""The parcours de cybersécurité's forms: the parcours, a phase, a subsidy, a measure (with its SMSI
action's title, owner, due date and status), the PDF's audience. Rules in risks.services.parcours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from core.forms import (
    BoundedDateField,
    BoundedIntegerField,
    MultiCheckboxField,
    VersionedForm,
    coerce_id,
    coerce_optional_int,
    strip,
    to_choices,
)
from risks.models import Parcours, ParcoursPhase, Subsidy
from risks.services import parcours as svc

AUDIENCES = ("comite", "anssi")


def _text(label: Any, limit: int = svc.MAX_TEXT, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=limit)], filters=[strip], **kwargs)


def _line(label: Any, limit: int = 200, **kwargs: Any) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=limit)], filters=[strip], **kwargs)


class AmountField(StringField):
    """An amount in euros as people type it ("12 500,50", "40000", "40 000 €"); the form keeps what
    was typed, the service reads it (:func:`risks.services.parcours.amount_value`) and says what is
    wrong — negative, too large, not a number — beside the field."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, Decimal):
            return f"{self.data:.2f}".replace(".", ",")
        return "" if self.data is None else str(self.data)

    def pre_validate(self, form: Any) -> None:
        errors: list[Any] = []
        svc.amount_value(self.data, self.name, errors)
        if errors:
            raise StopValidation(errors[0].message)


class ParcoursForm(VersionedForm):
    selected_on = BoundedDateField(_l("Sélectionné par l'ANSSI le"), validators=[DataRequired()])
    provider = _line(_l("Prestataire terrain"))
    anssi_contact = _line(_l("Contact à l'ANSSI"))
    csirt = _line(_l("CSIRT régional"))
    convention_reference = _line(_l("Référence de la convention"), 100)
    notes = _text(_l("Notes"))


class PhaseForm(VersionedForm):
    starts_on = BoundedDateField(_l("Début"), validators=[Optional()])
    ends_on = BoundedDateField(_l("Fin prévue"), validators=[Optional()])
    deliverables = _text(
        _l("Livrables"),
        description=_l("Rapport de diagnostic, plan de sécurisation, preuves de réalisation…"),
    )
    delivered_on = BoundedDateField(_l("Livrables remis le"), validators=[Optional()])
    cofinancing_rate = BoundedIntegerField(
        _l("Part du bénéficiaire (%)"),
        maximum=100,
        validators=[Optional()],
        description=_l(
            "Le reste à charge du bénéficiaire : %(rate)s en phase 2 dans le programme.", rate="30 %"
        ),
    )


class SubsidyForm(VersionedForm):
    label = StringField(_l("Libellé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    phase_id = SelectField(_l("Phase"), coerce=coerce_optional_int, validate_choice=False)
    amount_expected = AmountField(_l("Montant attendu (€)"))
    expected_on = BoundedDateField(_l("Attendu le"), validators=[Optional()])
    amount_received = AmountField(_l("Montant reçu (€)"))
    received_on = BoundedDateField(_l("Reçu le"), validators=[Optional()])
    condition = _text(_l("Condition du versement"), description=_l("Ce dont dépend le versement."))

    def setup(self, phases: list[ParcoursPhase]) -> SubsidyForm:
        self.phase_id.choices = to_choices(((p.id, p.kind.label) for p in phases), blank=_l("— aucune —"))
        return self


class MeasureForm(VersionedForm):
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    theme = SelectField(_l("Thème"), validators=[DataRequired()])
    phase_id = SelectField(_l("Phase"), coerce=coerce_optional_int, validate_choice=False)
    owner_id = SelectField(_l("Responsable"), coerce=coerce_optional_int, validate_choice=False)
    due_on = BoundedDateField(_l("Échéance"), validators=[Optional()])
    status = SelectField(_l("État"))
    done_on = BoundedDateField(
        _l("Réalisée le"), validators=[Optional()], description=_l("Pour une mesure réalisée.")
    )
    planned_cost = AmountField(_l("Coût prévu (€)"))
    amount_spent = AmountField(_l("Dépensé (€)"))
    subsidy_id = SelectField(
        _l("Versement conditionné"),
        coerce=coerce_optional_int,
        validate_choice=False,
        description=_l("Le versement de subvention qui attend cette mesure."),
    )
    hygiene_measures = MultiCheckboxField(
        _l("Mesures du guide d'hygiène"), coerce=coerce_id, validate_choice=False
    )
    control_ids = MultiCheckboxField(
        _l("Mesures de l'annexe A"), validate_choice=False, description=_l("Déclaration d'applicabilité.")
    )

    def setup(
        self,
        *,
        phases: list[ParcoursPhase],
        subsidies: list[Subsidy],
        people: list[tuple[int, str]],
        statuses: list[tuple[str, Any]],
    ) -> MeasureForm:
        self.theme.choices = to_choices(svc.theme_choices(), blank=_l("— choisir —"))
        self.phase_id.choices = to_choices(((p.id, p.kind.label) for p in phases), blank=_l("— choisir —"))
        self.owner_id.choices = to_choices(people, blank=_l("— choisir —"))
        self.status.choices = to_choices(statuses)
        self.subsidy_id.choices = to_choices(((s.id, s.label) for s in subsidies), blank=_l("— aucun —"))
        self.hygiene_measures.choices = to_choices(svc.hygiene_choices())
        self.control_ids.choices = to_choices(svc.control_choices())
        return self

    # The conflict page reads the stored values of the action's fields from the measure's action.
    def stored_title(self, measure: Any) -> Any:
        return svc.action_of(measure).title

    def stored_owner_id(self, measure: Any) -> Any:
        return svc.action_of(measure).owner_id

    def stored_due_on(self, measure: Any) -> Any:
        return svc.action_of(measure).due_on

    def stored_status(self, measure: Any) -> Any:
        return svc.action_of(measure).status.value

    def stored_done_on(self, measure: Any) -> Any:
        return svc.action_of(measure).done_on


class ParcoursPdfForm(FlaskForm):
    audience = SelectField(
        _l("Destinataire"),
        choices=to_choices([("comite", _l("Comité syndical")), ("anssi", _l("ANSSI"))]),
        default="comite",
    )


def parcours_data(parcours: Parcours | None) -> dict[str, Any]:
    if parcours is None:
        return {}
    return {name: getattr(parcours, name) for name in svc.PARCOURS_FIELDS} | {"version": parcours.version}


def measure_data(measure: Any, action: Any) -> dict[str, Any]:
    data = {name: getattr(measure, name) for name in svc.MEASURE_FIELDS}
    data |= {name: getattr(action, name) for name in svc.ACTION_FIELDS}
    data["status"] = action.status.value
    data["version"] = measure.version
    return data
