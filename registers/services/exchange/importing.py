"""Planning an import (every row checked against the register, nothing written) and applying a
checked plan through the fiche services (see :mod:`registers.services.exchange`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Organisation, User
from catalogue.models import Application
from core import audit
from core.concurrency import EditConflict
from core.exports import unneutralise
from core.extensions import db
from core.forms import FieldError
from core.tenancy import UNSCOPED
from core.text import fold
from registers.models import ActivityStatus, ProcessingActivity
from registers.services import activities as acts
from registers.services.exchange.cells import CellError, encode_date
from registers.services.exchange.columns import Context, column_of_field, decode_group, groups, headers
from registers.services.exchange.export import row_cells
from registers.services.exchange.reading import read_table

# --- planning an import ------------------------------------------------------------------------


def catalogue_context(org: Organisation) -> Context:
    """The applications the organisation may link: its syndicate's catalogue (its own if a syndicate)."""
    owner = org.id if org.is_syndicate else org.syndicate_id
    apps = db.session.execute(
        select(Application.id, Application.name)
        .where(Application.syndicate_id == owner)
        .order_by(Application.sort_name, Application.id)
        .execution_options(**UNSCOPED)  # unscoped: the member reads its syndicate's catalogue
    ).all()
    by_name: dict[str, int | None] = {}
    for app_id, name in apps:
        key = fold(name)
        by_name[key] = None if key in by_name else app_id
    return Context(application_ids=by_name)


@dataclass(frozen=True)
class RowError:
    line: int | None  # None: about the file
    column: str | None
    message: str


