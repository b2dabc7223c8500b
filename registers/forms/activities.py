"""The fiche de traitement form, laid out like the CNIL register model.

Structured parts are rows: one row per reference data category (with its three retention phases)
and per CNIL security measure — fixed rows are easier to fill than "add a line" widgets and need
no JavaScript — and free rows for recipients and transfers (the existing ones plus blank rows).
:func:`form_data` turns the posted form into the service's dict; :func:`initial_data` does the
reverse for a stored fiche.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.forms import (
    BoundedDateField,
    MultiCheckboxField,
    VersionedForm,
    coerce_id,
    coerce_optional_int,
    enum_choices,
    strip,
    to_choices,
)
from registers import reference as ref
from registers.models import ActivityStatus
from registers.services import activities as acts

EXTRA_RECIPIENT_ROWS = 3
ROW_INDEX = "__index__"  # the index of a row added by the page's script (replaced by the next number)
ROW_LISTS = ("recipients", "transfers")  # the lists that take more rows without saving
SENSITIVE_REGIMES = {"art9": "art. 9", "art10": "art. 10", "nir": "NIR"}
EXTRA_TRANSFER_ROWS = 1


class CategoryRow(Form):
    category = HiddenField()
    selected = BooleanField(_l("Traitée"))
    details = StringField(
        _l("Précisions"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )
    active = StringField(
        _l("Base active"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )
    intermediate = StringField(
        _l("Archivage intermédiaire"),
        validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)],
        filters=[strip],
    )
    final = StringField(
        _l("Sort final"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )


class MeasureRow(Form):
    measure = HiddenField()
    selected = BooleanField(_l("Mise en œuvre"))
    details = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )


class RecipientRow(Form):
    type = SelectField(_l("Type"), validators=[Optional()])
    name = StringField(
        _l("Destinataire"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )
    organisation_id = SelectField(
        _l("Organisation Égide"), coerce=coerce_optional_int, validators=[Optional()]
    )
    processor_id = SelectField(_l("Sous-traitant"), coerce=coerce_optional_int, validators=[Optional()])


class TransferRow(Form):
    recipient = StringField(
        _l("Destinataire"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )
    country = StringField(
        _l("Pays"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )
    safeguard = SelectField(_l("Garantie"), validators=[Optional()])
    documentation = StringField(
        _l("Documentation"), validators=[Optional(), Length(max=acts.MAX_ITEM_TEXT)], filters=[strip]
    )


class ActivityForm(VersionedForm):
    reference = StringField(
        acts.FIELD_LABELS["reference"],
        validators=[Optional(), Length(max=30)],
        filters=[strip],
        description=_l("Laissez vide pour une numérotation automatique (TRT-001…)."),
    )
    name = StringField(
        acts.FIELD_LABELS["name"], validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    status = SelectField(acts.FIELD_LABELS["status"])
    next_review_on = BoundedDateField(acts.FIELD_LABELS["next_review_on"], validators=[Optional()])
    joint_controllers = TextAreaField(
        acts.FIELD_LABELS["joint_controllers"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        filters=[strip],
    )
    representative = TextAreaField(
        acts.FIELD_LABELS["representative"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        filters=[strip],
        description=_l("Seulement pour un responsable établi hors de l'Union européenne (art. 27)."),
    )
    purpose = TextAreaField(
        acts.FIELD_LABELS["purpose"], validators=[Optional(), Length(max=acts.MAX_TEXT)], filters=[strip]
    )
    sub_purposes = TextAreaField(
        acts.FIELD_LABELS["sub_purposes"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        description=_l("Une sous-finalité par ligne."),
    )
    legal_basis = SelectField(acts.FIELD_LABELS["legal_basis"], validators=[Optional()])
    legal_basis_text = TextAreaField(
        acts.FIELD_LABELS["legal_basis_text"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        filters=[strip],
        description=_l("Obligatoire pour l'obligation légale et la mission d'intérêt public (art. 6.3)."),
    )
    data_subjects = MultiCheckboxField(acts.FIELD_LABELS["data_subjects"])
    data_subjects_other = StringField(
        acts.FIELD_LABELS["data_subjects_other"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        filters=[strip],
    )
    categories = FieldList(FormField(CategoryRow), label=acts.FIELD_LABELS["data_categories"])
    sensitive_data = MultiCheckboxField(acts.FIELD_LABELS["sensitive_data"])
    art9_exception = SelectField(acts.FIELD_LABELS["art9_exception"], validators=[Optional()])
    sensitive_details = TextAreaField(
        acts.FIELD_LABELS["sensitive_details"],
        validators=[Optional(), Length(max=acts.MAX_TEXT)],
        filters=[strip],
    )
    recipients = FieldList(FormField(RecipientRow), label=acts.FIELD_LABELS["recipients"])
    transfers = FieldList(FormField(TransferRow), label=acts.FIELD_LABELS["transfers"])
    measures = FieldList(FormField(MeasureRow), label=acts.FIELD_LABELS["security_measures"])
    application_ids = MultiCheckboxField(acts.FIELD_LABELS["application_ids"], coerce=coerce_id)

    def setup(
        self,
        *,
        statuses: list[ActivityStatus],
        applications: list[tuple[int, str]],
        organisations: list[tuple[int, str]],
        processors: list[tuple[int, str]] = (),  # type: ignore[assignment]
    ) -> ActivityForm:
        """Choices that depend on the organisation and the user (set by the view)."""
        self.status.choices = to_choices((s.value, s.label) for s in statuses)
        self.legal_basis.choices = to_choices(ref.legal_basis_choices(), blank=_l("— à préciser —"))
        self.art9_exception.choices = to_choices(
            ((e.id, f"{e.id} — {e.label}") for e in ref.art9_exceptions()), blank=_l("— aucune —")
        )
        self.data_subjects.choices = to_choices(ref.choices(ref.data_subjects()))
        self.sensitive_data.choices = to_choices(
            (s.id, f"{s.label} ({SENSITIVE_REGIMES.get(str(s.extra.get('regime')), s.article)})")
            for s in ref.sensitive_data()
        )
        self.application_ids.choices = to_choices(applications)
        types = to_choices(ref.choices(ref.recipient_types()), blank="—")
        orgs = to_choices(((str(i), n) for i, n in organisations), blank=_l("— aucune —"))
        # A blank row of each list, with a placeholder index: the page's <template> that a script
        # copies to add rows without saving (the "add a row" button submits without it).
        self.recipient_prototype = RecipientRow(prefix=f"{self.recipients.name}-{ROW_INDEX}-")
        self.transfer_prototype = TransferRow(prefix=f"{self.transfers.name}-{ROW_INDEX}-")
        procs = to_choices(((str(i), n) for i, n in processors), blank=_l("— aucun —"))
        self.has_processors = bool(processors)
        for row in [*(r.form for r in self.recipients), self.recipient_prototype]:
            row.type.choices = types
            row.organisation_id.choices = orgs
            row.processor_id.choices = procs
        safeguards = to_choices(
            ((s.id, f"{s.label} ({s.article})") for s in ref.transfer_safeguards()), blank="—"
        )
        for row in [*(r.form for r in self.transfers), self.transfer_prototype]:
            row.safeguard.choices = safeguards
        labels = ref.by_id(ref.data_categories())
        for row in self.categories:
            item = labels.get(row.form.category.data or "")
            row.form.selected.label.text = item.label if item else row.form.category.data
            row.form.selected.description = item.hint if item else ""
        measures = ref.by_id(ref.security_measures())
        for row in self.measures:
            item = measures.get(row.form.measure.data or "")
            row.form.selected.label.text = item.label if item else row.form.measure.data
            row.form.details.description = item.hint if item else ""
        return self

    def validate(self, extra_validators: Any = None) -> bool:
        fields_ok = super().validate(extra_validators)
        return row_errors(self) and fields_ok

    def add_row(self, name: str) -> Any:
        """One more blank row in ``name`` (recipients or transfers), set up like the others; the
        row's first input, for the page to put the focus there."""
        rows = self[name]
        entry = rows.append_entry()
        prototype = self.recipient_prototype if name == "recipients" else self.transfer_prototype
        for field in entry.form:
            if hasattr(field, "choices"):
                field.choices = prototype[field.short_name].choices
        return next(iter(entry.form))

    def error_summary(self) -> list[tuple[str, str]]:
        """Every error of the posted form as (id of the field, text), in the order of the page: the
        summary above the form links each one to its field."""
        found: list[tuple[str, str]] = []
        for field in self:
            if isinstance(field, FieldList):
                for number, entry in enumerate(field, start=1):
                    # A fixed row (a data category, a security measure) is named by its item.
                    item = entry.form.selected.label.text if "selected" in entry.form else None
                    for sub in entry.form:
                        where = (
                            f"{item} — {sub.label.text}"
                            if item
                            else _(
                                "%(list)s, ligne %(n)s — %(field)s",
                                list=field.label.text,
                                n=number,
                                field=sub.label.text,
                            )
                        )
                        found += [(sub.id, f"{where} : {error}") for error in sub.errors]
            elif field.errors and field.type not in ("CSRFTokenField", "HiddenField"):
                found += [
                    (field.id, f"{field.label.text} : {error}")
                    for error in field.errors
                    if isinstance(error, str)
                ]
        return found

    # Conflict page: show structured fields as text, the same way for both versions.
    def display_categories(self, rows: Any) -> str:
        return _rows_text(rows, "category", ("details", "active", "intermediate", "final"))

    def display_measures(self, rows: Any) -> str:
        return _rows_text(rows, "measure", ("details",))

    def display_recipients(self, rows: Any) -> str:
        return _rows_text(rows, "type", ("name",))

    def display_transfers(self, rows: Any) -> str:
        return _rows_text(rows, "recipient", ("country", "safeguard", "documentation"))

    def stored_categories(self, obj: Any) -> list[dict[str, Any]]:
        return obj.data_categories

    def stored_measures(self, obj: Any) -> list[dict[str, Any]]:
        return obj.security_measures

    def stored_recipients(self, obj: Any) -> list[dict[str, Any]]:
        return obj.recipients

    def stored_transfers(self, obj: Any) -> list[dict[str, Any]]:
        return obj.transfers

    def stored_sub_purposes(self, obj: Any) -> str:
        return "\n".join(obj.sub_purposes)

    def stored_application_ids(self, obj: Any) -> list[int]:
        return [a.id for a in obj.applications]


