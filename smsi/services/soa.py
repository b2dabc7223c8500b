"""The Statement of Applicability (ISO/IEC 27001:2022 §6.1.3 d): for each of the 93 Annex A controls,
whether it applies and why (or why it is excluded), how far it is implemented, by whom and how.

Stored: one :class:`SoaEntry` per (organisation, control), written when somebody first saves that
control; until then the control is "not assessed" (:class:`Row` with no entry). Reading never writes.

Rules (:func:`validate`): an excluded control needs its justification and is "not applicable"
(set here, whatever the form said); a control that applies needs at least one reason and cannot be
"not applicable". The owner is a person holding an SMSI role in the organisation.

Versions: the RSSI approves the statement as it stands (:func:`approve`): a :class:`SoaVersion`
keeps the 93 controls as they were (a snapshot, owner's name included), never changed afterwards;
:func:`diff` compares two snapshots (or a snapshot and the current state) field by field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from accounts.models import Organisation, User
from accounts.services.users import people_holding, user_names
from core import audit
from core.concurrency import check_version, create_once
from core.db import utcnow
from core.exports import Sheet, neutralise, xlsx_file
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.security import Permission, roles_granting
from core.text import fold
from smsi import reference as ref
from smsi.models import ImplementationStatus, InclusionReason, SoaEntry, SoaVersion

FIELDS: tuple[str, ...] = (
    "applicable",
    "reasons",
    "exclusion_justification",
    "status",
    "owner_id",
    "implementation",
    "evidence",
)
AUDITED_FIELDS = ("control_id", *FIELDS)
MAX_TEXT = 10_000
MAX_COMMENT = 2_000

FIELD_LABELS: dict[str, Any] = {
    "control_id": _l("Mesure de l'annexe A"),
    "applicable": _l("Mesure applicable"),
    "reasons": _l("Raisons de l'inclusion"),
    "exclusion_justification": _l("Justification de l'exclusion"),
    "status": _l("État de mise en œuvre"),
    "owner_id": _l("Responsable"),
    "implementation": _l("Mise en œuvre (description)"),
    "evidence": _l("Preuves et références"),
}

NOT_ASSESSED = "not_assessed"  # a filter value: the controls without an entry


# --- rows: the 93 controls, assessed or not -----------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One control as the statement shows it: its entry when somebody saved one."""

    control: ref.Control
    entry: SoaEntry | None
    owner_name: str | None = None

    @property
    def assessed(self) -> bool:
        return self.entry is not None

    @property
    def applicable(self) -> bool | None:
        return self.entry.applicable if self.entry else None

    @property
    def status(self) -> ImplementationStatus | None:
        return self.entry.status if self.entry else None


# Queries name the organisation explicitly (the demo loader runs them outside a request); during a
# request the ORM safety net (core.tenancy) restricts them to the active organisation as well.


def entries(org_id: int) -> dict[str, SoaEntry]:
    stmt = select(SoaEntry).where(SoaEntry.organisation_id == org_id)
    return {e.control_id: e for e in db.session.scalars(stmt)}


def entry_of(org_id: int, control_id: str) -> SoaEntry | None:
    stmt = select(SoaEntry).where(SoaEntry.organisation_id == org_id, SoaEntry.control_id == control_id)
    return db.session.scalar(stmt)


def rows(org: Organisation) -> list[Row]:
    """The 93 controls in Annex A order, with their entries and owners' names (two queries)."""
    stored = entries(org.id)
    names = user_names(e.owner_id for e in stored.values() if e.owner_id)
    return [
        Row(c, stored.get(c.id), names.get(stored[c.id].owner_id) if c.id in stored else None)  # type: ignore[arg-type]
        for c in ref.controls()
    ]


@dataclass(frozen=True)
class SoaFilters:
    theme: str = ""
    status: str = ""  # an ImplementationStatus value, or NOT_ASSESSED
    applicable: str = ""  # "yes", "no"
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> SoaFilters:
        theme = str(args.get("theme") or "")
        status = str(args.get("status") or "")
        applicable = str(args.get("applicable") or "")
        return cls(
            theme=theme if theme in {t.id for t in ref.themes()} else "",
            status=status if status in {NOT_ASSESSED, *(s.value for s in ImplementationStatus)} else "",
            applicable=applicable if applicable in ("yes", "no") else "",
            q=str(args.get("q") or "")[:200].strip(),
        )

    @property
    def active(self) -> bool:
        return bool(self.theme or self.status or self.applicable or self.q)


