"""The form that asks for an evidence pack: the period, and (a syndicate's RSSI) the organisations."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional

from audits.packs import services
from core.db import local_today
from core.forms import strip
from core.tenancy import current_org


class PackForm(FlaskForm):
    title = StringField(
        _l("Intitulé"),
        validators=[Optional(), Length(max=300)],
        filters=[strip],
        description=_l("Facultatif : par défaut, les organisations et la période."),
    )
    period_start = DateField(
        _l("Début de la période"), validators=[InputRequired(_l("Indiquez le début de la période."))]
    )
    period_end = DateField(
        _l("Fin de la période"), validators=[InputRequired(_l("Indiquez la fin de la période."))]
    )
    organisations = SelectMultipleField(
        _l("Organisations"),
        coerce=int,
        validate_choice=False,  # checked by services.request_pack, with a French message
        validators=[Optional()],
        description=_l(
            "Le syndicat et ceux de ses membres dont les documents et preuves entrent dans le dossier."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisations.choices = (
            services.scope_choices(current_org) if services.may_choose_members() else []
        )
        if not self.is_submitted():
            today: date = local_today()
            self.period_start.data = self.period_start.data or today - timedelta(days=365)
            self.period_end.data = self.period_end.data or today
            if self.organisations.choices:
                self.organisations.data = [current_org.id]
