"""Audit campaigns: the rules, the writes, the list.

* Reference AUD-YYYY-NNN per organisation (the year of the start date), as the SMSI numbers its
  incidents (core.references).
* The scope: the running organisation itself and, for a syndicate, chosen members; at least one
  framework; the end date not before the start date.
* A follow-up audit names an earlier audit of the same organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, extract, func, or_, select

from accounts.models import Organisation, User
from audits import access
from audits.models import Audit, AuditStatus, AuditType, Finding, FindingLevel, FindingStatus, Framework
from core import audit, references
from core.concurrency import check_version, flush_or_conflict, with_fresh_reference
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.pagination import Page, paginate
from core.tenancy import UNSCOPED, execute_rows, reused_per_organisation, scoped

FIELDS: tuple[str, ...] = (
    "title",
    "type",
    "frameworks",
    "start_on",
    "end_on",
    "lead_auditor_name",
    "lead_auditor_firm",
    "auditees",
    "status",
    "follow_up_of_id",
)
AUDITED_FIELDS = (*FIELDS, "reference", "organisation_ids")
MAX_TEXT = 10_000


def scope_choices(org: Organisation) -> list[tuple[int, str]]:
    """The organisations an audit of ``org`` may cover: itself and, for a syndicate, its members."""
    if not org.is_syndicate:
        return [(org.id, org.name)]
    stmt = (
        select(Organisation.id, Organisation.name)
        .where(
            or_(Organisation.id == org.id, Organisation.syndicate_id == org.id),
            Organisation.left_on.is_(None),
        )
        .order_by(Organisation.id != org.id, Organisation.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate's members, named explicitly
    )
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def earlier_audit_choices(org_id: int, *, exclude: int | None = None) -> list[tuple[int, str]]:
    stmt = scoped(select(Audit.id, Audit.reference, Audit.title), Audit).order_by(Audit.start_on.desc())
    if exclude is not None:
        stmt = stmt.where(Audit.id != exclude)
    return [(r.id, f"{r.reference} — {r.title}") for r in db.session.execute(stmt.limit(300))]


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["title"] = text_value(out["title"], 200)
    out["lead_auditor_name"] = text_value(out["lead_auditor_name"], 200)
    out["lead_auditor_firm"] = text_value(out["lead_auditor_firm"], 200)
    out["auditees"] = text_value(out["auditees"], MAX_TEXT)
    out["type"] = enum_value(AuditType, out["type"], "type", errors)
    out["status"] = enum_value(AuditStatus, out["status"], "status", errors, default=AuditStatus.PLANNED)
    known = {f.value for f in Framework}
    out["frameworks"] = sorted({str(v) for v in (out["frameworks"] or ()) if str(v) in known})
    try:
        out["follow_up_of_id"] = (
            int(out["follow_up_of_id"]) if out["follow_up_of_id"] not in (None, "") else None
        )
    except (TypeError, ValueError):
        out["follow_up_of_id"] = None
    out["organisation_ids"] = id_list(data.get("organisation_ids"))
    return out


def validate(org: Organisation, audit_obj: Audit | None, data: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data["title"]:
        errors.append(FieldError("title", _("Donnez un intitulé à l'audit.")))
    for name, limit in (
        ("title", 200),
        ("lead_auditor_name", 200),
        ("lead_auditor_firm", 200),
        ("auditees", MAX_TEXT),
    ):
        if data.get(name) and len(data[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    if data["start_on"] is None:
        errors.append(FieldError("start_on", _("Indiquez la date de début de l'audit.")))
    if data["end_on"] is None:
        errors.append(FieldError("end_on", _("Indiquez la date de fin de l'audit.")))
    if data["start_on"] and data["end_on"] and data["end_on"] < data["start_on"]:
        errors.append(FieldError("end_on", _("La fin de l'audit ne peut pas précéder son début.")))
    if not data["frameworks"]:
        errors.append(FieldError("frameworks", _("Choisissez au moins un référentiel audité.")))
    allowed = dict(scope_choices(org))
    if not data["organisation_ids"]:
        errors.append(FieldError("organisation_ids", _("Choisissez au moins une organisation auditée.")))
    elif any(i not in allowed for i in data["organisation_ids"]):
        errors.append(FieldError("organisation_ids", _("Organisation inconnue dans ce périmètre.")))
    previous = data["follow_up_of_id"]
    if previous is not None:
        if audit_obj is not None and previous == audit_obj.id:
            errors.append(FieldError("follow_up_of_id", _("Un audit ne peut pas être le suivi de lui-même.")))
        elif previous not in dict(earlier_audit_choices(org.id)):
            errors.append(FieldError("follow_up_of_id", _("Audit inconnu dans cette organisation.")))
    return errors


def _save(org: Organisation, actor: User | None, obj: Audit, data: Mapping[str, Any], name: str) -> Audit:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(org, None if obj.id is None else obj, clean)
    raise_field_errors(errors)
    with audit.audited(org.id, actor, name, obj, AUDITED_FIELDS):
        for field in FIELDS:
            setattr(obj, field, clean[field])
        if obj.id is None:
            obj.reference = references.next_reference(Audit, org.id, f"AUD-{clean['start_on']:%Y}-")
            db.session.add(obj)
        obj.organisations = list(
            db.session.scalars(
                select(Organisation)
                .where(Organisation.id.in_(clean["organisation_ids"]))
                .execution_options(**UNSCOPED)  # unscoped: checked against scope_choices above
            )
        )
        flush_or_conflict(obj)
    return obj


def create_audit(org: Organisation, actor: User | None, data: Mapping[str, Any]) -> Audit:
    return with_fresh_reference(
        lambda: _save(org, actor, Audit(organisation_id=org.id), data, "audit.create")
    )


def update_audit(obj: Audit, actor: User | None, data: Mapping[str, Any]) -> Audit:
    """``data`` carries the ``version`` the form was loaded with (EditConflict when stale)."""
    check_version(obj, data.get("version"))
    org = db.session.get(Organisation, obj.organisation_id)
    return _save(org, actor, obj, data, "audit.update")


# --- the list ------------------------------------------------------------------------------------


@dataclass(frozen=True)  # hashable: the key of the list's statement (core.tenancy.reused_per_organisation)
class AuditFilters:
    status: str = ""
    type: str = ""
    year: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> AuditFilters:
        status = args.get("status", "")
        kind = args.get("type", "")
        try:
            year = int(args.get("year", "") or 0) or None
        except ValueError:
            year = None
        if year is not None and not 1900 <= year <= 2200:
            year = None
        return cls(
            status=status if status in {s.value for s in AuditStatus} else "",
            type=kind if kind in {t.value for t in AuditType} else "",
            year=year,
        )


def audits_query(filters: AuditFilters) -> Select[Any]:
    """The active organisation's audits, latest first (an invited auditor: their own only)."""
    return _audits_statement(filters, access.visible_audits_key())