def filtered(all_rows: Iterable[Row], filters: SoaFilters) -> list[Row]:
    """The rows the filters keep (93 rows at most: filtered here, not by the database)."""
    wanted = fold(filters.q)
    out = []
    for row in all_rows:
        if filters.theme and row.control.theme != filters.theme:
            continue
        if filters.status == NOT_ASSESSED and row.assessed:
            continue
        if filters.status and filters.status != NOT_ASSESSED and (row.status or "") != filters.status:
            continue
        if filters.applicable and (not row.assessed or row.applicable != (filters.applicable == "yes")):
            continue
        if wanted:
            haystack = " ".join(
                (
                    row.control.id,
                    row.control.title_fr,
                    row.control.title_en,
                    (row.entry.implementation or "") if row.entry else "",
                )
            )
            if wanted not in fold(haystack):
                continue
        out.append(row)
    return out


# --- summary ------------------------------------------------------------------------------------


@dataclass
class Counts:
    total: int = 0
    not_assessed: int = 0
    excluded: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in ImplementationStatus})

    def add(self, applicable: bool | None, status: str | None) -> None:
        self.total += 1
        if applicable is None:
            self.not_assessed += 1
            return
        if not applicable:
            self.excluded += 1
        if status:
            self.by_status[status] = self.by_status.get(status, 0) + 1

    @property
    def expected(self) -> int:
        """The controls to implement: all but the excluded ones (a control not assessed yet counts)."""
        return self.total - self.excluded

    @property
    def rate(self) -> int:
        """Implemented controls among those to implement, in whole per cent."""
        done = self.by_status.get(ImplementationStatus.IMPLEMENTED.value, 0)
        return round(100 * done / self.expected) if self.expected else 0


@dataclass
class Summary:
    themes: list[tuple[ref.Theme, Counts]]
    total: Counts


def summary_of(values: Iterable[tuple[str, bool | None, str | None]]) -> Summary:
    """Counts per theme and overall from (control id, applicable, status) triples."""
    per_theme = {t.id: Counts() for t in ref.themes()}
    total = Counts()
    for control_id, applicable, status in values:
        control = ref.control(control_id)
        if control is None:
            continue
        per_theme[control.theme].add(applicable, status)
        total.add(applicable, status)
    return Summary([(t, per_theme[t.id]) for t in ref.themes()], total)


def summary(all_rows: Iterable[Row]) -> Summary:
    return summary_of((r.control.id, r.applicable, r.status.value if r.status else None) for r in all_rows)


def snapshot_summary(snapshot: Mapping[str, Any]) -> Summary:
    return summary_of(
        (c.id, (snapshot.get(c.id) or {}).get("applicable"), (snapshot.get(c.id) or {}).get("status"))
        for c in ref.controls()
    )


# --- rules and writing --------------------------------------------------------------------------


def owner_choices(org_id: int, *, include: int | None = None) -> list[tuple[int, str]]:
    """Who may own a control: the people holding a role that reads the SMSI in the organisation."""
    return people_holding(org_id, roles_granting(Permission.SMSI_VIEW), include=include)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    applicable = data.get("applicable")
    if isinstance(applicable, str):
        applicable = applicable in ("yes", "1", "true", "on")
    out: dict[str, Any] = {"applicable": bool(applicable)}
    known = {r.value for r in InclusionReason}
    out["reasons"] = [r.value for r in InclusionReason if r.value in set(data.get("reasons") or ()) & known]
    status = data.get("status") or ImplementationStatus.NOT_STARTED.value
    out["status"] = status.value if isinstance(status, ImplementationStatus) else str(status)
    owner = data.get("owner_id")
    out["owner_id"] = int(owner) if owner not in (None, "", "None") else None
    for name in ("exclusion_justification", "implementation", "evidence"):
        out[name] = _text(data.get(name))
    if not out["applicable"]:
        # An excluded control is not applicable; why it would apply means nothing then.
        out["status"] = ImplementationStatus.NOT_APPLICABLE.value
        out["reasons"] = []
    return out


def validate(org_id: int, clean: Mapping[str, Any], *, current_owner: int | None = None) -> list[FieldError]:
    errors: list[FieldError] = []
    if clean["applicable"]:
        if not clean["reasons"]:
            errors.append(FieldError("reasons", _("Indiquez au moins une raison d'inclure cette mesure.")))
        if clean["status"] == ImplementationStatus.NOT_APPLICABLE.value:
            errors.append(
                FieldError(
                    "status", _("« Sans objet » ne vaut que pour une mesure exclue : choisissez un état.")
                )
            )
    elif not clean["exclusion_justification"]:
        errors.append(
            FieldError("exclusion_justification", _("Une mesure exclue doit être justifiée (§ 6.1.3 d)."))
        )
    if clean["status"] not in {s.value for s in ImplementationStatus}:
        errors.append(FieldError("status", _("État inconnu.")))
    for name in ("exclusion_justification", "implementation", "evidence"):
        if clean[name] and len(clean[name]) > MAX_TEXT:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=MAX_TEXT)))
    owner = clean["owner_id"]
    if owner is not None and owner not in dict(owner_choices(org_id, include=current_owner)):
        errors.append(FieldError("owner_id", _("Choisissez une personne de l'organisation.")))
    return errors


