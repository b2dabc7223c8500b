"""The corrective action form and the bulk re-assignment form (rules in smsi.services.actions)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.db import today
from core.forms import (
    BoundedDateField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    strip,
    to_choices,
)
from core.params import parse_int
from smsi.models import Action, ActionOrigin, ActionPriority, ActionStatus, ActionType
from smsi.services import actions as svc


def _optional_id(value: Any) -> int | None:
    """A hidden id: a number in range, or None (junk is no id, never an error nobody would see)."""
    return None if value in (None, "") else parse_int(value)


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=svc.MAX_TEXT)], filters=[strip], **kwargs)


class ActionForm(VersionedForm):
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    description = _text(_l("Description"))
    origin = SelectField(_l("Origine"), validators=[DataRequired()])
    incident_id = SelectField(
        _l("Incident"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    origin_detail = StringField(
        _l("Précision sur l'origine"),
        validators=[Optional(), Length(max=300)],
        filters=[strip],
        description=_l("Le constat d'audit, le risque, la mesure du parcours, la revue de direction…"),
    )
    # The weekly review whose decision the action carries out: set by the review page's link, kept
    # by the form (the service checks it is one of the organisation's reviews).
    review_id = HiddenField(_l("Revue hebdomadaire"), filters=[_optional_id])
    type = SelectField(_l("Type"), validators=[DataRequired()])
    priority = SelectField(_l("Priorité"), validators=[DataRequired()])
    owner_id = SelectField(
        _l("Responsable"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    due_on = BoundedDateField(_l("Échéance"), validators=[DataRequired()])
    status = SelectField(_l("Statut"), validators=[DataRequired()])
    done_on = BoundedDateField(_l("Réalisée le"), validators=[Optional()])
    check_method = _text(
        _l("Vérification de l'efficacité : méthode"),
        description=_l("Obligatoire pour clore l'action (efficacité vérifiée) ou la déclarer inefficace."),
    )
    checked_on = BoundedDateField(_l("Vérifiée le"), validators=[Optional()])
    checked_by_id = SelectField(
        _l("Vérifiée par"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    check_result = _text(_l("Résultat de la vérification"))

    # The service checks it too; the form says it beside the other errors of the same post.
    def validate_due_on(self, field: Any) -> None:
        if not self.version.data and field.data and field.data < today():
            raise ValidationError(_l("Une nouvelle action ne peut pas être déjà échue."))

    def setup(self, *, people: list[tuple[int, str]], incidents: list[tuple[int, str]]) -> ActionForm:
        self.origin.choices = enum_choices(ActionOrigin)
        self.type.choices = enum_choices(ActionType)
        self.priority.choices = enum_choices(ActionPriority)
        self.status.choices = enum_choices(ActionStatus)
        self.incident_id.choices = to_choices(incidents, blank=_l("— aucun —"))
        self.owner_id.choices = to_choices(people, blank=_l("— choisir —"))
        self.checked_by_id.choices = to_choices(people, blank=_l("— choisir —"))
        return self


def initial_data(action: Action | None, **prefill: Any) -> dict[str, Any]:
    if action is None:
        return {
            "origin": ActionOrigin.OTHER.value,
            "type": ActionType.CORRECTIVE.value,
            "priority": ActionPriority.NORMAL.value,
            "status": ActionStatus.PLANNED.value,
            **prefill,
        }
    data: dict[str, Any] = {name: getattr(action, name) for name in svc.FIELDS}
    for name in ("origin", "type", "priority", "status"):
        data[name] = data[name].value
    data["version"] = action.version
    return data


class ReassignForm(FlaskForm):
    """Every open action of one person handed to another (an owner leaving)."""

    from_id = SelectField(_l("Actions de"), coerce=coerce_optional_int, validate_choice=False)
    to_id = SelectField(_l("Confiées à"), coerce=coerce_optional_int, validate_choice=False)

    def setup(self, people: list[tuple[int, str]]) -> ReassignForm:
        self.from_id.choices = to_choices(people, blank=_l("— choisir —"))
        self.to_id.choices = to_choices(people, blank=_l("— choisir —"))
        return self
