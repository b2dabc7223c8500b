"""How the journal reads the SMSI's entries (installed by the Domain record): the actions, the
incidents, and the Statement of Applicability's entries, versions and exports, with their fields
and values as on the forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.services.organisations import organisation_names
from accounts.services.users import user_names
from catalogue.services.applications import application_names
from core.extensions import db
from core.forms import enum_text, form_labels
from core.journal import JournalType
from core.tenancy import scoped
from smsi import reference as ref
from smsi.forms.actions import ActionForm
from smsi.forms.incidents import IncidentForm
from smsi.forms.review import MinutesForm
from smsi.models import (
    ActionOrigin,
    ActionPriority,
    ActionStatus,
    ActionType,
    ImplementationStatus,
    IncidentCategory,
    IncidentStatus,
    Severity,
    SoaEntry,
    SoaVersion,
)
from smsi.services import soa
from smsi.services.actions import action_titles
from smsi.services.incidents import incident_titles
from smsi.services.review import review_titles

ACTION_LABELS: dict[str, Any] = {
    "action.create": _l("Action corrective enregistrée"),
    "action.update": _l("Action corrective modifiée"),
    "action.reassign": _l("Action corrective réattribuée"),
    "review.create": _l("Compte rendu de revue hebdomadaire enregistré"),
    "review.update": _l("Compte rendu de revue hebdomadaire modifié"),
    "incident.create": _l("Incident de sécurité enregistré"),
    "incident.update": _l("Incident de sécurité modifié"),
    "incident.reopen": _l("Incident de sécurité rouvert"),
    "incident.event": _l("Entrée ajoutée à la chronologie d'un incident"),
    "incident.notification": _l("Notification externe d'un incident enregistrée"),
    "soa.create": _l("Mesure de la déclaration d'applicabilité renseignée"),
    "soa.update": _l("Mesure de la déclaration d'applicabilité modifiée"),
    "soa.approve": _l("Déclaration d'applicabilité approuvée"),
    "soa.export": _l("Déclaration d'applicabilité exportée"),
}


def _entry_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(SoaEntry.id, SoaEntry.control_id), SoaEntry).where(SoaEntry.id.in_(ids))
    )
    out = {}
    for row in rows:
        control = ref.control(row.control_id)
        out[row.id] = control.label if control else row.control_id
    return out


def _version_titles(ids: Iterable[int]) -> dict[int, str]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(SoaVersion.id, SoaVersion.number), SoaVersion).where(SoaVersion.id.in_(ids))
    )
    return {row.id: _("Version %(n)s", n=row.number) for row in rows}


def _reasons(value: Any) -> str:
    return soa.value_text("reasons", value)


def _applicable(value: Any) -> str:
    return soa.value_text("applicable", value)


def _control(value: Any) -> str:
    control = ref.control(str(value))
    return control.label if control else str(value)


JOURNAL_TYPES: dict[str, JournalType] = {
    "WeeklyReview": JournalType(
        _l("Revue hebdomadaire du SMSI"),
        fields=form_labels(MinutesForm) | {"week_start": _l("Semaine du")},
        link=("smsi.review", None),
    ),
    "Action": JournalType(
        _l("Action corrective ou préventive"),
        fields=form_labels(ActionForm) | {"reference": _l("Référence"), "is_open": _l("Ouverte")},
        values={
            "origin": enum_text(ActionOrigin),
            "type": enum_text(ActionType),
            "priority": enum_text(ActionPriority),
            "status": enum_text(ActionStatus),
        },
        names={
            "owner_id": user_names,
            "checked_by_id": user_names,
            "incident_id": incident_titles,
            "review_id": review_titles,
        },
        title=action_titles,
        link=("smsi.action_detail", "action_id"),
    ),
    "Incident": JournalType(
        _l("Incident de sécurité"),
        fields=form_labels(IncidentForm)
        | {
            "reference": _l("Référence"),
            "closed_at": _l("Clos le"),
            "timeline": _l("Chronologie"),
            "notification": _l("Notification externe"),
        },
        values={
            "category": enum_text(IncidentCategory),
            "severity": enum_text(Severity),
            "status": enum_text(IncidentStatus),
        },
        names={
            "application_ids": application_names,
            "added_organisation_ids": organisation_names,
            "excluded_organisation_ids": organisation_names,
        },
        title=incident_titles,
        link=("smsi.incident_detail", "incident_id"),
    ),
    "SoaEntry": JournalType(
        _l("Mesure de la déclaration d'applicabilité"),
        fields=dict(soa.FIELD_LABELS),
        values={
            "status": enum_text(ImplementationStatus),
            "reasons": _reasons,
            "applicable": _applicable,
            "control_id": _control,
        },
        names={"owner_id": user_names},
        title=_entry_titles,
        link=("smsi.soa_list", None),
    ),
    "SoaVersion": JournalType(
        _l("Version approuvée de la déclaration d'applicabilité"),
        fields={
            "number": _l("Numéro de version"),
            "approved_by_name": _l("Approuvée par"),
            "comment": _l("Commentaire d'approbation"),
            "rate": _l("Taux de mise en œuvre (%)"),
        },
        title=_version_titles,
        link=("smsi.soa_version", "soa_version_id"),
    ),
    "Soa": JournalType(
        _l("Déclaration d'applicabilité"),
        fields={"format": _l("Format"), "rows": _l("Mesures exportées")},
        link=("smsi.soa_list", None),
    ),
}