def _rows_text(rows: Any, key: str, others: tuple[str, ...]) -> str:
    lines = []
    for row in rows or ():
        if not isinstance(row, dict) or not row.get(key) or row.get("selected") is False:
            continue
        extra = " · ".join(str(row[k]) for k in others if row.get(k))
        lines.append(f"{row[key]}{' : ' + extra if extra else ''}")
    return "\n".join(lines) or "—"


def initial_data(content: dict[str, Any] | None, application_ids: list[int] | None = None) -> dict[str, Any]:
    """Form data for a stored fiche (or a blank one), with every fixed row present."""
    content = dict(content or {})
    stored_categories = {row["category"]: row for row in content.get("data_categories") or ()}
    stored_measures = {row["measure"]: row for row in content.get("security_measures") or ()}
    data = {k: v for k, v in content.items() if k not in ("data_categories", "security_measures")}
    data["sub_purposes"] = "\n".join(content.get("sub_purposes") or ())
    data["status"] = getattr(
        content.get("status"), "value", content.get("status") or ActivityStatus.DRAFT.value
    )
    data["categories"] = [
        {
            "category": c.id,
            "selected": c.id in stored_categories,
            **_pick(stored_categories.get(c.id), acts.CATEGORY_KEYS[1:]),
        }
        for c in ref.data_categories()
    ]
    data["measures"] = [
        {
            "measure": m.id,
            "selected": m.id in stored_measures,
            **_pick(stored_measures.get(m.id), ("details",)),
        }
        for m in ref.security_measures()
    ]
    recipients = [dict(r) for r in content.get("recipients") or ()]
    data["recipients"] = recipients + [{}] * EXTRA_RECIPIENT_ROWS
    data["transfers"] = [dict(t) for t in content.get("transfers") or ()] + [{}] * EXTRA_TRANSFER_ROWS
    data["application_ids"] = application_ids or []
    return data


