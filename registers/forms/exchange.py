"""Forms of the register import: the upload, then the confirmation of the preview."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from registers.services.exchange import MAX_UPLOAD_BYTES


class ImportForm(FlaskForm):
    file = FileField(
        _l("Fichier du registre"),
        description=_l(
            "Classeur Excel (.xlsx) ou fichier CSV (.csv) dans la disposition de l'export du registre, "
            "5 Mo au plus. Rien n'est enregistré avant votre confirmation."
        ),
        validators=[
            FileRequired(_l("Choisissez un fichier.")),
            FileAllowed(["xlsx", "csv"], _l("Seuls les fichiers .xlsx et .csv sont acceptés.")),
            FileSize(MAX_UPLOAD_BYTES, message=_l("Le fichier dépasse 5 Mo.")),
        ],
        render_kw={"accept": ".xlsx,.csv"},
    )


class ConfirmImportForm(FlaskForm):
    """The preview's confirm button: the token of the kept file and the plan that was shown."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    fingerprint = HiddenField(validators=[DataRequired(), Length(max=64)])
