"""Planning an import (every cell of a mapped file checked against the register, nothing written)
and applying a checked plan (see :mod:`registers.services.exchange`).

**One pass.** :func:`plan_import` reads every row of the file through the mapping the DPO
confirmed and reports everything at once: mapping problems (a field fed twice, no name column) and
each bad cell, with its line, its column, its value and what is wrong. Values are read forgivingly
where their meaning is certain (legal-basis wordings, oui/non/x/1/0, JJ/MM/AAAA, ISO and Excel dates,
"néant" for an empty list) and strictly where it is not (an impossible date, a negative or unitless
retention, an unknown label: an error, never a guess). Nothing is cut: a text over its limit is an
error at its cell (:func:`registers.services.activities.validate`).

**Applications** are matched by name against the importing organisation's subscriptions (a
syndicate: its own catalogue); a name matching nothing is a warning, the fiche is imported without
that link, and a fiche being updated keeps the applications it already has.

**Updates.** A row whose reference is that of a fiche of the register updates it, any other row
creates a fiche (an empty reference gets the next ``TRT-NNN``). For a file in Égide's own layout,
a cell left as exported changes nothing (compared with what the export writes), so re-importing an
export changes nothing; otherwise only the fields whose value differs are written.

**Writes.** Updates go through :func:`registers.services.activities.update_activity` (version check,
journal, history). Creations — the bulk of an import — are written together by :func:`apply_import`
with the same content rules, derived columns, status rule, first version and journal entries as
:func:`~registers.services.activities.create_activity`, but one INSERT per table rather than per
fiche (:func:`core.audit.record_many` chains the journal entries in order). All in the caller's
single transaction: the view rolls everything back on :class:`ImportFailed`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from accounts.models import Organisation, User
from catalogue.models import Application, Subscription
from core import audit, references
from core.bulk import paused_gc
from core.concurrency import EditConflict
from core.db import today, utcnow
from core.exports import unneutralise
from core.extensions import db
from core.forms import FieldError
from core.tenancy import UNSCOPED
from core.text import fold
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    DpiaStatus,
    ProcessingActivity,
    activity_applications,
    activity_processors,
    validated_versions,
)
from registers.services import activities as acts
from registers.services import processors
from registers.services.exchange.cells import (
    TIMEZONE,
    CellError,
    Labels,
    check_duration,
    decode_date,
    decode_legal_basis,
    decode_list,
    decode_transfers,
    decode_yes_no,
    encode_date,
    says_nothing,
    vocabulary,
)
from registers.services.exchange.columns import Context, _decode_measures, _decode_recipients
from registers.services.exchange.export import row_cells
from registers.services.exchange.reading import Table
from registers.services.exchange.targets import IGNORED, Target, by_key, egide_targets, normalise_header

EGIDE_HEADERS = {normalise_header(h): h for h in egide_targets()}
VALUE_SHOWN = 160  # characters of a cell shown beside its error (the length is given past that)


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: about the file; 1: the header row
    column: str | None
    message: str
    value: str = ""

    @property
    def value_shown(self) -> str:
        if len(self.value) <= VALUE_SHOWN:
            return self.value
        return _("%(start)s… (%(n)d caractères)", start=self.value[:VALUE_SHOWN], n=len(self.value))


@dataclass
class PlannedRow:
    line: int
    reference: str
    name: str
    action: str  # "create", "update", "unchanged"
    data: dict[str, Any] = field(default_factory=dict)
    activity: ProcessingActivity | None = None
    changed: list[str] = field(default_factory=list)  # the file's columns that change the fiche

    @property
    def action_label(self) -> str:
        return {"create": _("Création"), "update": _("Modification"), "unchanged": _("Inchangée")}[
            self.action
        ]


@dataclass
class ImportPlan:
    fmt: str
    filename: str
    sha256: str
    mapping: list[str] = field(default_factory=list)
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.updated)

    @property
    def can_confirm(self) -> bool:
        return not self.errors and self.has_changes

    @property
    def fingerprint(self) -> str:
        """What the confirmation will write: the file, the mapping and the version of every fiche
        it changes."""
        parts = [
            self.sha256,
            "|".join(self.mapping),
            *(f"{r.line}:{r.action}:{r.activity.id}:{r.activity.version}" for r in self.rows if r.activity),
            *(f"{r.line}:{r.action}" for r in self.rows if r.activity is None),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class MappedColumn:
    index: int
    header: str
    target: Target
    egide: bool  # the header and target of Égide's own export: compared with what it writes


# --- the catalogue -------------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Application names an organisation may link: folded name → id (None: two share the name)."""

    linkable: dict[str, int | None]
    catalogue: set[str]  # every folded name of the syndicate's catalogue


