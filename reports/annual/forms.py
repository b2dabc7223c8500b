"""The annual report's forms: which year and which scope (the Rapports page and the preview), and
the RSSI's texts (rules in reports.annual.services)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import VersionedForm, strip
from core.tenancy import current_org, current_org_roles
from reports.annual import services
from reports.annual.figures import SCOPE_MEMBERS, SCOPE_ORGANISATION


class AnnualForm(FlaskForm):
    """Year and scope; "all the members" is offered only to a syndicate's RSSI or DPO."""

    year = SelectField(_l("Année"), coerce=int, validators=[DataRequired()])
    scope = SelectField(_l("Périmètre"), default=SCOPE_ORGANISATION, validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year.choices = [(y, str(y)) for y in services.years()]
        if self.year.data is None:
            self.year.data = services.default_year()
        choices = [(SCOPE_ORGANISATION, str(_l("Cette organisation")))]
        if services.may_consolidate(current_org, current_org_roles()):
            choices.append((SCOPE_MEMBERS, str(_l("Le syndicat et tous ses membres (consolidé)"))))
        self.scope.choices = choices


class TextsForm(VersionedForm):
    highlights = TextAreaField(
        _l("Faits marquants de l'année"),
        validators=[Optional(), Length(max=services.MAX_TEXT)],
        filters=[strip],
        description=_l("Ce qui a marqué l'année : incidents notables, projets menés, contrôles, formations."),
    )
    plan = TextAreaField(
        _l("Plan d'action de l'année suivante"),
        validators=[Optional(), Length(max=services.MAX_TEXT)],
        filters=[strip],
    )
