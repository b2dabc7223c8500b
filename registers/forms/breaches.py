"""Form of a personal-data breach (rules checked by registers.services.breaches)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from core.forms import (
    BoundedDateField,
    BoundedIntegerField,
    LocalDateTimeField,
    MultiCheckboxField,
    VersionedForm,
    enum_choices,
    none_if_empty,
    strip,
    to_choices,
)
from registers import reference as ref
from registers.models import NotificationDecision, RiskLevel, SubjectsDecision
from registers.services.breaches import breach_types


def _optional_value(value: Any) -> str | None:
    """Coerce a select's value: "" and None (not chosen) are None, an enum member its value."""
    if value in (None, "", "None"):
        return None
    return str(getattr(value, "value", value))


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(
        label, validators=[Optional(), Length(max=5000)], filters=[strip, none_if_empty], **kwargs
    )


class BreachForm(VersionedForm):
    """Multi-choice fields take their (locale-dependent) options from the reference lists when the
    form is built."""

    reference = StringField(
        _l("Référence"),
        validators=[Optional(), Length(max=30)],
        filters=[strip, none_if_empty],
        description=_l("Laissée vide : attribuée automatiquement (VIO-année-numéro)."),
    )
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    discovered_at = LocalDateTimeField(
        _l("Découverte le"),
        validators=[DataRequired()],
        description=_l(
            "Heure de Paris. Moment où l'organisation a eu connaissance de la violation : "
            "le délai de 72 h pour notifier la CNIL court à partir de là (art. 33.1)."
        ),
    )
    occurred_at = LocalDateTimeField(
        _l("Survenue le"), validators=[Optional()], description=_l("Heure de Paris, si elle est connue.")
    )
    natures = MultiCheckboxField(_l("Nature de la violation"))  # at least one: checked by the service
    description = _text(_l("Description des faits"))
    data_categories = MultiCheckboxField(_l("Catégories de données concernées"), validators=[Optional()])
    data_subjects = MultiCheckboxField(_l("Catégories de personnes concernées"), validators=[Optional()])
    people_count = BoundedIntegerField(_l("Nombre approximatif de personnes"), validators=[Optional()])
    records_count = BoundedIntegerField(_l("Nombre approximatif d'enregistrements"), validators=[Optional()])
    consequences = _text(_l("Conséquences probables"))
    measures = _text(_l("Mesures prises ou envisagées"))
    risk_level = SelectField(_l("Risque pour les droits et libertés des personnes"), coerce=_optional_value)
    cnil_decision = SelectField(
        _l("Notification à la CNIL"), choices=enum_choices(NotificationDecision), validators=[DataRequired()]
    )
    cnil_notified_at = LocalDateTimeField(
        _l("Notifiée à la CNIL le"), validators=[Optional()], description=_l("Heure de Paris.")
    )
    cnil_reference = StringField(
        _l("Numéro de la notification"),
        validators=[Optional(), Length(max=60)],
        filters=[strip, none_if_empty],
    )
    late_reason = _text(
        _l("Motifs du retard"), description=_l("Obligatoires pour une notification au-delà de 72 h.")
    )
    decision_reason = _text(
        _l("Motivation de la décision"),
        description=_l("Obligatoire sans notification : pourquoi la violation ne présente pas de risque."),
    )
    subjects_decision = SelectField(
        _l("Communication aux personnes concernées"),
        choices=enum_choices(SubjectsDecision),
        validators=[DataRequired()],
    )
    subjects_informed_on = BoundedDateField(_l("Personnes informées le"), validators=[Optional()])
    subjects_reason = _text(
        _l("Motif de non-information"),
        description=_l("En cas de risque élevé, exemption de l'art. 34.3 retenue."),
    )
    is_closed = BooleanField(_l("Violation close"))
    closed_on = BoundedDateField(
        _l("Close le"), validators=[Optional()], description=_l("Laissée vide : date du jour.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.natures.choices = ref.choices(breach_types())
        self.data_categories.choices = ref.choices(ref.data_categories())
        self.data_subjects.choices = ref.choices(ref.data_subjects())
        self.risk_level.choices = to_choices(
            [(r.value, r.label) for r in RiskLevel], blank=_l("— non évalué —")
        )
