"""The hygiene self-assessment's forms: a new assessment (its date), and the answers' page (its note and
version; the 42 rows are read by the view, one set of inputs per measure)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from core.forms import BoundedDateField, VersionedForm, strip
from risks.services.hygiene import MAX_TEXT


class NewAssessmentForm(FlaskForm):
    assessed_on = BoundedDateField(
        _l("Date de l'auto-évaluation"),
        validators=[Optional()],
        description=_l("Aujourd'hui si vide. Les réponses de la précédente sont reprises."),
    )


class AnswersForm(VersionedForm):
    note = TextAreaField(
        _l("Commentaire général"), validators=[Optional(), Length(max=MAX_TEXT)], filters=[strip]
    )