def catalogue_of(org: Organisation) -> Catalogue:
    """The importing organisation's subscriptions (a syndicate: its own catalogue)."""
    owner = org.id if org.is_syndicate else org.syndicate_id
    every = db.session.execute(
        select(Application.id, Application.name)
        .where(Application.syndicate_id == owner)
        .execution_options(**UNSCOPED)  # unscoped: the member reads its syndicate's catalogue
    ).all()
    if org.is_syndicate:
        allowed = {app_id for app_id, _name in every}
    else:
        # unscoped: the importing organisation's own subscriptions, named by id
        allowed = set(
            db.session.scalars(
                select(Subscription.application_id)
                .where(
                    Subscription.organisation_id == org.id,
                    (Subscription.ended_on.is_(None)) | (Subscription.ended_on >= today()),
                )
                .execution_options(**UNSCOPED)
            )
        )
    linkable: dict[str, int | None] = {}
    for app_id, name in every:
        if app_id in allowed:
            key = fold(name)
            linkable[key] = None if key in linkable else app_id
    return Catalogue(linkable, {fold(name) for _id, name in every})


# --- the mapping ---------------------------------------------------------------------------------


def mapped_columns(headers: list[str], mapping: list[str]) -> tuple[list[MappedColumn], list[RowError]]:
    """The columns that feed a field, and the mapping's own problems (header row, line 1)."""
    targets = by_key()
    columns: list[MappedColumn] = []
    errors: list[RowError] = []
    seen: dict[str, str] = {}
    for index, header in enumerate(headers):
        key = mapping[index] if index < len(mapping) else IGNORED
        if not key:
            continue
        target = targets.get(key)
        if target is None:
            errors.append(RowError(1, header, _("Champ inconnu : « %(k)s ».", k=key), header))
            continue
        if not target.multiple and key in seen:
            errors.append(
                RowError(
                    1,
                    header,
                    _(
                        "Les colonnes « %(a)s » et « %(b)s » vont toutes deux vers « %(f)s » : ce champ ne "
                        "reçoit qu'une colonne.",
                        a=seen[key],
                        b=header,
                        f=target.label,
                    ),
                    header,
                )
            )
            continue
        seen[key] = header
        egide = EGIDE_HEADERS.get(normalise_header(header)) == header and egide_targets().get(header) == key
        columns.append(MappedColumn(index, header, target, egide))
    if not any(c.target.key == "name" for c in columns):
        errors.append(
            RowError(
                1,
                None,
                _("Aucune colonne n'est associée au nom du traitement : choisissez la colonne qui le porte."),
            )
        )
    return columns, errors


def ignored_warnings(table: Table, mapping: list[str]) -> list[RowError]:
    """A column with values that goes to no field: said, never dropped silently."""
    warnings = []
    for index, header in enumerate(table.header):
        if index < len(mapping) and mapping[index]:
            continue
        filled = sum(1 for _line, cells in table.rows if index < len(cells) and cells[index].strip())
        if filled and header != "AIPD requise":
            warnings.append(
                RowError(
                    1,
                    header or _("colonne %(n)d", n=index + 1),
                    _("Colonne ignorée : ses %(n)d valeurs ne seront pas importées.", n=filled),
                )
            )
    return warnings


# --- reading a row -------------------------------------------------------------------------------


def _labels_of(target: Target) -> Labels:
    v = vocabulary()
    return {
        "data_subjects": v.subjects,
        "sensitive_data": v.sensitive,
        "dpia_criteria": v.criteria,
        "data_categories": v.categories,
        "art9_exception": v.art9,
        "dpia_cnil_required": v.cnil_required,
        "dpia_cnil_exempt": v.cnil_exempt,
    }[target.field]


UNKNOWN_LABEL = {
    "data_subjects": lambda v: _("Catégorie de personnes concernées inconnue : « %(v)s ».", v=v),
    "sensitive_data": lambda v: _("Donnée sensible inconnue : « %(v)s ».", v=v),
    "dpia_criteria": lambda v: _("Critère AIPD inconnu : « %(v)s ».", v=v),
    "data_categories": lambda v: _("Catégorie de données inconnue : « %(v)s ».", v=v),
    "art9_exception": lambda v: _("Exception de l'article 9.2 inconnue : « %(v)s ».", v=v),
    "dpia_cnil_required": lambda v: _("Type de traitement absent de la liste CNIL : « %(v)s ».", v=v),
    "dpia_cnil_exempt": lambda v: _("Type de traitement absent de la liste CNIL : « %(v)s ».", v=v),
}