def save_entry(
    org: Organisation, actor: User | None, control: ref.Control, data: Mapping[str, Any]
) -> SoaEntry:
    """Create or update the organisation's entry for ``control``. ``data["version"]``: the version
    the form was loaded with ("" when the control had no entry then): EditConflict when stale, or
    when somebody else saved the control first."""
    entry = entry_of(org.id, control.id)
    if entry is not None:
        check_version(entry, data.get("version"))
    clean = normalise(data)
    raise_field_errors(validate(org.id, clean, current_owner=entry.owner_id if entry else None))
    if entry is None:
        created = SoaEntry(organisation_id=org.id, control_id=control.id)

        def create() -> SoaEntry:
            with audit.audited(org.id, actor, "soa.create", created, AUDITED_FIELDS):
                _apply(created, clean)
            return created

        # saved by somebody else in between: theirs is shown beside ours
        return create_once(create, lambda: entry_of(org.id, control.id))
    with audit.audited(org.id, actor, "soa.update", entry, AUDITED_FIELDS):
        _apply(entry, clean)
    return entry


def _apply(entry: SoaEntry, clean: Mapping[str, Any]) -> None:
    for name in FIELDS:
        value = clean[name]
        if name == "status":
            value = ImplementationStatus(value)
        setattr(entry, name, value)


# --- versions -----------------------------------------------------------------------------------


def current_snapshot(org: Organisation, all_rows: Iterable[Row] | None = None) -> dict[str, Any]:
    """The statement as it stands, in the shape a version keeps: control id → its fields (the
    owner's name as well); a control not assessed → ``{}``."""
    out: dict[str, Any] = {}
    for row in all_rows if all_rows is not None else rows(org):
        e = row.entry
        if e is None:
            out[row.control.id] = {}
            continue
        out[row.control.id] = {
            "applicable": e.applicable,
            "reasons": list(e.reasons or []),
            "exclusion_justification": e.exclusion_justification,
            "status": e.status.value,
            "owner_id": e.owner_id,
            "owner_name": row.owner_name,
            "implementation": e.implementation,
            "evidence": e.evidence,
        }
    return out


def versions(org_id: int) -> list[SoaVersion]:
    stmt = select(SoaVersion).where(SoaVersion.organisation_id == org_id).order_by(SoaVersion.number.desc())
    return list(db.session.scalars(stmt))


