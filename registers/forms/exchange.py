"""Forms of the register's export and import: the upload, the column mapping, the confirmation."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import Form, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.forms import coerce_optional_int, strip
from registers.services.exchange import MAX_UPLOAD_BYTES, choices, limits_text

SAMPLES = 3
SAMPLE_CHARS = 60


class ImportForm(FlaskForm):
    file = FileField(
        _l("Fichier du registre"),
        validators=[
            FileRequired(_l("Choisissez un fichier.")),
            FileAllowed(["csv", "xlsx", "ods"], _l("Seuls les fichiers .csv, .xlsx et .ods sont acceptés.")),
            FileSize(MAX_UPLOAD_BYTES, message=_l("Le fichier dépasse 20 Mo.")),
        ],
        render_kw={"accept": ".csv,.xlsx,.ods"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file.description = (
            limits_text() + " " + str(_l("Rien n'est enregistré avant votre confirmation."))
        )


class ExportForm(FlaskForm):
    """The export buttons (a POST: the export is journalled)."""


class CancelImportForm(FlaskForm):
    """Abandon a pending import: its file is deleted."""


class ConfirmImportForm(FlaskForm):
    """The preview's confirm button: the plan that was shown."""

    fingerprint = HiddenField(validators=[DataRequired(), Length(max=64)])


class PresetDeleteForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])


class PresetChoiceForm(Form):
    """The mapping page's "apply a preset" chooser (a GET form: it only reads)."""

    preset = SelectField(
        _l("Appliquer un modèle de correspondance enregistré"),
        coerce=coerce_optional_int,
        validators=[Optional()],
    )


class MappingForm(FlaskForm):
    """One select per column of the file (``col_0``, ``col_1``…), built by :func:`mapping_form`."""

    version = HiddenField()
    preset_name = StringField(
        _l("Enregistrer cette correspondance sous le nom"),
        description=_l(
            "Facultatif : un modèle de correspondance de l'organisation, proposé pour les prochains fichiers "
            "(un modèle du même nom est remplacé)."
        ),
        validators=[Optional(), Length(max=100)],
        filters=[strip],
    )

    column_names: list[str]

    def mapping(self) -> list[str]:
        return [self[name].data or "" for name in self.column_names]


def _samples(table_rows: list[tuple[int, list[str]]], index: int) -> list[str]:
    found = []
    for _line, cells in table_rows:
        value = cells[index].strip() if index < len(cells) else ""
        if value:
            found.append(value if len(value) <= SAMPLE_CHARS else value[:SAMPLE_CHARS] + "…")
            if len(found) == SAMPLES:
                break
    return found


def mapping_form(
    headers: list[str], rows: list[tuple[int, list[str]]], proposal: list[str], **kwargs: Any
) -> MappingForm:
    """The mapping form of a file: a select per column, preset to ``proposal``, with a few values of
    the column as its description."""
    options = [
        SelectChoice(key, label, optgroup=group) for group, items in choices().items() for key, label in items
    ]

    class _Form(MappingForm):
        pass

    names = []
    for index, header in enumerate(headers):
        samples = _samples(rows, index)
        # The file's own values (the page says "Exemples :" before them, or "Colonne vide").
        description = " ; ".join(samples)
        label = header or str(_l("Colonne %(n)d (sans titre)", n=index + 1))
        field = SelectField(
            label,
            choices=options,
            default=proposal[index] if index < len(proposal) else "",
            description=description,
        )
        setattr(_Form, f"col_{index}", field)
        names.append(f"col_{index}")
    form = _Form(**kwargs)
    form.column_names = names
    return form