def _find_labels(labels: Labels, cell: str, unknown: Any) -> list[str]:
    """Labels one per line; a line that is no label may list several, separated by ";" or " - "."""
    if says_nothing(cell):
        return []
    found: list[str] = []
    for line in decode_list(cell):
        one = labels.find(line)
        parts = [one] if one else None
        if parts is None:
            for separator in (";", " - ", ","):
                pieces = [p.strip() for p in line.split(separator) if p.strip()]
                if len(pieces) > 1 and all(labels.find(p) for p in pieces):
                    parts = [labels.find(p) for p in pieces]
                    break
        if parts is None:
            raise CellError(unknown(line.strip()))
        found += [p for p in parts if p and p not in found]
    return found


def _names(cell: str) -> list[str]:
    if says_nothing(cell):
        return []
    return [part.strip() for line in decode_list(cell) for part in line.split(";") if part.strip()]


class _Row:
    """What the mapped cells of one row say, field by field."""

    def __init__(self) -> None:
        self.texts: dict[str, list[tuple[str, str]]] = {}
        self.lists: dict[str, list[str]] = {}
        self.scalars: dict[str, Any] = {}
        self.recipients: list[dict[str, Any]] = []
        self.transfers: list[dict[str, Any]] = []
        self.measures: dict[str, dict[str, Any]] = {}
        self.listed_categories: list[str] | None = None
        self.category_parts: dict[str, dict[str, str]] = {}
        self.category_texts: list[str] = []
        self.retention: dict[str, tuple[str, str]] = {}  # part → (header, value)
        self.applications: list[tuple[str, str]] = []  # (header, name)

    def add(self, name: str, values: Iterable[str]) -> None:
        items = self.lists.setdefault(name, [])
        items += [v for v in values if v not in items]


def _read_cell(
    row: _Row, column: MappedColumn, cell: str, ctx: Context, line: int, warnings: list[RowError]
) -> None:
    target = column.target
    kind = target.kind
    if kind in ("text", "text_multi"):
        row.texts.setdefault(target.field, []).append((column.header, cell))
    elif kind == "reference":
        row.scalars["reference"] = cell.strip().upper()
    elif kind == "status":
        found = vocabulary().status.find(cell) if cell.strip() else None
        if cell.strip() and found is None:
            raise CellError(_("Statut inconnu : « %(v)s ».", v=cell.strip()))
        row.scalars["status"] = ActivityStatus(found) if found else ActivityStatus.DRAFT
    elif kind == "dpia_status":
        found = vocabulary().dpia_status.find(cell) if cell.strip() else None
        if cell.strip() and found is None:
            raise CellError(_("État de l'AIPD inconnu : « %(v)s ».", v=cell.strip()))
        row.scalars["dpia_status"] = DpiaStatus(found) if found else DpiaStatus.NOT_STARTED
    elif kind == "legal_basis":
        basis = decode_legal_basis(cell)
        if basis is None and cell.strip():
            warnings.append(
                RowError(
                    line, column.header, _("Base légale non déterminée dans le fichier : laissée vide."), cell
                )
            )
        row.scalars["legal_basis"] = basis
    elif kind == "choice":
        labels = _labels_of(target)
        found = labels.find(cell) if cell.strip() else None
        if cell.strip() and found is None:
            raise CellError(UNKNOWN_LABEL[target.field](cell.strip()))
        row.scalars[target.field] = found
    elif kind == "date":
        row.scalars[target.field] = decode_date(cell)
    elif kind == "list_text":
        row.add(target.field, [] if says_nothing(cell) else decode_list(cell))
    elif kind == "labels":
        found = _find_labels(_labels_of(target), cell, UNKNOWN_LABEL[target.field])
        if target.field == "data_categories":
            row.listed_categories = (row.listed_categories or []) + [
                c for c in found if c not in (row.listed_categories or [])
            ]
        else:
            row.add(target.field, found)
    elif kind == "flag":
        row.add(target.field, [target.item] if decode_yes_no(cell) else [])
    elif kind == "applications":
        row.applications += [(column.header, name) for name in _names(cell)]
    elif kind == "recipients":
        row.recipients += [] if says_nothing(cell) else _decode_recipients(cell, ctx)["recipients"]
    elif kind == "recipient_type":
        row.recipients += [
            {"type": target.item, "name": name, "organisation_id": None} for name in _names(cell)
        ]
    elif kind == "transfers":
        row.transfers += [] if says_nothing(cell) else decode_transfers(cell)
    elif kind == "measures":
        for item in [] if says_nothing(cell) else _decode_measures(cell, ctx)["security_measures"]:
            entry = row.measures.setdefault(item["measure"], {"yes": [], "texts": []})
            entry["yes"].append(True)
            if item["details"]:
                entry["texts"].append(item["details"])
    elif kind == "measure":
        entry = row.measures.setdefault(target.item, {"yes": [], "texts": []})
        text = cell.strip()
        if not text:
            return
        try:
            entry["yes"].append(decode_yes_no(text))
        except CellError:
            entry["texts"].append(text)  # the measure's precisions
    elif kind == "category":
        text = cell.strip()
        if text and target.part in ("active", "intermediate"):
            check_duration(text)
        if text:
            row.category_parts.setdefault(target.item, {})[target.part] = cell
    elif kind == "categories_text":
        if cell.strip() and not says_nothing(cell):
            row.category_texts.append(cell.strip())
    elif kind == "retention":
        text = cell.strip()
        if text and target.part in ("active", "intermediate"):
            check_duration(text)
        if text:
            row.retention[target.part] = (column.header, cell)


