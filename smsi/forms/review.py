"""The weekly review's minutes form (rules in smsi.services.review)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length, Optional

from core.forms import BoundedDateField, VersionedForm, strip
from smsi.services.review import MAX_TEXT


def _text(label: str, **kwargs: object) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=MAX_TEXT)], filters=[strip], **kwargs)  # type: ignore[arg-type]


class MinutesForm(VersionedForm):
    week = HiddenField()
    held_on = BoundedDateField(_l("Réunion tenue le"), validators=[Optional()])
    attendees = _text(_l("Participants"))
    minutes = _text(_l("Compte rendu"))
    decisions = _text(
        _l("Décisions"),
        description=_l("Une décision qui demande une action : créez-la avec le bouton « Nouvelle action »."),
    )
