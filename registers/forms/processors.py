"""The processor form (Art. 28): who, for what, the contract and its Art. 28.3 clauses (one answer
each, fixed rows), where the data goes, certifications, review. :func:`initial_data` fills it from a
stored processor (or the syndicate's derived entry); the posted ``form.data`` goes to the service."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from core.db import today
from core.forms import (
    BoundedDateField,
    MultiCheckboxField,
    VersionedForm,
    coerce_id,
    coerce_optional_int,
    strip,
    to_choices,
)
from registers import reference as ref
from registers.models import ClauseAnswer, Processor
from registers.services import processors as procs

EXTRA_TRANSFER_ROWS = 2
LABELS = procs.FIELD_LABELS


class ClauseRow(Form):
    clause = HiddenField()
    answer = SelectField(_l("Réponse"), validators=[Optional()])


class ProcessorTransferRow(Form):
    country = StringField(_l("Pays"), validators=[Optional(), Length(max=1000)], filters=[strip])
    safeguard = SelectField(_l("Garantie"), validators=[Optional()])
    documentation = StringField(
        _l("Documentation"), validators=[Optional(), Length(max=1000)], filters=[strip]
    )


class ProcessorForm(VersionedForm):
    name = StringField(LABELS["name"], validators=[DataRequired(), Length(max=200)], filters=[strip])
    service = TextAreaField(
        LABELS["service"],
        validators=[Optional(), Length(max=procs.MAX_TEXT)],
        filters=[strip],
        description=_l("Ce que le sous-traitant fait des données : hébergement, maintenance, édition…"),
    )
    siren = StringField(
        LABELS["siren"],
        validators=[Optional(), Regexp(r"^[\d\s]{9,20}$", message=_l("Un SIREN a 9 chiffres, un SIRET 14."))],
        filters=[strip],
    )
    contact = StringField(LABELS["contact"], validators=[Optional(), Length(max=300)], filters=[strip])
    linked_organisation_id = SelectField(
        LABELS["linked_organisation_id"], coerce=coerce_optional_int, validators=[Optional()]
    )
    application_ids = MultiCheckboxField(LABELS["application_ids"], coerce=coerce_id)
    contract_reference = StringField(
        LABELS["contract_reference"], validators=[Optional(), Length(max=100)], filters=[strip]
    )
    contract_signed_on = BoundedDateField(LABELS["contract_signed_on"], validators=[Optional()])
    contract_ends_on = BoundedDateField(LABELS["contract_ends_on"], validators=[Optional()])
    clauses = FieldList(FormField(ClauseRow), label=LABELS["clauses"])
    data_location = StringField(
        LABELS["data_location"],
        validators=[Optional(), Length(max=300)],
        filters=[strip],
        description=_l("Pays et ville des centres de données, par exemple « France (Ivry-sur-Seine) »."),
    )
    transfers = FieldList(FormField(ProcessorTransferRow), label=LABELS["transfers"])
    certifications = MultiCheckboxField(LABELS["certifications"])
    certifications_other = StringField(
        LABELS["certifications_other"], validators=[Optional(), Length(max=300)], filters=[strip]
    )
    next_review_on = BoundedDateField(LABELS["next_review_on"], validators=[Optional()])
    notes = TextAreaField(
        LABELS["notes"], validators=[Optional(), Length(max=procs.MAX_TEXT)], filters=[strip]
    )

    # The service checks these too; the form says them beside the other errors of the same post.
    def validate_contract_signed_on(self, field: Any) -> None:
        if field.data and field.data > today():
            raise ValidationError(_l("La date de signature ne peut pas être dans le futur."))

    def validate_contract_ends_on(self, field: Any) -> None:
        signed = self.contract_signed_on.data
        if field.data and signed and field.data < signed:
            raise ValidationError(_l("Le contrat ne peut finir avant d'être signé."))

    def setup(
        self, *, organisations: list[tuple[int, str]], applications: list[tuple[int, str]]
    ) -> ProcessorForm:
        self.linked_organisation_id.choices = to_choices(
            ((str(i), n) for i, n in organisations), blank=_l("— aucune —")
        )
        self.application_ids.choices = to_choices(applications)
        self.certifications.choices = to_choices((c.id, c.label) for c in ref.processor_certifications())
        answers = to_choices(((a.value, a.label) for a in ClauseAnswer), blank=_l("— non renseigné —"))
        clauses = ref.by_id(ref.processor_clauses())
        for row in self.clauses:
            row.form.answer.choices = answers
            item = clauses.get(row.form.clause.data or "")
            row.form.answer.label.text = f"{item.label} ({item.article})" if item else row.form.clause.data
        safeguards = to_choices(
            ((s.id, f"{s.label} ({s.article})") for s in ref.transfer_safeguards()), blank="—"
        )
        for row in self.transfers:
            row.form.safeguard.choices = safeguards
        return self

    # Conflict page: the structured fields as text, the same way for both versions.
    def display_clauses(self, rows: Any) -> str:
        answers = rows if isinstance(rows, dict) else {r.get("clause"): r.get("answer") for r in rows or ()}
        labels = ref.by_id(ref.processor_clauses())
        return "; ".join(
            f"{labels[k].label} : {ClauseAnswer(v).label}" for k, v in answers.items() if k in labels and v
        )

    def display_transfers(self, rows: Any) -> str:
        return "; ".join(
            " — ".join(str(row.get(k)) for k in procs.TRANSFER_KEYS if row.get(k))
            for row in rows or ()
            if any(row.get(k) for k in procs.TRANSFER_KEYS)
        )

    def stored_application_ids(self, obj: Processor) -> list[int]:
        return [a.id for a in obj.applications]


def initial_data(source: Processor | dict[str, Any] | None) -> dict[str, Any]:
    """The form's data for a stored processor, a prefill dict, or nothing (a new one)."""
    if isinstance(source, Processor):
        data: dict[str, Any] = {name: getattr(source, name) for name in procs.FIELDS}
        data["application_ids"] = [a.id for a in source.applications]
        data["version"] = source.version
    else:
        data = dict(source or {})
    answers = data.get("clauses") or {}
    data["clauses"] = [{"clause": c.id, "answer": answers.get(c.id, "")} for c in ref.processor_clauses()]
    data["transfers"] = [dict(t) for t in data.get("transfers") or ()] + [{}] * EXTRA_TRANSFER_ROWS
    data.setdefault("certifications", [])
    return data


class ProcessorDeleteForm(FlaskForm):
    """Deleting a processor: the version the page showed (a changed record is not deleted blind)."""

    version = HiddenField(validators=[DataRequired()])


class SignoffForm(FlaskForm):
    """The syndicate's DPO signing off the processor register as it stands."""

    confirm = BooleanField(
        _l("Je valide ce registre tel qu'il figure sur cette page."), validators=[DataRequired()]
    )
    note = TextAreaField(
        _l("Observation (facultative)"), validators=[Optional(), Length(max=2000)], filters=[strip]
    )
