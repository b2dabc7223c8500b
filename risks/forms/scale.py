"""The scale form: the level names, one per line, and the acceptance threshold; the matrix's cells
are read by the view (their number follows the levels)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired

from core.forms import VersionedForm, strip
from risks import reference as ref
from risks.services.scale import Scale


class ScaleForm(VersionedForm):
    likelihood_labels = TextAreaField(
        _l("Niveaux de vraisemblance"),
        filters=[strip],
        description=_l("Un par ligne, du moins au plus vraisemblable (2 à 6)."),
        render_kw={"rows": 6},
    )
    impact_labels = TextAreaField(
        _l("Niveaux de gravité"),
        filters=[strip],
        description=_l("Un par ligne, du moins au plus grave (2 à 6)."),
        render_kw={"rows": 6},
    )
    acceptance_level = SelectField(
        _l("Seuil d'acceptation"),
        validators=[DataRequired()],
        description=_l(
            "Le niveau le plus élevé qu'un risque peut garder sans être accepté par une personne nommée."
        ),
    )

    def setup(self) -> ScaleForm:
        self.acceptance_level.choices = [(lv.id, lv.label) for lv in ref.levels()]
        return self


def lines(text: Any) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def initial_data(scale: Scale) -> dict[str, Any]:
    return {
        "likelihood_labels": "\n".join(scale.likelihood_labels),
        "impact_labels": "\n".join(scale.impact_labels),
        "acceptance_level": scale.acceptance_level,
        "version": scale.stored.version if scale.stored else "",
    }