@dataclass
class PlannedRow:
    line: int
    reference: str
    name: str
    action: str  # "create", "update", "unchanged"
    data: dict[str, Any] = field(default_factory=dict)
    activity: ProcessingActivity | None = None
    changed: list[str] = field(default_factory=list)  # headers of the columns that change

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
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    token: str | None = None

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
        """What the confirmation will write: the file and the version of every fiche it changes."""
        parts = [
            self.sha256,
            *(f"{r.line}:{r.action}:{r.activity.id}:{r.activity.version}" for r in self.rows if r.activity),
            *(f"{r.line}:{r.action}" for r in self.rows if r.activity is None),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _header_errors(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Columns are found by name (any order; case and accents ignored). A column the file lacks
    leaves its field as it is on the fiches it updates."""
    known = {fold(h): h for h in headers()}
    positions: dict[str, int] = {}
    errors = []
    for index, name in enumerate(header):
        if not name:
            continue
        canonical = known.get(fold(name))
        if canonical is None:
            errors.append(RowError(1, name, _("Colonne inconnue : « %(c)s ».", c=name)))
        elif canonical in positions:
            errors.append(RowError(1, name, _("Colonne en double : « %(c)s ».", c=name)))
        else:
            positions[canonical] = index
    for required in ("Référence", "Nom du traitement"):
        if required not in positions:
            errors.append(RowError(1, required, _("Colonne obligatoire absente : « %(c)s ».", c=required)))
    category_headers = groups()["data_categories"]
    missing = [h for h in category_headers if h not in positions]
    if missing and len(missing) < len(category_headers):
        errors.append(
            RowError(
                1,
                missing[0],
                _(
                    "Colonne absente : « %(c)s » (les colonnes des catégories de données vont ensemble).",
                    c=missing[0],
                ),
            )
        )
    return positions, errors


def _current(activity: ProcessingActivity, name: str) -> Any:
    if name == "application_ids":
        return sorted(a.id for a in activity.applications)
    return getattr(activity, name)


def _same(a: Any, b: Any) -> bool:
    return audit.jsonable(a) == audit.jsonable(b)


def _changed_groups(cells: Mapping[str, str], activity: ProcessingActivity | None) -> list[str]:
    """The fields to read from a row: all of them for a new fiche; for an existing fiche, those
    whose cells differ from what its export writes (a cell left as exported changes nothing)."""
    present = {group: [h for h in names if h in cells] for group, names in groups().items()}
    present = {group: names for group, names in present.items() if names}
    if activity is None:
        return list(present)
    expected = dict(zip(headers(), row_cells(activity), strict=True))
    return [group for group, names in present.items() if any(cells[h] != expected[h] for h in names)]


def _plan_row(
    line: int, cells: dict[str, str], activity: ProcessingActivity | None, ctx: Context, *, may_validate: bool
) -> tuple[PlannedRow, list[RowError]]:
    """One row: what it changes, and every error with its column."""
    ctx.activity = activity
    plain = {header: unneutralise(value) for header, value in cells.items()}
    parsed: dict[str, Any] = {}
    errors: list[RowError] = []
    for group in _changed_groups(cells, activity):
        try:
            parsed.update(decode_group(group, plain, ctx))
        except CellError as error:
            errors.append(RowError(line, column_of_field(group), error.message))
    data = acts.normalise(parsed)
    name = plain.get("Nom du traitement", "").strip()
    row = PlannedRow(line, plain.get("Référence", "").strip().upper(), name, "create", activity=activity)
    if activity is None:
        data.setdefault("name", "")
        checked = acts.validate(data)
        old_status = None
    else:
        data.pop("reference", None)  # the key of the row, never changed by it
        data = {k: v for k, v in data.items() if not _same(v, _current(activity, k))}
        row.action = "update" if data or errors else "unchanged"
        row.name = row.name or activity.name
        unreadable = [e.column for e in errors if e.column]
        row.changed = list(dict.fromkeys([*(column_of_field(k) for k in data), *unreadable]))
        # The whole fiche after the change, for the rules that tie fields together.
        after = acts.normalise({**acts.content_of(activity), **data})
        checked = [
            e
            for e in acts.validate(after)
            if e.field in data or (e.field == "dpia_done_on" and "dpia_status" in data)
        ]
        old_status = activity.status
    errors += [RowError(line, column_of_field(e.field), e.message) for e in checked]
    status = data.get("status")
    if (
        status in (ActivityStatus.VALIDATED, ActivityStatus.ARCHIVED)
        and status != old_status
        and not may_validate
    ):
        errors.append(
            RowError(
                line,
                "Statut",
                _("Seul le DPO peut valider ou archiver une fiche (statut « %(s)s »).", s=status.label),
            )
        )
    row.data = data
    return row, errors


def _stale_warning(line: int, cells: Mapping[str, str], activity: ProcessingActivity) -> RowError | None:
    stamped = cells.get("Dernière mise à jour", "")
    if not stamped or stamped == encode_date(activity.updated_at):
        return None
    return RowError(
        line,
        "Dernière mise à jour",
        _(
            "La fiche %(r)s a été modifiée le %(d)s, après cet export : ses colonnes modifiées dans le "
            "fichier remplaceront les valeurs actuelles.",
            r=activity.reference,
            d=encode_date(activity.updated_at),
        ),
    )


def plan_import(org: Organisation, content: bytes, filename: str, *, may_validate: bool) -> ImportPlan:
    """Read and check every row of a file against the register. Writes nothing."""
    table = read_table(content, filename)
    plan = ImportPlan(table.fmt, Path(filename or "").name[:200], hashlib.sha256(content).hexdigest())
    positions, plan.errors = _header_errors(table.header)
    if plan.errors:
        return plan
    ctx = catalogue_context(org)
    existing = {
        a.reference.upper(): a
        for a in db.session.scalars(
            select(ProcessingActivity).where(ProcessingActivity.organisation_id == org.id)
        )
    }
    seen: dict[str, int] = {}
    for line, raw in table.rows:
        cells = {h: (raw[i] if i < len(raw) else "") for h, i in positions.items()}
        reference = unneutralise(cells["Référence"]).strip().upper()
        if reference in seen:
            plan.errors.append(
                RowError(
                    line,
                    "Référence",
                    _("La référence « %(r)s » figure déjà ligne %(n)d.", r=reference, n=seen[reference]),
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
                    "Référence",
                    _(
                        "« %(r)s » est la référence d'un modèle : un modèle ne s'importe pas dans le "
                        "registre.",
                        r=reference,
                    ),
                )
            )
            continue
        row, errors = _plan_row(line, cells, activity, ctx, may_validate=may_validate)
        plan.rows.append(row)
        plan.errors += errors
        if (
            activity is not None
            and row.action == "update"
            and (warning := _stale_warning(line, cells, activity))
        ):
            plan.warnings.append(warning)
    order = {header: index for index, header in enumerate(headers())}
    plan.errors.sort(key=lambda e: (e.line or 0, order.get(e.column or "", -1)))
    return plan


class ImportFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def apply_import(org: Organisation, actor: User | None, plan: ImportPlan) -> ImportResult:
    """Write a checked plan through the fiche services (flush only: the view commits once, or rolls
    everything back on :class:`ImportFailed`)."""
    if plan.errors:
        raise ImportFailed(_("Le fichier contient des erreurs : rien n'a été importé."))
    # Rows with a reference first, so that a row without one cannot take a reference the file uses.
    ordered = sorted(plan.rows, key=lambda r: (r.action != "update", not r.reference, r.line))
    for row in ordered:
        try:
            if row.action == "update" and row.activity is not None:
                acts.update_activity(row.activity, actor, {**row.data, "version": row.activity.version})
            elif row.action == "create":
                acts.create_activity(org, actor, row.data)
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
