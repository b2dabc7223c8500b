"""Demo data of the audits (``flask demo load``, idempotent): the 2022 audit of the syndicate
itself (shared/domain/seed_facts.json: the reform audit that led to the "deep reform" decision), an
ANSSI diagnostic, an internal audit in progress with findings at several levels linked to the demo
SMSI actions, and an auditor invited to it (auditeur@audit.example.org) whose access ends today +
21 days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from accounts.models import Membership, Organisation, User
from accounts.services import users as accounts
from audits import access
from audits.models import (
    Audit,
    AuditorAccess,
    AuditStatus,
    AuditType,
    Finding,
    FindingLevel,
    FindingStatus,
    RequirementKind,
    finding_actions,
)
from core import crypto, references
from core.db import today, utcnow
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from smsi.services import actions as smsi_actions

SYNDICATE = "SIIM94"
AUDITOR_EMAIL = "auditeur@audit.example.org"


def _rssi(org: Organisation) -> User | None:
    return db.session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == org.id,
            Membership.role == Role.RSSI,
            Membership.revoked_at.is_(None),
        )
        .order_by(User.id)
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )


def _audit(org: Organisation, members: list[Organisation], **fields: Any) -> Audit:
    audit = Audit(organisation_id=org.id, **fields)
    audit.reference = references.next_reference(Audit, org.id, f"AUD-{fields['start_on']:%Y}-")
    audit.organisations = [org, *members]
    db.session.add(audit)
    db.session.flush()
    return audit


def _finding(audit: Audit, number: int, **fields: Any) -> Finding:
    finding = Finding(
        organisation_id=audit.organisation_id,
        audit_id=audit.id,
        number=number,
        reference=f"{audit.reference}-F{number:02d}",
        **fields,
    )
    db.session.add(finding)
    db.session.flush()
    return finding


def load_audits(context: dict[str, Any]) -> None:
    org = context.get("organisations", {}).get(SYNDICATE)
    if org is None:
        return
    # unscoped: the demo loader runs outside any request
    held = db.session.scalar(
        select(Audit.id).where(Audit.organisation_id == org.id).limit(1).execution_options(**UNSCOPED)
    )
    if held is None:
        _load(org)
    _auditor(org, context)


def _load(org: Organisation) -> None:
    members = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.syndicate_id == org.id, Organisation.left_on.is_(None))
            .order_by(Organisation.sort_name)
            .limit(2)
            .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
        )
    )
    reform = _audit(
        org,
        [],
        title="Audit de l'organisation et du fonctionnement du syndicat",
        type=AuditType.EXTERNAL,
        frameworks=["annex_a"],
        start_on=date(2022, 3, 1),
        end_on=date(2022, 6, 30),
        lead_auditor_name="Cabinet d'audit externe",
        auditees="Direction, comité syndical, services techniques",
        status=AuditStatus.CLOSED,
    )
    _finding(
        reform,
        1,
        title="Gouvernance de la sécurité à refonder : dissolution ou réforme profonde",
        level=FindingLevel.NCMAJ,
        requirement_kind=RequirementKind.ANNEX_A,
        requirement_ref="A.5.1",
        status=FindingStatus.ACTION_PLANNED,
        root_cause=(
            "Organisation héritée, sans pilotage de la sécurité ; décision de réforme profonde en "
            "septembre 2022."
        ),
    )
    diagnostic = _audit(
        org,
        members[:1],
        title="Diagnostic de cybersécurité (parcours ANSSI)",
        type=AuditType.ANSSI_DIAGNOSTIC,
        frameworks=["hygiene"],
        start_on=date(today().year, 2, 3),
        end_on=date(today().year, 2, 7),
        lead_auditor_name="Prestataire référencé",
        status=AuditStatus.REPORT_ISSUED,
    )
    _finding(
        diagnostic,
        1,
        title="Inventaire des comptes à privilèges incomplet",
        level=FindingLevel.PS,
        requirement_kind=RequirementKind.HYGIENE,
        requirement_ref="8",
        status=FindingStatus.OPEN,
    )
    internal = _audit(
        org,
        members,
        title="Audit interne du SMSI",
        type=AuditType.INTERNAL,
        frameworks=["annex_a", "rgpd_register"],
        start_on=today() - timedelta(days=7),
        end_on=today() + timedelta(days=21),
        lead_auditor_name="Auditeur interne",
        auditees="RSSI, DPO, responsables d'applications",
        status=AuditStatus.IN_PROGRESS,
        follow_up_of_id=reform.id,
    )
    specs = [
        ("Revue des droits d'accès menée chaque trimestre", FindingLevel.PF, "A.5.18", FindingStatus.CLOSED),
        ("Journalisation des accès administrateurs à étendre", FindingLevel.PP, "A.8.15", FindingStatus.OPEN),
        (
            "Restaurations de sauvegarde non testées",
            FindingLevel.NCMIN,
            "A.8.13",
            FindingStatus.ACTION_PLANNED,
        ),
        (
            "Comptes de maintenance des éditeurs sans double authentification",
            FindingLevel.NCMAJ,
            "A.8.5",
            FindingStatus.ACTION_PLANNED,
        ),
    ]
    actions = [i for i, _label in smsi_actions.open_action_choices(org.id)]
    for number, (title, level, control, status) in enumerate(specs, start=1):
        finding = _finding(
            internal,
            number,
            title=title,
            level=level,
            requirement_kind=RequirementKind.ANNEX_A,
            requirement_ref=control,
            status=status,
            closed_on=today() - timedelta(days=2) if status is FindingStatus.CLOSED else None,
        )
        if level.is_nonconformity and actions:
            db.session.execute(
                insert(finding_actions).values(finding_id=finding.id, action_id=actions.pop(0))
            )


def _auditor(org: Organisation, context: dict[str, Any]) -> None:
    internal = db.session.scalar(
        select(Audit)
        .where(Audit.organisation_id == org.id, Audit.type == AuditType.INTERNAL)
        .order_by(Audit.id.desc())
        .limit(1)
        .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
    )
    if internal is None:
        return
    # unscoped: the demo loader; accounts are platform-wide
    user = db.session.scalar(select(User).where(User.email == AUDITOR_EMAIL).execution_options(**UNSCOPED))
    # unscoped: the demo loader runs outside any request
    has_access = user is not None and db.session.scalar(
        select(AuditorAccess.id)
        .where(AuditorAccess.user_id == user.id, AuditorAccess.audit_id == internal.id)
        .execution_options(**UNSCOPED)
    )
    if not has_access:
        if user is None:
            user = accounts.create_user(
                None, {"email": AUDITOR_EMAIL, "full_name": "Auditrice invitée", "password": DEMO_PASSWORD}
            )
        # The demo's auditor account (accounts.demo) becomes the auditor invited to this audit: their
        # role ends with it.
        db.session.execute(
            update(Membership)
            .where(
                Membership.user_id == user.id,
                Membership.role == Role.AUDITOR,
                Membership.revoked_at.is_(None),
                Membership.expires_on.is_(None),
            )
            .values(expires_on=internal.end_on)
            .execution_options(**UNSCOPED)  # unscoped: demo loader (CLI)
        )
        access.invite(internal, _rssi(org), {"email": AUDITOR_EMAIL, "full_name": user.full_name})
    if not user.has_mfa:
        # Demo only: the shared, published TOTP key of the demo accounts.
        user.totp_secret_enc = crypto.encrypt(DEMO_TOTP_SECRET)
        user.totp_enabled_at = utcnow()
    logins = [entry for entry in context.setdefault("logins", []) if entry[0] != AUDITOR_EMAIL]
    context["logins"] = logins
    logins.append(
        (
            AUDITOR_EMAIL,
            f"auditrice invitée à {internal.reference} (accès jusqu'au {internal.end_on:%d/%m/%Y})"
            " — double authentification",
        )
    )
