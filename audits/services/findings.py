"""Findings of an audit, their corrective actions and their re-checks.

* Reference per audit: AUD-2026-001-F03 (numbered in the audit).
* The requirement a finding is linked to: an Annex A control (smsi.reference), an ANSSI hygiene
  measure (risks.reference) or a register fiche (named by its reference); the organisation it
  concerns is one of the audit's scope.
* Corrective actions are SMSI actions (smsi.services.actions): created from the finding with the
  origin "audit finding", or existing ones linked.
* **A finding closes only when every linked action is verified effective**; a nonconformity
  (NCmin, NCmaj) needs at least one action to close.
* A follow-up audit re-checks a finding of the audit it follows (resolved / still open).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from accounts.models import Organisation, User
from audits import access
from audits.models import (
    Audit,
    Finding,
    FindingLevel,
    FindingRecheck,
    FindingStatus,
    RecheckResult,
    RequirementKind,
    finding_actions,
)
from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import today, utcnow
from core.extensions import db
from core.forms import FieldError, enum_value, id_list, raise_field_errors, text_value
from core.tenancy import UNSCOPED, reused_per_organisation, scoped
from risks import reference as risks_reference
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions

FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "level",
    "requirement_kind",
    "requirement_ref",
    "concerned_organisation_id",
    "root_cause",
    "status",
)
AUDITED_FIELDS = (*FIELDS, "reference", "closed_on")
MAX_TEXT = 10_000


def requirement_choices() -> dict[str, list[tuple[str, str]]]:
    """What a finding may be linked to, by kind: Annex A controls and ANSSI hygiene measures."""
    return {
        RequirementKind.ANNEX_A.value: [(c.id, c.label) for c in annex_a.controls()],
        RequirementKind.HYGIENE.value: [
            (str(m.number), f"{m.number}. {m.title}") for m in risks_reference.hygiene_measures()
        ],
    }


def requirement_label(kind: RequirementKind, ref: str | None) -> str:
    if not ref:
        return ""
    return dict(requirement_choices().get(kind.value, [])).get(ref, ref)


def linked_action_ids(finding_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(finding_actions.c.action_id)
            .where(finding_actions.c.finding_id == finding_id)
            .order_by(finding_actions.c.action_id)
        )
    )


def linked_actions(finding: Finding, *, explicit: bool = False) -> list[Any]:
    """``explicit``: read in the finding's own organisation, named (a PDF built by the packs' job,
    without a request); otherwise in the request's."""
    org_id = finding.organisation_id if explicit else None
    found = smsi_actions.actions_by_ids(linked_action_ids(finding.id), org_id)
    return [found[i] for i in sorted(found)]


def normalise(data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    out["title"] = text_value(out["title"], 200)
    out["requirement_ref"] = text_value(out["requirement_ref"], 60)
    for name in ("description", "root_cause"):
        out[name] = text_value(out[name], MAX_TEXT)
    out["level"] = enum_value(FindingLevel, out["level"], "level", errors)
    out["requirement_kind"] = enum_value(
        RequirementKind, out["requirement_kind"], "requirement_kind", errors, default=RequirementKind.NONE
    )
    out["status"] = enum_value(FindingStatus, out["status"], "status", errors, default=FindingStatus.OPEN)
    try:
        value = out["concerned_organisation_id"]
        out["concerned_organisation_id"] = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        out["concerned_organisation_id"] = None
    if out["requirement_kind"] is RequirementKind.NONE:
        out["requirement_ref"] = None
    return out


def closing_refusal(level: FindingLevel | None, action_ids: Iterable[int]) -> str | None:
    """Why a finding cannot close (None: it may): a nonconformity without an action, or a linked
    action not verified effective."""
    ids = list(action_ids)
    if level is not None and level.is_nonconformity and not ids:
        return _("Une non-conformité ne peut être close sans au moins une action corrective.")
    actions = smsi_actions.actions_by_ids(ids)
    pending = [a.reference for a in actions.values() if a.is_open]
    if pending:
        return _(
            "Le constat ne peut être clos : l'efficacité de ces actions n'est pas vérifiée : %(refs)s.",
            refs=", ".join(sorted(pending)),
        )
    return None


def validate(audit_obj: Audit, finding: Finding | None, data: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data["title"]:
        errors.append(FieldError("title", _("Donnez un intitulé au constat.")))
    for name, limit in (
        ("title", 200),
        ("requirement_ref", 60),
        ("description", MAX_TEXT),
        ("root_cause", MAX_TEXT),
    ):
        if data.get(name) and len(data[name]) > limit:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=limit)))
    kind = data["requirement_kind"]
    if kind is not None and kind is not RequirementKind.NONE:
        if not data["requirement_ref"]:
            errors.append(FieldError("requirement_ref", _("Indiquez l'exigence concernée.")))
        elif kind.value in requirement_choices() and data["requirement_ref"] not in dict(
            requirement_choices()[kind.value]
        ):
            errors.append(FieldError("requirement_ref", _("Exigence inconnue de ce référentiel.")))
    scope = {o.id for o in audit_obj.organisations}
    org_id = data["concerned_organisation_id"]
    if org_id is not None and org_id not in scope:
        errors.append(
            FieldError(
                "concerned_organisation_id", _("Cette organisation n'est pas dans le périmètre de l'audit.")
            )
        )
    if data["status"] is FindingStatus.CLOSED:
        refusal = closing_refusal(data["level"], linked_action_ids(finding.id) if finding else [])
        if refusal:
            errors.append(FieldError("status", refusal))
    return errors