def _pick(row: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: (row or {}).get(k) or "" for k in keys}


def form_data(form: ActivityForm) -> dict[str, Any]:
    """The service's dict from a posted form (fixed rows become list entries when ticked)."""
    data: dict[str, Any] = {
        name: form[name].data
        for name in (
            "reference",
            "name",
            "status",
            "next_review_on",
            "joint_controllers",
            "representative",
            "purpose",
            "legal_basis",
            "legal_basis_text",
            "data_subjects",
            "data_subjects_other",
            "sensitive_data",
            "art9_exception",
            "sensitive_details",
            "application_ids",
            "version",
        )
    }
    data["sub_purposes"] = [line for line in (form.sub_purposes.data or "").splitlines() if line.strip()]
    data["data_categories"] = [
        {k: row[k] for k in acts.CATEGORY_KEYS}
        for row in form.categories.data
        if row["selected"] or any(row[k] for k in acts.CATEGORY_KEYS[1:])
    ]
    data["security_measures"] = [
        {"measure": row["measure"], "details": row["details"]}
        for row in form.measures.data
        if row["selected"] or row["details"]
    ]
    data["recipients"] = [row for row in form.recipients.data if row.get("type") or row.get("name")]
    data["transfers"] = [row for row in form.transfers.data if any(row.get(k) for k in acts.TRANSFER_KEYS)]
    return data


