"""The incident log document's generate form (on the shared documents page): which year."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired

from core.db import local_today

YEARS_OFFERED = 10  # this year and the nine before


class LogDocumentForm(FlaskForm):
    year = SelectField(_l("Année"), coerce=int, validators=[DataRequired()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        this_year = local_today().year
        self.year.choices = [(y, str(y)) for y in range(this_year, this_year - YEARS_OFFERED, -1)]
        if self.year.data is None:
            self.year.data = this_year