def _apply(finding: Finding, clean: Mapping[str, Any]) -> None:
    was_closed = finding.status is FindingStatus.CLOSED
    for field in FIELDS:
        setattr(finding, field, clean[field])
    if finding.status is FindingStatus.CLOSED and not was_closed:
        finding.closed_on = today()
    elif finding.status is not FindingStatus.CLOSED:
        finding.closed_on = None


def create_finding(audit_obj: Audit, actor: User | None, data: Mapping[str, Any]) -> Finding:
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(audit_obj, None, clean)
    raise_field_errors(errors)
    number = (
        db.session.scalar(select(func.max(Finding.number)).where(Finding.audit_id == audit_obj.id)) or 0
    ) + 1
    finding = Finding(
        organisation_id=audit_obj.organisation_id,
        audit_id=audit_obj.id,
        number=number,
        reference=f"{audit_obj.reference}-F{number:02d}",
    )
    with audit.audited(audit_obj.organisation_id, actor, "finding.create", finding, AUDITED_FIELDS):
        _apply(finding, clean)
        db.session.add(finding)
        flush_or_conflict(finding)
    return finding


def update_finding(finding: Finding, actor: User | None, data: Mapping[str, Any]) -> Finding:
    check_version(finding, data.get("version"))
    errors: list[FieldError] = []
    clean = normalise(data, errors)
    errors += validate(finding.audit, finding, clean)
    raise_field_errors(errors)
    with audit.audited(finding.organisation_id, actor, "finding.update", finding, AUDITED_FIELDS):
        _apply(finding, clean)
        flush_or_conflict(finding)
    return finding


def findings_of(audit_id: int, organisation_id: int | None = None) -> list[Finding]:
    """The audit's findings, most severe first. ``organisation_id``: the audit's organisation named
    explicitly (a PDF built by the packs' job, without a request); otherwise the request's tenancy."""
    if organisation_id is None:
        stmt = scoped(select(Finding), Finding)
    else:
        # unscoped: filtered on the audit's organisation, named by the caller (no request in a job)
        stmt = select(Finding).where(Finding.organisation_id == organisation_id).execution_options(**UNSCOPED)
    stmt = stmt.where(Finding.audit_id == audit_id)
    findings = list(db.session.scalars(stmt))
    return sorted(findings, key=lambda f: (-f.level.rank, f.number))


# --- corrective actions ----------------------------------------------------------------------------


def link_actions(finding: Finding, actor: User | None, action_ids: Iterable[Any]) -> list[int]:
    """Link existing actions of the finding's organisation (those not yet linked)."""
    wanted = id_list(action_ids)
    allowed = dict(smsi_actions.open_action_choices(finding.organisation_id, include=wanted))
    if not wanted:
        raise FieldError("action_ids", _("Choisissez au moins une action à lier."))
    if any(i not in allowed for i in wanted):
        raise FieldError("action_ids", _("Action inconnue dans cette organisation."))
    already = set(linked_action_ids(finding.id))
    added = [i for i in wanted if i not in already]
    for action_id in added:
        db.session.execute(insert(finding_actions).values(finding_id=finding.id, action_id=action_id))
    if added:
        audit.record(
            finding.organisation_id, actor, "finding.link_actions", finding, detail={"action_ids": added}
        )
        _plan(finding)
    return added


def unlink_action(finding: Finding, actor: User | None, action_id: int) -> None:
    if finding.status is FindingStatus.CLOSED:
        raise FieldError("action_ids", _("Un constat clos garde ses actions : rouvrez-le d'abord."))
    db.session.execute(
        delete(finding_actions).where(
            finding_actions.c.finding_id == finding.id, finding_actions.c.action_id == action_id
        )
    )
    audit.record(
        finding.organisation_id, actor, "finding.unlink_action", finding, detail={"action_id": action_id}
    )


def create_action_for(finding: Finding, actor: User | None, data: Mapping[str, Any]) -> Any:
    """A new SMSI action from the finding (origin "audit finding"), linked to it."""
    org = db.session.get(Organisation, finding.organisation_id)
    payload = dict(data)
    payload["origin"] = "audit_finding"
    payload["origin_detail"] = f"{finding.reference} — {finding.title}"[:300]
    action = smsi_actions.create_action(org, actor, payload)
    db.session.execute(insert(finding_actions).values(finding_id=finding.id, action_id=action.id))
    audit.record(
        finding.organisation_id, actor, "finding.link_actions", finding, detail={"action_ids": [action.id]}
    )
    _plan(finding)
    return action


