"""How the journal reads the SMSI's entries (installed by the Domain record): actions and object
types, fields and values as on the forms."""

from typing import Any

from flask_babel import lazy_gettext as _l

from accounts.services import organisation_names
from catalogue.services import application_names
from core.forms import enum_text, form_labels
from core.journal import JournalType
from smsi.forms.incidents import IncidentForm
from smsi.models import IncidentCategory, IncidentStatus, Severity
from smsi.services.incidents import incident_titles

ACTION_LABELS: dict[str, Any] = {
    "incident.create": _l("Incident de sécurité enregistré"),
    "incident.update": _l("Incident de sécurité modifié"),
    "incident.event": _l("Entrée ajoutée à la chronologie d'un incident"),
    "incident.notification": _l("Notification externe d'un incident enregistrée"),
}

JOURNAL_TYPES: dict[str, JournalType] = {
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
}