def latest_version(org_id: int) -> SoaVersion | None:
    stmt = (
        select(SoaVersion)
        .where(SoaVersion.organisation_id == org_id)
        .order_by(SoaVersion.number.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def approve(org: Organisation, actor: User, comment: str | None) -> SoaVersion:
    """Freeze the statement as it stands into the next numbered version, approved by ``actor``."""
    comment = _text(comment)
    if comment and len(comment) > MAX_COMMENT:
        raise FieldError("comment", _("%(n)s caractères au plus.", n=MAX_COMMENT))
    number = (
        db.session.scalar(select(func.max(SoaVersion.number)).where(SoaVersion.organisation_id == org.id))
        or 0
    ) + 1
    version = SoaVersion(
        organisation_id=org.id,
        number=number,
        approved_by_id=actor.id,
        approved_by_name=actor.full_name,
        approved_at=utcnow(),
        comment=comment,
        snapshot=current_snapshot(org),
    )
    db.session.add(version)
    db.session.flush()
    figures = snapshot_summary(version.snapshot).total
    audit.record(
        org,
        actor,
        "soa.approve",
        version,
        {
            "number": (None, number),
            "approved_by_name": (None, version.approved_by_name),
            "comment": (None, comment),
            "rate": (None, figures.rate),
        },
    )
    return version


# --- home page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeFigures:
    rate: int
    implemented: int
    expected: int
    not_assessed: int
    latest: SoaVersion | None


def home_figures(org_id: int) -> HomeFigures:
    """The RSSI's card: implementation rate and the last approved version (two queries)."""
    rows = db.session.execute(
        select(SoaEntry.applicable, SoaEntry.status, func.count())
        .where(SoaEntry.organisation_id == org_id)
        .group_by(SoaEntry.applicable, SoaEntry.status)
    ).all()
    assessed = sum(n for _a, _s, n in rows)
    excluded = sum(n for applicable, _s, n in rows if not applicable)
    implemented = sum(n for _a, status, n in rows if status == ImplementationStatus.IMPLEMENTED)
    total = Counts(total=len(ref.controls()), not_assessed=len(ref.controls()) - assessed, excluded=excluded)
    total.by_status[ImplementationStatus.IMPLEMENTED.value] = implemented
    return HomeFigures(total.rate, implemented, total.expected, total.not_assessed, latest_version(org_id))


# --- comparing ----------------------------------------------------------------------------------


def value_text(name: str, value: Any, entry: Mapping[str, Any] | None = None) -> str:
    """A stored value as the pages show it."""
    if name == "applicable":
        return "—" if value is None else (_("Oui") if value else _("Non (exclue)"))
    if name == "reasons":
        labels = {r.value: str(r.label) for r in InclusionReason}
        return ", ".join(labels.get(v, v) for v in value or ()) or "—"
    if name == "status":
        if not value:
            return "—"
        try:
            return str(ImplementationStatus(value).label)
        except ValueError:
            return str(value)
    if name == "owner_id":
        return (entry or {}).get("owner_name") or ("—" if value is None else f"#{value}")
    return "—" if value in (None, "") else str(value)


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ControlDiff:
    control: ref.Control
    changes: list[FieldChange]


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ControlDiff]:
    """The controls whose fields differ between two snapshots, field by field, in Annex A order.
    A control assessed on one side only shows every field it has."""
    out = []
    for control in ref.controls():
        a, b = old.get(control.id) or {}, new.get(control.id) or {}
        changes = []
        if bool(a) != bool(b):
            not_assessed = str(_("non évaluée"))
            changes.append(
                FieldChange(
                    str(_("Évaluation")),
                    _("évaluée") if a else not_assessed,
                    _("évaluée") if b else not_assessed,
                )
            )
        for name in FIELDS:
            before = value_text(name, a.get(name), a) if a else "—"
            after = value_text(name, b.get(name), b) if b else "—"
            if before != after:
                changes.append(FieldChange(str(FIELD_LABELS[name]), before, after))
        if changes:
            out.append(ControlDiff(control, changes))
    return out


# --- XLSX export ---------------------------------------------------------------------------------


def _cell(value: str | None) -> str | None:
    return neutralise(value) if value else None


def xlsx_rows(snapshot: Mapping[str, Any]) -> list[list[str | None]]:
    out = []
    for control in ref.controls():
        e = snapshot.get(control.id) or {}
        theme = ref.theme_of(control.theme)
        out.append(
            [
                control.id,
                _cell(control.title),
                _cell(theme.name if theme else control.theme),
                _cell(value_text("applicable", e.get("applicable")) if e else str(_("Non évaluée"))),
                _cell(value_text("reasons", e.get("reasons")) if e else None),
                _cell(e.get("exclusion_justification")),
                _cell(value_text("status", e.get("status")) if e else None),
                _cell(e.get("owner_name")),
                _cell(e.get("implementation")),
                _cell(e.get("evidence")),
            ]
        )
    return out


def export_xlsx(org: Organisation, actor: User | None) -> tuple[IO[bytes], str]:
    """The statement as it stands as an XLSX workbook (one sheet, 93 rows), journalled. Returns the
    file (read from its start; closing it deletes it) and its name."""
    at: datetime = utcnow()
    snap = current_snapshot(org)
    header = [
        _("Mesure (annexe A)"),
        _("Intitulé"),
        _("Thème"),
        str(FIELD_LABELS["applicable"]),
        str(FIELD_LABELS["reasons"]),
        str(FIELD_LABELS["exclusion_justification"]),
        str(FIELD_LABELS["status"]),
        str(FIELD_LABELS["owner_id"]),
        str(FIELD_LABELS["implementation"]),
        str(FIELD_LABELS["evidence"]),
    ]
    sheet = Sheet(
        _("Applicabilité"),
        header,
        xlsx_rows(snap),
        widths=(9, 45, 22, 14, 30, 40, 22, 22, 60, 40),
        freeze="C2",
    )
    file = xlsx_file([sheet], at)
    audit.record(
        org, actor, "soa.export", audit.Ref("Soa", org.id), {"format": (None, "xlsx"), "rows": (None, 93)}
    )
    stem = re.sub(r"[^a-z0-9]+", "-", fold(org.short_name or org.name)).strip("-")[:60] or "organisation"
    return file, f"declaration-applicabilite-{stem}-{at:%Y%m%d}.xlsx"
