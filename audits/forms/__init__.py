"""The audits' forms (rules in audits.services)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from audits.models import (
    Audit,
    AuditStatus,
    AuditType,
    Finding,
    FindingLevel,
    FindingStatus,
    Framework,
    RecheckResult,
    RequirementKind,
)
from core.forms import (
    BoundedDateField,
    MultiCheckboxField,
    VersionedForm,
    coerce_optional_int,
    enum_choices,
    strip,
    to_choices,
)

MAX_TEXT = 10_000


def _text(label: Any, **kwargs: Any) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=MAX_TEXT)], filters=[strip], **kwargs)


class AuditForm(VersionedForm):
    title = StringField(_l("Intitulé"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    type = SelectField(_l("Type d'audit"), validators=[DataRequired()])
    status = SelectField(_l("Statut"), validators=[DataRequired()])
    start_on = BoundedDateField(_l("Début"), validators=[DataRequired()])
    end_on = BoundedDateField(_l("Fin"), validators=[DataRequired()])
    organisation_ids = MultiCheckboxField(_l("Organisations auditées"), coerce=int, validate_choice=False)
    frameworks = MultiCheckboxField(_l("Référentiels audités"), validate_choice=False)
    lead_auditor_name = StringField(
        _l("Auditeur responsable"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    lead_auditor_firm = StringField(
        _l("Cabinet ou organisme"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    auditees = _text(_l("Audités"), description=_l("Les personnes et services interrogés."))
    follow_up_of_id = SelectField(
        _l("Suivi de l'audit"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.start_on.data and self.end_on.data and self.end_on.data < self.start_on.data:
            self.end_on.errors = [
                *self.end_on.errors,
                _l("La fin de l'audit ne peut pas précéder son début."),
            ]
            ok = False
        return ok

    def setup(self, *, scope: list[tuple[int, str]], earlier: list[tuple[int, str]]) -> AuditForm:
        self.type.choices = enum_choices(AuditType)
        self.status.choices = enum_choices(AuditStatus)
        self.frameworks.choices = [(f.value, f.label) for f in Framework]
        self.organisation_ids.choices = scope
        self.follow_up_of_id.choices = to_choices(earlier, blank=_l("— aucun —"))
        return self


def audit_initial(audit: Audit | None, **prefill: Any) -> dict[str, Any]:
    if audit is None:
        return {"type": AuditType.INTERNAL.value, "status": AuditStatus.PLANNED.value, **prefill}
    return {
        "title": audit.title,
        "type": audit.type.value,
        "status": audit.status.value,
        "start_on": audit.start_on,
        "end_on": audit.end_on,
        "organisation_ids": audit.organisation_ids,
        "frameworks": list(audit.frameworks or ()),
        "lead_auditor_name": audit.lead_auditor_name,
        "lead_auditor_firm": audit.lead_auditor_firm,
        "auditees": audit.auditees,
        "follow_up_of_id": audit.follow_up_of_id,
        "version": audit.version,
    }


class FindingForm(VersionedForm):
    title = StringField(
        _l("Intitulé du constat"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    level = SelectField(_l("Niveau"), validators=[DataRequired()])
    description = _text(_l("Description"))
    requirement_kind = SelectField(_l("Exigence : référentiel"), validators=[DataRequired()])
    requirement_ref = StringField(
        _l("Exigence : référence"),
        validators=[Optional(), Length(max=60)],
        filters=[strip],
        description=_l(
            "A.5.15 pour une mesure de l'annexe A, 7 pour la mesure 7 du guide d'hygiène, "
            "la référence de la fiche du registre."
        ),
    )
    concerned_organisation_id = SelectField(
        _l("Organisation concernée"),
        coerce=coerce_optional_int,
        validate_choice=False,
        validators=[Optional()],
    )
    root_cause = _text(_l("Analyse des causes"))
    status = SelectField(_l("Statut"), validators=[DataRequired()])

    def setup(self, *, scope: list[tuple[int, str]]) -> FindingForm:
        self.level.choices = [(lv.value, f"{lv.value} — {lv.label}") for lv in FindingLevel]
        self.requirement_kind.choices = enum_choices(RequirementKind)
        self.status.choices = enum_choices(FindingStatus)
        self.concerned_organisation_id.choices = to_choices(scope, blank=_l("— toutes —"))
        return self


def finding_initial(finding: Finding | None) -> dict[str, Any]:
    if finding is None:
        return {
            "level": FindingLevel.OBS.value,
            "requirement_kind": RequirementKind.NONE.value,
            "status": FindingStatus.OPEN.value,
        }
    return {
        "title": finding.title,
        "level": finding.level.value,
        "description": finding.description,
        "requirement_kind": finding.requirement_kind.value,
        "requirement_ref": finding.requirement_ref,
        "concerned_organisation_id": finding.concerned_organisation_id,
        "root_cause": finding.root_cause,
        "status": finding.status.value,
        "version": finding.version,
    }


class LinkActionsForm(FlaskForm):
    action_ids = MultiCheckboxField(_l("Actions existantes"), coerce=int, validate_choice=False)


class NewActionForm(FlaskForm):
    title = StringField(
        _l("Intitulé de l'action"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    type = SelectField(_l("Type"), validators=[DataRequired()])
    owner_id = SelectField(
        _l("Responsable"), coerce=coerce_optional_int, validate_choice=False, validators=[Optional()]
    )
    due_on = BoundedDateField(_l("Échéance"), validators=[DataRequired()])

    def setup(self, *, people: list[tuple[int, str]]) -> NewActionForm:
        self.type.choices = [
            ("corrective", _l("Action corrective")),
            ("correction", _l("Correction")),
            ("preventive", _l("Action préventive")),
            ("improvement", _l("Amélioration")),
        ]
        self.owner_id.choices = to_choices(people, blank=_l("— choisir —"))
        return self


class RecheckForm(FlaskForm):
    finding_id = SelectField(
        _l("Constat de l'audit suivi"),
        coerce=coerce_optional_int,
        validate_choice=False,
        validators=[Optional()],
    )
    result = SelectField(_l("Résultat"), validators=[DataRequired()])
    checked_on = BoundedDateField(_l("Vérifié le"), validators=[DataRequired()])
    comment = _text(_l("Commentaire"))

    def setup(self, *, findings: list[tuple[int, str]]) -> RecheckForm:
        self.finding_id.choices = to_choices(findings, blank=_l("— choisir —"))
        self.result.choices = enum_choices(RecheckResult)
        return self
