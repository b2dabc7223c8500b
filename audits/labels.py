"""How the journal reads the audits' entries (installed by the Domain record): audits, findings,
re-checks and auditor accesses, with their fields and values as on the forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.services.organisations import organisation_names
from accounts.services.users import user_names
from audits.forms import AuditForm, FindingForm, RecheckForm
from audits.models import (
    AuditorAccess,
    AuditStatus,
    AuditType,
    FindingLevel,
    FindingStatus,
    Framework,
    RecheckResult,
    RequirementKind,
)
from audits.services.audits import audit_titles
from audits.services.findings import finding_titles
from core.extensions import db
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.tenancy import scoped

ACTION_LABELS: dict[str, Any] = {
    "audit.create": _l("Audit enregistré"),
    "audit.update": _l("Audit modifié"),
    "finding.create": _l("Constat d'audit enregistré"),
    "finding.update": _l("Constat d'audit modifié"),
    "finding.link_actions": _l("Actions correctives liées à un constat"),
    "finding.unlink_action": _l("Action corrective retirée d'un constat"),
    "finding.recheck": _l("Constat vérifié par un audit de suivi"),
    "auditor_access.invite": _l("Auditeur invité"),
    "auditor_access.revoke": _l("Accès d'un auditeur révoqué"),
    "auditor.view": _l("Page consultée par un auditeur"),
}


def _frameworks(value: Any) -> str:
    names = []
    for code in value or ():
        try:
            names.append(str(Framework(code).label))
        except ValueError:
            names.append(str(code))
    return " ; ".join(names)


def _access_titles(ids: Iterable[int]) -> dict[int, str]:
    wanted = {int(i) for i in ids}
    if not wanted:
        return {}
    rows = db.session.scalars(
        scoped(select(AuditorAccess), AuditorAccess).where(AuditorAccess.id.in_(wanted))
    )
    return {a.id: f"{a.user.full_name} — {a.audit.reference}" for a in rows}


JOURNAL_TYPES: dict[str, JournalType] = {
    "Audit": JournalType(
        _l("Audit"),
        fields=form_labels(AuditForm) | {"reference": _l("Référence")},
        values={"type": enum_text(AuditType), "status": enum_text(AuditStatus), "frameworks": _frameworks},
        names={"organisation_ids": organisation_names, "follow_up_of_id": audit_titles},
        title=audit_titles,
        link=("audits.audit_detail", "audit_id"),
    ),
    "Finding": JournalType(
        _l("Constat d'audit"),
        fields=form_labels(FindingForm)
        | form_labels(RecheckForm, "result", "comment")
        | {
            "reference": _l("Référence"),
            "closed_on": _l("Clos le"),
            "action_ids": _l("Actions"),
            "action_id": _l("Action"),
            "audit_id": _l("Audit"),
        },
        values={
            "level": enum_text(FindingLevel),
            "status": enum_text(FindingStatus),
            "requirement_kind": enum_text(RequirementKind),
            "result": enum_text(RecheckResult),
        },
        names={"concerned_organisation_id": organisation_names, "audit_id": audit_titles},
        title=finding_titles,
        link=("audits.finding_detail", "finding_id"),
    ),
    "AuditorAccess": JournalType(
        _l("Accès d'un auditeur"),
        fields={
            "user_id": _l("Auditeur"),
            "expires_on": _l("Fin de l'accès"),
            "revoked": _l("Révoqué"),
            "method": _l("Méthode"),
            "path": _l("Page ou fichier"),
            "status": _l("Réponse"),
        },
        names={"user_id": user_names},
        title=_access_titles,
    ),
}
