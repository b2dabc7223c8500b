"""How the journal reads the catalogue's entries (installed by the Domain record): the actions, and
the applications and subscriptions with their fields as on the forms."""

from typing import Any

from flask_babel import lazy_gettext as _l

from accounts.services.organisations import organisation_names
from catalogue.forms.applications import ApplicationForm, SubscriptionEndForm, SubscriptionForm
from catalogue.models import AppDomain, Criticality, Hosting
from catalogue.services import applications
from core.forms import enum_text, form_labels
from core.journal import JournalType

ACTION_LABELS: dict[str, Any] = {
    "application.create": _l("Application ajoutée au catalogue"),
    "application.update": _l("Application modifiée"),
    "subscription.create": _l("Abonnement ajouté"),
    "subscription.end": _l("Fin d'abonnement"),
}

JOURNAL_TYPES: dict[str, JournalType] = {
    "Application": JournalType(
        _l("Application"),
        fields=form_labels(ApplicationForm),
        values={
            "domain": enum_text(AppDomain),
            "hosting": enum_text(Hosting),
            "criticality": enum_text(Criticality),
        },
        title=applications.application_names,
        link=("catalogue.application_detail", "application_id"),
    ),
    "Subscription": JournalType(
        _l("Abonnement"),
        fields=form_labels(SubscriptionForm)
        | form_labels(SubscriptionEndForm)
        | {"application_id": _l("Application"), "is_inferred": _l("Déduit des fiches du registre")},
        names={"application_id": applications.application_names, "organisation_id": organisation_names},
        title=applications.subscription_titles,
    ),
}
