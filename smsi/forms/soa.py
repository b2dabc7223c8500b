"""The Statement of Applicability's forms: one control (applicability, reasons or justification,
status, owner, how it is implemented), the approval of a version, the XLSX export button. Rules are
the service's (:mod:`smsi.services.soa`); the form re-displays what was typed."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import MultiCheckboxField, VersionedForm, coerce_optional_int, enum_choices, strip, to_choices
from smsi.models import ImplementationStatus, InclusionReason, SoaEntry
from smsi.services import soa

LABELS = soa.FIELD_LABELS


class SoaEntryForm(VersionedForm):
    applicable = RadioField(
        LABELS["applicable"],
        choices=to_choices(
            [("yes", _l("Oui, la mesure s'applique")), ("no", _l("Non, la mesure est exclue"))]
        ),
        default="yes",
        validators=[DataRequired()],
    )
    reasons = MultiCheckboxField(
        LABELS["reasons"],
        description=_l("Pour une mesure applicable : une ou plusieurs raisons."),
    )
    exclusion_justification = TextAreaField(
        LABELS["exclusion_justification"],
        validators=[Optional(), Length(max=soa.MAX_TEXT)],
        filters=[strip],
        description=_l(
            "Obligatoire pour une mesure exclue : pourquoi elle ne s'applique pas à l'organisation."
        ),
    )
    status = SelectField(LABELS["status"], validators=[DataRequired()])
    owner_id = SelectField(LABELS["owner_id"], coerce=coerce_optional_int, validators=[Optional()])
    implementation = TextAreaField(
        LABELS["implementation"],
        validators=[Optional(), Length(max=soa.MAX_TEXT)],
        filters=[strip],
        description=_l("Comment la mesure est mise en œuvre : procédures, outils, périmètre."),
    )
    evidence = TextAreaField(
        LABELS["evidence"],
        validators=[Optional(), Length(max=soa.MAX_TEXT)],
        filters=[strip],
        description=_l("Documents, enregistrements ou tickets qui le montrent (références)."),
    )

    def setup(self, owners: list[tuple[int, str]]) -> SoaEntryForm:
        self.reasons.choices = enum_choices(InclusionReason)
        self.status.choices = enum_choices(ImplementationStatus)
        self.owner_id.choices = to_choices(((str(i), n) for i, n in owners), blank=_l("— personne —"))
        return self

    # Conflict page: the stored entry's values as the form shows them.
    def stored_applicable(self, obj: SoaEntry) -> str:
        return "yes" if obj.applicable else "no"


def initial_data(entry: SoaEntry | None) -> dict[str, Any]:
    if entry is None:
        return {
            "applicable": "yes",
            "reasons": [],
            "status": ImplementationStatus.NOT_STARTED.value,
            "version": "",
        }
    return {
        "applicable": "yes" if entry.applicable else "no",
        "reasons": list(entry.reasons or []),
        "exclusion_justification": entry.exclusion_justification,
        "status": entry.status.value,
        "owner_id": entry.owner_id,
        "implementation": entry.implementation,
        "evidence": entry.evidence,
        "version": entry.version,
    }


class ApproveForm(FlaskForm):
    """The RSSI approving the statement as it stands."""

    confirm = BooleanField(
        _l("J'approuve la déclaration d'applicabilité telle qu'elle figure sur cette page."),
        validators=[DataRequired()],
    )
    comment = TextAreaField(
        _l("Commentaire d'approbation"),
        validators=[Optional(), Length(max=soa.MAX_COMMENT)],
        filters=[strip],
        description=_l("Par exemple : revue de direction du 12 décembre, périmètre de certification."),
    )


class ExportForm(FlaskForm):
    """The XLSX and PDF buttons (a POST: the export is journalled)."""