@reused_per_organisation
def _audits_statement(filters: AuditFilters, visible: frozenset[int] | None) -> Select[Any]:
    stmt = scoped(select(Audit), Audit).order_by(Audit.start_on.desc(), Audit.id.desc())
    if visible is not None:
        stmt = stmt.where(Audit.id.in_(sorted(visible)))
    if filters.status:
        stmt = stmt.where(Audit.status == filters.status)
    if filters.type:
        stmt = stmt.where(Audit.type == filters.type)
    if filters.year:
        stmt = stmt.where(extract("year", Audit.start_on) == filters.year)
    return stmt


@reused_per_organisation
def _audit_rows_statement(filters: AuditFilters, visible: frozenset[int] | None) -> Select[Any]:
    return _audits_statement(filters, visible).with_only_columns(*LIST_COLUMNS)


# What the audit list shows of an audit: its rows carry these columns alone.
LIST_COLUMNS = (
    Audit.id,
    Audit.reference,
    Audit.title,
    Audit.type,
    Audit.start_on,
    Audit.end_on,
    Audit.status,
)


def audits_page(filters: AuditFilters) -> Page:
    """The list page: rows of LIST_COLUMNS."""
    return paginate(_audit_rows_statement(filters, access.visible_audits_key()), scalars=False)


def audit_years() -> list[int]:
    """The years the organisation's audits started in (the list's filter), latest first: the
    distinct years from the database, not every audit's date."""
    year = extract("year", Audit.start_on)
    rows = execute_rows(scoped(select(year).distinct(), Audit))
    return sorted({int(value) for (value,) in rows}, reverse=True)


def level_counts(audit_id: int, organisation_id: int | None = None) -> dict[FindingLevel, int]:
    """How many findings of each level the audit has (every level, most severe first).
    ``organisation_id``: named explicitly, for a document built without a request."""
    stmt = select(Finding.level, func.count())
    if organisation_id is None:
        stmt = scoped(stmt, Finding)
    else:
        # unscoped: filtered on the audit's organisation, named by the caller (no request in a job)
        stmt = stmt.where(Finding.organisation_id == organisation_id).execution_options(**UNSCOPED)
    rows = db.session.execute(stmt.where(Finding.audit_id == audit_id).group_by(Finding.level))
    counts = {FindingLevel(level): int(n) for level, n in rows}
    return {level: counts.get(level, 0) for level in sorted(FindingLevel, key=lambda lv: -lv.rank)}


def open_findings_by_level() -> dict[FindingLevel, int]:
    rows = db.session.execute(
        scoped(select(Finding.level, func.count()), Finding)
        .where(Finding.status != FindingStatus.CLOSED)
        .group_by(Finding.level)
    )
    counts = {FindingLevel(level): int(n) for level, n in rows}
    return {
        level: counts[level] for level in sorted(FindingLevel, key=lambda lv: -lv.rank) if counts.get(level)
    }


def audit_titles(ids: Any) -> dict[int, str]:
    wanted = {int(i) for i in ids}
    if not wanted:
        return {}
    rows = db.session.execute(
        scoped(select(Audit.id, Audit.reference, Audit.title), Audit).where(Audit.id.in_(wanted))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}