def row_errors(form: ActivityForm) -> bool:
    """Row rules a form can explain beside the row (the service checks them again)."""
    ok = True
    for row in form.recipients:
        if (row.form.name.data or row.form.organisation_id.data) and not row.form.type.data:
            row.form.type.errors = [*row.form.type.errors, _l("Choisissez le type de destinataire.")]
            ok = False
    for row in form.transfers:
        values = [row.form[k].data for k in acts.TRANSFER_KEYS]
        if any(values) and not row.form.recipient.data:
            row.form.recipient.errors = [
                *row.form.recipient.errors,
                _l("Indiquez le destinataire du transfert."),
            ]
            ok = False
        if row.form.recipient.data and not row.form.country.data:
            row.form.country.errors = [*row.form.country.errors, _l("Indiquez le pays de destination.")]
            ok = False
    return ok


class StatusForm(VersionedForm):
    status = SelectField(acts.FIELD_LABELS["status"], choices=enum_choices(ActivityStatus))


TAKE, KEEP, LATER = "model", "mine", "later"
DECISIONS = (
    (TAKE, _l("Reprendre la nouvelle valeur du modèle")),
    (KEEP, _l("Garder ma valeur")),
    (LATER, _l("Décider plus tard")),
)
DECISION_PREFIX = "decision_"


class ModelUpdateForm(VersionedForm):
    """One decision per field the model changed: take its new value, keep mine, or decide later.
    Build it with :meth:`for_changes` (the fields are those of the pending changes)."""

    @classmethod
    def for_changes(cls, changes: list[Any], **kwargs: Any) -> ModelUpdateForm:
        fields = {
            f"{DECISION_PREFIX}{change.field}": RadioField(
                change.label,
                choices=to_choices(DECISIONS),
                default=TAKE if change.applies_by_default else KEEP,
                validators=[InputRequired(_l("Choisissez : reprendre, garder ou décider plus tard."))],
            )
            for change in changes
        }
        return type("ModelUpdateDecisions", (cls,), fields)(**kwargs)

    def decision_fields(self) -> list[Any]:
        return [field for name, field in self._fields.items() if name.startswith(DECISION_PREFIX)]

    def chosen(self, decision: str) -> list[str]:
        """The fields given ``decision``."""
        return [
            field.name.removeprefix(DECISION_PREFIX)
            for field in self.decision_fields()
            if field.data == decision
        ]


class VersionOnlyForm(VersionedForm):
    """Buttons that act on a fiche (restore a version, revert a field) carry its version."""