def _joined(values: list[tuple[str, str]]) -> str:
    """One column's text, or several columns' texts one after another, each named by its column."""
    filled = [(header, value) for header, value in values if value.strip()]
    if len(values) == 1 or len(filled) <= 1:
        return filled[0][1] if filled else ""
    return "\n".join(f"{header} : {value}" for header, value in filled)


def _categories(
    row: _Row, present: set[str], first: dict[str, MappedColumn], errors: list[RowError], line: int
) -> list[dict[str, Any]]:
    categories = vocabulary().categories
    listed = row.listed_categories
    if listed is not None:
        stray = [c for c in row.category_parts if c not in listed]
        if stray:
            column = first["data_categories"]
            errors.append(
                RowError(
                    line,
                    column.header,
                    _(
                        "La catégorie « %(v)s » est renseignée mais absente de la colonne « %(c)s » : "
                        "ajoutez-la à cette colonne ou videz ses colonnes.",
                        v=categories.label(stray[0]),
                        c=column.header,
                    ),
                )
            )
        held = list(listed)
    else:
        held = list(row.category_parts)
    if row.category_texts and "autres" not in held:
        held.append("autres")
    out = []
    for category_id in held:
        parts = dict(row.category_parts.get(category_id, {}))
        if category_id == "autres" and row.category_texts:
            parts["details"] = "\n".join(
                [*([parts["details"]] if parts.get("details") else []), *row.category_texts]
            )
        for part, (_header, value) in row.retention.items():
            parts.setdefault(part, value)
        out.append(
            {
                "category": category_id,
                **{k: parts.get(k) for k in ("details", "active", "intermediate", "final")},
            }
        )
    if row.retention and not out:
        part, (header, value) = next(iter(row.retention.items()))
        errors.append(
            RowError(
                line,
                header,
                _(
                    "Durée de conservation sans catégorie de données : indiquez les catégories concernées, "
                    "ou associez cette colonne à la durée d'une catégorie."
                ),
                value,
            )
        )
    return out


def _measures(
    row: _Row, first: dict[str, MappedColumn], errors: list[RowError], line: int
) -> list[dict[str, Any]]:
    out = []
    for measure, entry in row.measures.items():
        said_yes = any(v for v in entry["yes"])
        said_no = any(v is False for v in entry["yes"])
        if entry["texts"] and said_no and not said_yes:
            column = first.get(f"measure:{measure}") or first["security_measures"]
            errors.append(
                RowError(
                    line,
                    column.header,
                    _(
                        "Mesure indiquée « non » mais accompagnée de précisions : « %(v)s ».",
                        v=entry["texts"][0],
                    ),
                    entry["texts"][0],
                )
            )
        if said_yes or entry["texts"]:
            out.append({"measure": measure, "details": "\n".join(entry["texts"]) or None})
    return out


def _current(activity: ProcessingActivity, name: str) -> Any:
    if name == "application_ids":
        return sorted(a.id for a in activity.applications)
    if name == "declared_created_on":
        return activity.declared_created_on or _local_date(activity.created_at)
    if name == "declared_updated_on":
        return activity.declared_updated_on or _local_date(activity.updated_at)
    return getattr(activity, name)


