from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from catalogue.models import AppDomain, Criticality, Hosting
from core.forms import (
    BoundedDateField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    none_if_empty,
    strip,
)


class ApplicationForm(VersionedForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    editor = StringField(
        _l("Éditeur"), validators=[Optional(), Length(max=200)], filters=[strip, none_if_empty]
    )
    domain = SelectField(
        _l("Domaine fonctionnel"), choices=enum_choices(AppDomain), validators=[DataRequired()]
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=5000)], filters=[strip, none_if_empty]
    )
    hosting = SelectField(_l("Hébergement"), choices=enum_choices(Hosting), validators=[DataRequired()])
    criticality = SelectField(_l("Criticité"), choices=enum_choices(Criticality), validators=[DataRequired()])
    has_personal_data = BooleanField(_l("Traite des données personnelles"), default=True)
    has_sensitive_data = BooleanField(
        _l("Traite des données sensibles"),
        description=_l("Santé, action sociale, NIR, infractions… (RGPD art. 9 et 10)."),
    )
    retired_on = BoundedDateField(_l("Retirée du catalogue le"), validators=[Optional()])


class SubscriptionForm(FlaskForm):
    organisation_id = SelectField(
        _l("Adhérent ou partenaire"), coerce=coerce_optional_int, validators=[DataRequired()]
    )
    started_on = BoundedDateField(_l("Depuis le"), validators=[DataRequired()])


class SubscriptionEndForm(VersionedForm):
    ended_on = BoundedDateField(_l("Fin d'utilisation le"), validators=[DataRequired()])
