"""The register's generate form (on the shared documents page): whether drafts are printed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from core.forms import to_choices

EXCLUDE_DRAFTS = "exclude"
INCLUDE_DRAFTS = "include"


class RegisterDocumentForm(FlaskForm):
    """What the person generating the register chooses. By default drafts stay out: the register
    handed to an inspector holds the fiches validated or in review, not work in progress."""

    drafts = SelectField(
        _l("Brouillons"),
        choices=to_choices(
            [
                (EXCLUDE_DRAFTS, _l("Fiches validées et en relecture seulement (sans les brouillons)")),
                (INCLUDE_DRAFTS, _l("Inclure les brouillons, marqués BROUILLON")),
            ]
        ),
        default=EXCLUDE_DRAFTS,
        description=_l(
            "Par défaut, le registre ne reprend pas les brouillons : c'est le document à remettre à un "
            "contrôleur de la CNIL."
        ),
    )

    @property
    def include_drafts(self) -> bool:
        return self.drafts.data == INCLUDE_DRAFTS