def _local_date(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    return moment.astimezone(TIMEZONE).date() if moment.tzinfo else moment.date()


def _same(a: Any, b: Any) -> bool:
    return audit.jsonable(a) == audit.jsonable(b)


Feeds = tuple[dict[str, list[MappedColumn]], dict[str, MappedColumn]]
# Kinds of column whose empty cell says nothing (:func:`_read_cell` does nothing with it).
NOTHING_WHEN_EMPTY = frozenset({"category", "retention", "categories_text"})


def _feeds(columns: list[MappedColumn]) -> Feeds:
    """The columns feeding each field, and the column an error about a field (or a target) is shown
    in: the same for every row of a file (a row updating a fiche narrows them to what it changes)."""
    fed: dict[str, list[MappedColumn]] = {}
    for column in columns:
        fed.setdefault(column.target.field, []).append(column)
    return fed, _first_columns(fed)


def _first_columns(fed: dict[str, list[MappedColumn]]) -> dict[str, MappedColumn]:
    first = {c.target.key: c for cols in fed.values() for c in reversed(cols)}
    first.update({name: cols[0] for name, cols in fed.items()})
    return first


def _plan_row(
    line: int,
    raw: list[str],
    columns: list[MappedColumn],
    feeds: Feeds,
    activity: ProcessingActivity | None,
    ctx: Context,
    catalogue: Catalogue,
    *,
    may_validate: bool,
) -> tuple[PlannedRow, list[RowError], list[RowError]]:
    """One row: what it changes, every error with its column and value, and its warnings."""
    ctx.activity = activity
    errors: list[RowError] = []
    warnings: list[RowError] = []
    indices = [c.index for c in columns]
    if len(raw) > max(indices, default=-1):
        values = [raw[index] for index in indices]
    else:
        values = [raw[index] if index < len(raw) else "" for index in indices]
    cells = dict(zip(indices, map(unneutralise, values), strict=True))
    fed, first = feeds
    if activity is not None:
        # Égide's own layout: a field whose every column reads as its export writes it is unchanged.
        expected = dict(zip(egide_targets(), row_cells(activity), strict=False))
        fed = {
            name: cols
            for name, cols in fed.items()
            if name != "reference"
            and not all(
                c.egide and (raw[c.index] if c.index < len(raw) else "") == expected.get(c.header)
                for c in cols
            )
        }
        first = _first_columns(fed)
    row = _Row()
    failed: set[str] = set()
    for name, cols in fed.items():
        for column in cols:
            if column.target.kind in NOTHING_WHEN_EMPTY and not cells[column.index].strip():
                continue  # e.g. the empty columns of the data categories a fiche does not hold
            try:
                _read_cell(row, column, cells[column.index], ctx, line, warnings)
            except CellError as error:
                errors.append(RowError(line, column.header, error.message, cells[column.index]))
                failed.add(name)
    data: dict[str, Any] = {}
    for name in fed:
        if name in failed:
            continue
        if name in row.texts:
            data[name] = _joined(row.texts[name])
        elif name in (
            "reference",
            "status",
            "dpia_status",
            "legal_basis",
            "art9_exception",
            "dpia_cnil_required",
            "dpia_cnil_exempt",
            *acts.DATE_FIELDS,
        ):
            data[name] = row.scalars.get(name)
        elif name == "data_categories":
            data[name] = _categories(row, set(fed), first, errors, line)
        elif name == "security_measures":
            data[name] = _measures(row, first, errors, line)
        elif name == "recipients":
            data[name] = row.recipients
        elif name == "transfers":
            data[name] = row.transfers
        elif name == "application_ids":
            data[name] = _applications(row, activity, catalogue, warnings, line)
        else:
            data[name] = row.lists.get(name, [])
    data = acts.normalise(data)
    name = (data.get("name") or "").strip() if "name" in data else ""
    reference = data.get("reference") or ""
    planned = PlannedRow(line, reference, name, "create", activity=activity)
    if activity is None:
        if not reference:
            data.pop("reference", None)
        checked = (
            acts.validate({**data, "name": data.get("name", "")}) if "name" in fed else acts.validate(data)
        )
        old_status = None
    else:
        data.pop("reference", None)  # the key of the row, never changed by it
        data = {k: v for k, v in data.items() if not _same(v, _current(activity, k))}
        if "application_ids" in data and any(
            w.line == line and w.column in {c.header for c in fed.get("application_ids", [])}
            for w in warnings
        ):
            # A name matched nothing: the fiche keeps the applications it has, plus those matched.
            data["application_ids"] = sorted(
                {*_current(activity, "application_ids"), *data["application_ids"]}
            )
            if _same(data["application_ids"], _current(activity, "application_ids")):
                data.pop("application_ids")
        planned.action = "update" if data or errors else "unchanged"
        planned.name = planned.name or activity.name
        planned.reference = activity.reference
        planned.changed = list(
            dict.fromkeys(
                [*(c.header for k in data for c in fed.get(k, [])), *(e.column for e in errors if e.column)]
            )
        )
        after = acts.normalise({**acts.content_of(activity), **data})
        checked = [
            e
            for e in acts.validate(after)
            if e.field in data or (e.field == "dpia_done_on" and "dpia_status" in data)
        ]
        old_status = activity.status
    for error in checked:
        column = first.get(error.field) or (fed.get(error.field) or [None])[0]
        if column is None and error.field == "dpia_done_on":
            column = first.get("dpia_status")
        errors.append(
            RowError(
                line,
                column.header if column else str(acts.FIELD_LABELS.get(error.field, error.field)),
                error.message,
                cells.get(column.index, "") if column else "",
            )
        )
    status = data.get("status")
    if (
        status in (ActivityStatus.VALIDATED, ActivityStatus.ARCHIVED)
        and status != old_status
        and not may_validate
    ):
        column = first.get("status")
        errors.append(
            RowError(
                line,
                column.header if column else "Statut",
                _("Seul le DPO peut valider ou archiver une fiche (statut « %(s)s »).", s=status.label),
                cells.get(column.index, "") if column else "",
            )
        )
    planned.data = data
    return planned, errors, warnings


def _applications(
    row: _Row, activity: ProcessingActivity | None, catalogue: Catalogue, warnings: list[RowError], line: int
) -> list[int]:
    ids: list[int] = []
    for header, name in row.applications:
        key = fold(name)
        app_id = catalogue.linkable.get(key)
        if app_id is not None:
            ids.append(app_id)
            continue
        if key in catalogue.linkable:  # None: two applications share the name
            message = _("Plusieurs applications portent ce nom : fiche importée sans ce lien.")
        elif key in catalogue.catalogue:
            message = _("L'organisation n'est pas abonnée à cette application : fiche importée sans ce lien.")
        else:
            message = _("Application absente du catalogue : fiche importée sans ce lien.")
        if activity is not None:
            message += " " + _("Les applications déjà reliées à la fiche sont conservées.")
        warnings.append(RowError(line, header, message, name))
    return sorted(set(ids))


def _stale_warning(
    line: int, raw: list[str], columns: list[MappedColumn], activity: ProcessingActivity
) -> RowError | None:
    column = next((c for c in columns if c.egide and c.header == "Dernière mise à jour"), None)
    if column is None or column.index >= len(raw):
        return None
    stamped = raw[column.index]
    expected = encode_date(activity.declared_updated_on or activity.updated_at)
    if not stamped or stamped == expected:
        return None
    return RowError(
        line,
        column.header,
        _(
            "La fiche %(r)s a été modifiée le %(d)s, après cet export : ses colonnes modifiées dans le "
            "fichier remplaceront les valeurs actuelles.",
            r=activity.reference,
            d=encode_date(activity.updated_at),
        ),
        stamped,
    )


@paused_gc()  # 10,000 planned rows stay alive to the end (core.bulk)
def plan_import(
    org: Organisation,
    table: Table,
    mapping: list[str],
    *,
    filename: str,
    sha256: str,
    may_validate: bool,
) -> ImportPlan:
    """Read and check every row of a mapped file against the register. Writes nothing."""
    plan = ImportPlan(table.fmt, filename, sha256, list(mapping))
    columns, plan.errors = mapped_columns(table.header, mapping)
    plan.warnings = ignored_warnings(table, mapping)
    ctx = Context(application_ids={}, processor_ids=processors.ids_by_name(org.id))
    catalogue = catalogue_of(org)
    existing = {
        a.reference.upper(): a
        for a in db.session.scalars(
            select(ProcessingActivity)
            .where(ProcessingActivity.organisation_id == org.id)
            .execution_options(populate_existing=False)
        )
    }
    reference_column = next((c for c in columns if c.target.key == "reference"), None)
    feeds = _feeds(columns)
    seen: dict[str, int] = {}
    for line, raw in table.rows:
        reference = ""
        if reference_column is not None and reference_column.index < len(raw):
            reference = unneutralise(raw[reference_column.index]).strip().upper()
        if reference in seen:
            plan.errors.append(
                RowError(
                    line,
                    reference_column.header if reference_column else None,
                    _("La référence « %(r)s » figure déjà ligne %(n)d.", r=reference, n=seen[reference]),
                    reference,
                )
            )
            continue
        if reference:
            seen[reference] = line
        activity = existing.get(reference) if reference else None
        if activity is not None and activity.is_model:
            plan.errors.append(
                RowError(
                    line,
                    reference_column.header if reference_column else None,
                    _(
                        "« %(r)s » est la référence d'un modèle : un modèle ne s'importe pas dans le "
                        "registre.",
                        r=reference,
                    ),
                    reference,
                )
            )
            continue
        row, errors, warnings = _plan_row(
            line, raw, columns, feeds, activity, ctx, catalogue, may_validate=may_validate
        )
        plan.rows.append(row)
        plan.errors += errors
        plan.warnings += warnings
        if (
            activity is not None
            and row.action == "update"
            and (warning := _stale_warning(line, raw, columns, activity))
        ):
            plan.warnings.append(warning)
    order = {header: index for index, header in enumerate(table.header)}
    plan.errors.sort(key=lambda e: (e.line or 0, order.get(e.column or "", -1)))
    plan.warnings.sort(key=lambda e: (e.line or 0, order.get(e.column or "", -1)))
    return plan


# --- applying a plan -----------------------------------------------------------------------------


class ImportFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


@paused_gc()  # the fiches, versions and journal entries of the whole file stay alive to the end
def apply_import(org: Organisation, actor: User | None, plan: ImportPlan) -> ImportResult:
    """Write a checked plan (flush only: the view commits once, or rolls everything back on
    :class:`ImportFailed`)."""
    if plan.errors:
        raise ImportFailed(_("Le fichier contient des erreurs : rien n'a été importé."))
    # Updates first, so that a new fiche cannot take a reference the file gives an existing one.
    for row in sorted((r for r in plan.rows if r.action == "update"), key=lambda r: r.line):
        try:
            assert row.activity is not None  # noqa: S101 — an update names its fiche
            acts.update_activity(row.activity, actor, {**row.data, "version": row.activity.version})
        except FieldError as error:
            raise ImportFailed(
                _("Ligne %(n)d : %(m)s Rien n'a été importé.", n=row.line, m=error.message)
            ) from error
        except (EditConflict, IntegrityError) as error:
            raise ImportFailed(
                _(
                    "Ligne %(n)d : la fiche a changé pendant l'import. Rien n'a été importé ; recommencez.",
                    n=row.line,
                )
            ) from error
    creations = [r for r in plan.rows if r.action == "create"]
    try:
        create_many(org, actor, creations)
    except FieldError as error:
        raise ImportFailed(_("%(m)s Rien n'a été importé.", m=error.message)) from error
    except IntegrityError as error:
        raise ImportFailed(
            _(
                "Le registre a changé pendant l'import (référence prise entre-temps). Rien n'a été "
                "importé ; recommencez."
            )
        ) from error
    result = ImportResult(plan.created, plan.updated, plan.unchanged)
    if plan.has_changes:
        audit.record(
            org,
            actor,
            "register.import",
            audit.Ref("Register", org.id),
            {
                "format": (None, plan.fmt),
                "filename": (None, plan.filename),
                "sha256": (None, plan.sha256),
                "created": (None, result.created),
                "updated": (None, result.updated),
                "unchanged": (None, result.unchanged),
            },
        )
    return result


def _fresh_references(org: Organisation, count: int, taken: set[str]) -> list[str]:
    """``count`` free ``TRT-NNN`` references, after the organisation's highest."""
    first = references.next_reference(ProcessingActivity, org.id, "TRT-")
    number = int(first.rsplit("-", 1)[1])
    out = []
    while len(out) < count:
        candidate = f"TRT-{number:03d}"
        number += 1
        if candidate not in taken:
            out.append(candidate)
    return out


def _status_for(requested: Any, may: bool) -> ActivityStatus:
    """:func:`registers.services.activities.resulting_status` for a new fiche."""
    wanted = ActivityStatus(requested) if requested else ActivityStatus.DRAFT
    if may:
        return wanted
    if wanted == ActivityStatus.ARCHIVED:
        return ActivityStatus.DRAFT
    if wanted == ActivityStatus.VALIDATED:
        return ActivityStatus.IN_REVIEW
    return wanted


def create_many(org: Organisation, actor: User | None, rows: list[PlannedRow]) -> list[int]:
    """Create the fiches of ``rows`` at once: what :func:`~registers.services.activities.create_activity`
    does for each (content rules, derived columns, status rule, version 1 in the history, the published
    version when validated, a journal entry), one INSERT per table. Returns the new ids, in order."""
    if not rows:
        return []
    may = actor is None or acts.may_validate(actor, org.id)
    taken = set(
        db.session.scalars(
            select(ProcessingActivity.reference).where(ProcessingActivity.organisation_id == org.id)
        )
    )
    taken |= {r.data["reference"] for r in rows if r.data.get("reference")}
    fresh = iter(_fresh_references(org, sum(1 for r in rows if not r.data.get("reference")), taken))
    now = utcnow()
    values: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    application_ids: list[list[int]] = []
    named: list[set[int]] = []
    own = processors.own_processor_ids(
        org.id,
        {
            r["processor_id"]
            for row in rows
            for r in row.data.get("recipients") or ()
            if isinstance(r.get("processor_id"), int)
        },
    )
    for row in rows:
        data = acts.normalise(row.data)
        for recipient in data.get("recipients") or ():
            if recipient.get("processor_id") not in own:
                recipient["processor_id"] = None  # a recipient names only the organisation's processors
        data["reference"] = data.get("reference") or next(fresh)
        data["status"] = _status_for(data.get("status"), may)
        errors = acts.validate(data)
        if errors:
            raise FieldError(errors[0].field, _("Ligne %(n)d : %(m)s", n=row.line, m=errors[0].message))
        content = {name: data.get(name, [] if name in acts.LIST_FIELDS else None) for name in acts.ALL_FIELDS}
        content["dpia_status"] = content["dpia_status"] or DpiaStatus.NOT_STARTED
        content["name"] = content["name"] or ""
        ids = sorted(set(data.get("application_ids") or ()))
        values.append(
            {
                **content,
                "organisation_id": org.id,
                "sort_name": fold(content["name"]),
                "is_model": False,
                "content_version": 1,
                "has_model_update": False,
                "is_archive_proposed": False,
                "has_sensitive_data": bool(content["sensitive_data"]),
                "is_dpia_required": acts.dpia_required(content),
                "completeness": acts.completeness(content).score,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        snapshots.append(
            {**{name: audit.jsonable(content[name]) for name in acts.ALL_FIELDS}, "application_ids": ids}
        )
        application_ids.append(ids)
        named.append({r["processor_id"] for r in content["recipients"] if r.get("processor_id")})
    fiches = ProcessingActivity.__table__  # a Core insert: no ORM bookkeeping per row
    new_ids = list(
        db.session.scalars(insert(fiches).returning(fiches.c.id, sort_by_parameter_order=True), values)
    )
    links = [
        {"activity_id": activity_id, "application_id": app_id}
        for activity_id, ids in zip(new_ids, application_ids, strict=True)
        for app_id in ids
    ]
    if links:
        _check_applications(org, {link["application_id"] for link in links})
        db.session.execute(insert(activity_applications), links)
    processor_links = [
        {"activity_id": activity_id, "processor_id": processor_id}
        for activity_id, ids in zip(new_ids, named, strict=True)
        for processor_id in sorted(ids)
    ]
    if processor_links:  # what the fiche's single writer keeps for a fiche written one at a time
        db.session.execute(insert(activity_processors), processor_links)
    actor_id = getattr(actor, "id", None)
    versions = ActivityVersion.__table__
    version_ids = list(
        db.session.scalars(
            insert(versions).returning(versions.c.id, sort_by_parameter_order=True),
            [
                {
                    "organisation_id": org.id,
                    "activity_id": activity_id,
                    "number": 1,
                    "created_at": now,
                    "actor_id": actor_id,
                    "action": "activity.create",
                    "data": snapshot,
                }
                for activity_id, snapshot in zip(new_ids, snapshots, strict=True)
            ],
        )
    )
    published = [
        {"activity_id": activity_id, "version_id": version_id}
        for activity_id, version_id, value in zip(new_ids, version_ids, values, strict=True)
        if value["status"] == ActivityStatus.VALIDATED
    ]
    if published:
        db.session.execute(insert(validated_versions), published)
    audit.record_many(
        org,
        actor,
        [
            (
                "activity.create",
                audit.Ref("ProcessingActivity", activity_id),
                {k: (None, v) for k, v in snapshot.items() if v is not None},
            )
            for activity_id, snapshot in zip(new_ids, snapshots, strict=True)
        ],
        json_ready=True,  # the snapshots went through audit.jsonable above
    )
    return new_ids


def _check_applications(org: Organisation, ids: set[int]) -> None:
    owner = org.id if org.is_syndicate else org.syndicate_id
    # unscoped: ids checked against the syndicate's catalogue
    found = db.session.scalar(
        select(func.count(Application.id))
        .where(Application.id.in_(ids), Application.syndicate_id == owner)
        .execution_options(**UNSCOPED)
    )
    if found != len(ids):
        raise FieldError("application_ids", _("Application inconnue du catalogue du syndicat."))