def _plan(finding: Finding) -> None:
    if finding.status is FindingStatus.OPEN:
        finding.status = FindingStatus.ACTION_PLANNED
        flush_or_conflict(finding)


# --- re-checks ---------------------------------------------------------------------------------------


def recheckable_findings(audit_obj: Audit) -> list[Finding]:
    """The findings of the audit this one follows up (none when it follows nothing)."""
    if audit_obj.follow_up_of_id is None:
        return []
    return findings_of(audit_obj.follow_up_of_id)


def record_recheck(audit_obj: Audit, actor: User | None, data: Mapping[str, Any]) -> FindingRecheck:
    errors: list[FieldError] = []
    result = enum_value(RecheckResult, data.get("result"), "result", errors)
    try:
        finding_id = int(data.get("finding_id") or 0)
    except (TypeError, ValueError):
        finding_id = 0
    allowed = {f.id for f in recheckable_findings(audit_obj)}
    if finding_id not in allowed:
        errors.append(FieldError("finding_id", _("Choisissez un constat de l'audit suivi.")))
    checked_on = data.get("checked_on")
    if checked_on is None:
        errors.append(FieldError("checked_on", _("Indiquez la date de la vérification.")))
    elif checked_on > today():
        errors.append(FieldError("checked_on", _("La vérification ne peut pas être dans le futur.")))
    comment = text_value(data.get("comment"), MAX_TEXT)
    if comment and len(comment) > MAX_TEXT:
        errors.append(FieldError("comment", _("%(n)s caractères au plus.", n=MAX_TEXT)))
    raise_field_errors(errors)
    recheck = FindingRecheck(
        organisation_id=audit_obj.organisation_id,
        finding_id=finding_id,
        audit_id=audit_obj.id,
        result=result,
        comment=comment,
        checked_on=checked_on,
        author_id=actor.id if actor else None,
        created_at=utcnow(),
    )
    db.session.add(recheck)
    db.session.flush()
    audit.record(
        audit_obj.organisation_id,
        actor,
        "finding.recheck",
        recheck.finding,
        detail={"result": result.value, "audit_id": audit_obj.id, "comment": comment},
    )
    return recheck


def rechecks_by(audit_obj: Audit) -> list[FindingRecheck]:
    """The re-checks this audit made (of the findings of the audit it follows)."""
    stmt = scoped(select(FindingRecheck), FindingRecheck).where(FindingRecheck.audit_id == audit_obj.id)
    return list(db.session.scalars(stmt.order_by(FindingRecheck.checked_on, FindingRecheck.id)))


def rechecks_of(audit_obj: Audit) -> list[FindingRecheck]:
    """The re-checks later audits made of this audit's findings."""
    stmt = (
        scoped(select(FindingRecheck), FindingRecheck)
        .join(Finding, Finding.id == FindingRecheck.finding_id)
        .where(Finding.audit_id == audit_obj.id)
    )
    return list(db.session.scalars(stmt.order_by(FindingRecheck.checked_on, FindingRecheck.id)))


def finding_titles(ids: Iterable[int]) -> dict[int, str]:
    wanted = {int(i) for i in ids}
    if not wanted:
        return {}
    rows = db.session.execute(
        scoped(select(Finding.id, Finding.reference, Finding.title), Finding).where(Finding.id.in_(wanted))
    )
    return {r.id: f"{r.reference} — {r.title}" for r in rows}


# --- the list of findings (the home page's card links to it) ---------------------------------------


# What the findings list shows of a finding: its rows carry these columns alone (no whole finding
# with its audit joined).
LIST_COLUMNS = (Finding.id, Finding.reference, Finding.level, Finding.title, Finding.status)


def finding_rows_query(level: str = "", status: str = "open") -> Any:
    """:func:`findings_list_query` as rows of LIST_COLUMNS (the list page)."""
    return _finding_rows_statement(level, status, access.visible_audits_key())


def findings_list_query(level: str = "", status: str = "open") -> Any:
    return _findings_statement(level, status, access.visible_audits_key())


@reused_per_organisation
def _finding_rows_statement(level: str, status: str, visible: frozenset[int] | None) -> Any:
    return _findings_statement(level, status, visible).with_only_columns(*LIST_COLUMNS)


@reused_per_organisation
def _findings_statement(level: str, status: str, visible: frozenset[int] | None) -> Any:
    stmt = scoped(select(Finding), Finding).order_by(Finding.audit_id.desc(), Finding.number)
    if level in {lv.value for lv in FindingLevel}:
        stmt = stmt.where(Finding.level == level)
    if status == "open":
        stmt = stmt.where(Finding.status != FindingStatus.CLOSED)
    elif status == "closed":
        stmt = stmt.where(Finding.status == FindingStatus.CLOSED)
    if visible is not None:
        stmt = stmt.where(Finding.audit_id.in_(sorted(visible)))
    return stmt
