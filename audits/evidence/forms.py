"""The evidence forms (the rules are in audits.evidence.services)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import BoundedDateField, VersionedForm, coerce_optional_int, strip

FILE_HELP = _l(
    "PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS, CSV ou texte ; le type est vérifié sur le contenu. "
    "Le fichier est chiffré dès sa réception."
)


class _EvidenceFields:
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=10_000)],
        filters=[strip],
        description=_l("Ce que la preuve démontre, d'où elle vient."),
    )
    owner_id = SelectField(
        _l("Responsable"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    valid_from = BoundedDateField(_l("Valable à partir du"), validators=[Optional()])
    valid_until = BoundedDateField(
        _l("Valable jusqu'au"),
        validators=[Optional()],
        description=_l("Une preuve périmée est signalée dans les listes ; 30 jours avant, elle l'est aussi."),
    )

    def setup(self, people: list[tuple[int, str]]) -> _EvidenceFields:
        self.owner_id.choices = [(None, "—"), *people]  # type: ignore[attr-defined]
        return self


class EvidenceForm(_EvidenceFields, FlaskForm):
    file = FileField(_l("Fichier"), description=FILE_HELP)
    object_type = HiddenField()
    object_id = HiddenField()


class EvidenceEditForm(_EvidenceFields, VersionedForm):
    pass


class VersionForm(VersionedForm):
    file = FileField(_l("Nouveau fichier"), description=FILE_HELP)


class LinkForm(FlaskForm):
    object_type = SelectField(_l("Type d'objet"), validators=[DataRequired()])
    object_id = StringField(
        _l("Numéro de l'objet"), validators=[DataRequired(), Length(max=12)], filters=[strip]
    )


class ActionForm(FlaskForm):
    """A button that posts (download, unlink): the CSRF token only."""
