"""Auditor access, in one place: an auditor invited to ONE audit, what they may see and do, and the
trail of what they opened.

* :func:`invite` creates (or reuses) the account, grants it the AUDITOR role in the audit's own
  organisation and in each organisation of its scope, expiring at the audit's end date
  (``Membership.expires_on``; ``accounts.models.membership_is_current`` is the one rule that reads
  it), and records an :class:`AuditorAccess`. MFA is mandatory for the AUDITOR role (accounts'
  MFA_ROLES): the auditor enrols TOTP at first login.
* :func:`narrow` is the audits domain's ``core.security.permission_filters`` hook: for an invited
  auditor, the permissions of the active organisation are cut down to the audit's scope — the
  audits (read), the findings of their audit (write, AUDIT_FINDINGS_EDIT, in the audit's own
  organisation), and the frameworks in scope (Annex A: the SMSI's pages; the register: the
  registers' pages; the hygiene guide: the risks' pages), read-only. Nothing at all once the access
  expired or was revoked, or in an organisation outside the scope.
* :func:`visible_audit_ids` narrows the audits an invited auditor sees to their own (404 otherwise,
  through :func:`get_audit_or_404` and :func:`get_finding_or_404`).
* :func:`note_view` journals every page and file an invited auditor opens (``auditor.view``), after
  the response, in a transaction of its own (a GET never writes in its own transaction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, abort, after_this_request, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from accounts.models import Membership, Organisation, User
from accounts.services import users as accounts
from audits.models import Audit, AuditorAccess, Finding, Framework
from core import audit
from core.audit.models import AuditEvent, AuditPayload
from core.db import today, utcnow
from core.extensions import db
from core.forms import FieldError, raise_field_errors, text_value
from core.security import Permission, Role, permission_filters
from core.tenancy import UNSCOPED, current_org, current_org_roles, get_scoped_or_404

logger = logging.getLogger(__name__)
P = Permission
FRAMEWORK_PERMISSIONS = {
    Framework.ANNEX_A: P.SMSI_VIEW,
    Framework.RGPD_REGISTER: P.REGISTERS_VIEW,
    Framework.HYGIENE: P.RISKS_VIEW,
}
TRAIL_ACTION = "auditor.view"


# --- invitation and revocation -------------------------------------------------------------------


def _scope_orgs(audit_obj: Audit) -> list[Organisation]:
    orgs = {o.id: o for o in audit_obj.organisations}
    own = db.session.get(Organisation, audit_obj.organisation_id)
    orgs.setdefault(own.id, own)
    return list(orgs.values())


def invite(audit_obj: Audit, actor: User | None, data: dict[str, Any]) -> AuditorAccess:
    email = (text_value(data.get("email"), 254) or "").lower()
    name = text_value(data.get("full_name"), 200)
    errors: list[FieldError] = []
    if not email or "@" not in email or len(email) > 254 or " " in email:
        errors.append(FieldError("email", _("Indiquez une adresse électronique valide.")))
    if not name:
        errors.append(FieldError("full_name", _("Indiquez le nom de l'auditeur.")))
    elif len(name) > 200:
        errors.append(FieldError("full_name", _("%(n)s caractères au plus.", n=200)))
    if audit_obj.end_on < today():
        errors.append(FieldError("email", _("L'audit est terminé : on n'y invite plus d'auditeur.")))
    raise_field_errors(errors)
    # unscoped: accounts are platform-wide: the invited auditor may already have one
    user = db.session.scalar(select(User).where(User.email == email).execution_options(**UNSCOPED))
    if user is None:
        user = accounts.create_user(
            actor, {"email": email, "full_name": name, "password": data.get("password")}
        )
    access = db.session.scalar(
        select(AuditorAccess)
        .where(AuditorAccess.audit_id == audit_obj.id, AuditorAccess.user_id == user.id)
        .execution_options(**UNSCOPED)  # unscoped: by audit and user, the audit already checked
    )
    if access is not None and access.revoked_at is None and access.expires_on >= today():
        raise FieldError("email", _("Cet auditeur a déjà accès à cet audit."))
    for org in _scope_orgs(audit_obj):
        accounts.grant_role(user, org, Role.AUDITOR, actor, expires_on=audit_obj.end_on)
    if access is None:
        access = AuditorAccess(
            organisation_id=audit_obj.organisation_id, audit_id=audit_obj.id, user_id=user.id
        )
        db.session.add(access)
    access.invited_by_id = actor.id if actor else None
    access.invited_at = utcnow()
    access.expires_on = audit_obj.end_on
    access.revoked_at = None
    db.session.flush()
    audit.record(
        audit_obj.organisation_id,
        actor,
        "auditor_access.invite",
        access,
        {"user_id": (None, user.id), "expires_on": (None, audit_obj.end_on.isoformat())},
    )
    return access


def revoke(access: AuditorAccess, actor: User | None) -> None:
    """The access ends now: the row is marked, the auditor's memberships of the audit's scope
    revoked (those of another current access of theirs stay)."""
    if access.revoked_at is not None:
        raise FieldError("access", _("Cet accès est déjà révoqué."))
    access.revoked_at = utcnow()
    # unscoped: the auditor's other accesses, whatever audit and organisation
    others = db.session.scalars(
        select(AuditorAccess)
        .where(AuditorAccess.user_id == access.user_id, AuditorAccess.id != access.id)
        .execution_options(**UNSCOPED)
    )
    kept = {o.id for other in others if other.is_current for o in _scope_orgs(other.audit)}
    for org in _scope_orgs(access.audit):
        if org.id in kept:
            continue
        # unscoped: the auditor's memberships in each organisation of the audit's scope
        db.session.execute(
            update(Membership)
            .where(
                Membership.user_id == access.user_id,
                Membership.organisation_id == org.id,
                Membership.role == Role.AUDITOR,
                Membership.revoked_at.is_(None),
            )
            .values(revoked_at=access.revoked_at)
            .execution_options(**UNSCOPED)
        )
    db.session.flush()
    audit.record(access.organisation_id, actor, "auditor_access.revoke", access, {"revoked": (False, True)})


def accesses_of_audit(audit_obj: Audit) -> list[AuditorAccess]:
    stmt = select(AuditorAccess).where(AuditorAccess.audit_id == audit_obj.id)
    return list(db.session.scalars(stmt.order_by(AuditorAccess.invited_at.desc())))


@dataclass(frozen=True)
class TrailLine:
    at: datetime
    user_name: str
    path: str


def trail(audit_obj: Audit, limit: int = 200) -> list[TrailLine]:
    """What the audit's auditors opened, latest first (the journal's ``auditor.view`` entries)."""
    accesses = {a.id: a for a in accesses_of_audit(audit_obj)}
    if not accesses:
        return []
    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.object_id, AuditPayload.data)
        .outerjoin(AuditPayload, AuditPayload.event_id == AuditEvent.id)
        .where(
            AuditEvent.action == TRAIL_ACTION,
            AuditEvent.object_type == "AuditorAccess",
            AuditEvent.object_id.in_(list(accesses)),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .execution_options(**UNSCOPED)  # unscoped: the audit's own accesses, named by id
    )
    lines = []
    for at, access_id, data in rows:
        path = data.get("path") if isinstance(data, dict) else None  # None: the payload was erased
        lines.append(TrailLine(at, accesses[access_id].user.full_name, str(path or "—")))
    return lines


# --- the scope: what an invited auditor may see -------------------------------------------------


def _my_accesses() -> list[AuditorAccess] | None:
    """The current user's auditor accesses (every one, any state), or None when they have none.
    Kept for the request."""
    if "_egide_auditor_accesses" not in g:
        rows: list[AuditorAccess] | None = None
        if current_user.is_authenticated and Role.AUDITOR in current_org_roles():
            rows = (
                list(
                    db.session.scalars(
                        select(AuditorAccess)
                        .where(AuditorAccess.user_id == current_user.id)
                        .execution_options(**UNSCOPED)  # unscoped: the user's own accesses, any organisation
                    )
                )
                or None
            )
        g._egide_auditor_accesses = rows
    return g._egide_auditor_accesses


def _current_in_org(org_id: int) -> list[AuditorAccess]:
    return [
        a for a in _my_accesses() or () if a.is_current and org_id in {o.id for o in _scope_orgs(a.audit)}
    ]


def is_invited_auditor() -> bool:
    return _my_accesses() is not None and current_org_roles() == frozenset({Role.AUDITOR})


def narrow(granted: frozenset[Permission]) -> frozenset[Permission]:
    """``core.security.permission_filters`` hook (see the module's docstring)."""
    if not is_invited_auditor() or current_org is None or current_org.id is None:
        return granted
    current = _current_in_org(current_org.id)
    if not current:
        return frozenset()
    allowed = {P.AUDITS_VIEW}
    for access in current:
        allowed |= {FRAMEWORK_PERMISSIONS[f] for f in access.audit.framework_set}
        if access.audit.organisation_id == current_org.id:
            allowed.add(P.AUDIT_FINDINGS_EDIT)
    return frozenset(allowed)


def visible_audit_ids() -> set[int] | None:
    """The audits an invited auditor may open (their own, current); None: no such limit."""
    if not is_invited_auditor():
        return None
    return {a.audit_id for a in _current_in_org(current_org.id)}


def visible_audits_key() -> frozenset[int] | None:
    """:func:`visible_audit_ids` as a key of a list's statement built once
    (core.tenancy.reused_per_organisation): the audits an invited auditor may open, None for anyone else."""
    visible = visible_audit_ids()
    return None if visible is None else frozenset(visible)


def get_audit_or_404(audit_id: int) -> Audit:
    audit_obj = get_scoped_or_404(Audit, audit_id)
    visible = visible_audit_ids()
    if visible is not None and audit_obj.id not in visible:
        abort(404)
    return audit_obj


def get_finding_or_404(finding_id: int) -> Finding:
    finding = get_scoped_or_404(Finding, finding_id)
    visible = visible_audit_ids()
    if visible is not None and finding.audit_id not in visible:
        abort(404)
    return finding


# --- the trail -----------------------------------------------------------------------------------


# Within a domain whose permission a framework in scope opens, the pages an invited auditor may read:
# the Statement of Applicability of the SMSI (not its incidents or actions), the hygiene
# self-assessments of the risks (not the risk register or EBIOS studies), the whole register.
FRAMEWORK_ENDPOINTS = {
    Framework.ANNEX_A: ("smsi.soa",),
    Framework.HYGIENE: ("risks.hygiene",),
    Framework.RGPD_REGISTER: ("registers.",),
}
NARROWED_DOMAINS = ("smsi.", "risks.", "registers.")


def _outside_scope(endpoint: str, accesses: list[AuditorAccess]) -> bool:
    """Whether an invited auditor's request names a page of a domain outside their frameworks."""
    if not endpoint.startswith(NARROWED_DOMAINS):
        return False  # the audits' pages and the rest: the permissions decide (narrow)
    allowed = _allowed_prefixes(accesses)
    return not endpoint.startswith(allowed) if allowed else True


def _allowed_prefixes(accesses: list[AuditorAccess]) -> tuple[str, ...]:
    return tuple(
        sorted({prefix for a in accesses for f in a.audit.framework_set for prefix in FRAMEWORK_ENDPOINTS[f]})
    )


def layout_facts() -> dict[str, Any]:
    """The domain's ``layout_facts``: for an invited auditor, the menu's scope — (the domains
    narrowed, the pages of them their frameworks open) — so that the menu (templates/_macros/nav.html)
    offers only pages that answer, by the same rule as :func:`_outside_scope`. None for anyone else."""
    if not is_invited_auditor() or current_org is None or current_org.id is None:
        return {"nav_scope": None}
    return {"nav_scope": (NARROWED_DOMAINS, _allowed_prefixes(_current_in_org(current_org.id)))}


def note_view() -> None:
    """App-wide ``before_request`` (installed by the domain's setup): an invited auditor's request
    outside the frameworks of their audit is a 404; any other is journalled after its response, in
    a short transaction of its own."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated or not is_invited_auditor():
        return
    current = _current_in_org(current_org.id)
    if not current:
        return
    outside = _outside_scope(request.endpoint, current)
    access_id, org_id, user_id = current[0].id, current[0].organisation_id, current_user.id
    method, path = request.method, request.full_path.rstrip("?")[:300]

    @after_this_request
    def _write_after_the_response(response: Any) -> Any:
        try:
            db.session.rollback()  # the request's transaction is over (a write committed)
            actor = db.session.get(User, user_id)
            audit.record(
                org_id,
                actor,
                TRAIL_ACTION,
                audit.Ref("AuditorAccess", access_id),
                detail={"method": method, "path": path, "status": response.status_code},
            )
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            logger.warning(
                "Auditor access %s: view not journalled, the response goes on", access_id, exc_info=True
            )
        return response

    if outside:
        abort(404)


def setup(app: Flask) -> None:
    if narrow not in permission_filters:
        permission_filters.append(narrow)
    app.before_request(note_view)


def my_current_accesses() -> list[AuditorAccess]:
    """The invited auditor's current accesses in the active organisation (the home page's card)."""
    return _current_in_org(current_org.id) if is_invited_auditor() else []
