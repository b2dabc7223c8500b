"""Readable journal labels for the catalogue's actions (installed by the Domain record)."""

from typing import Any

from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, Any] = {
    "application.create": _l("Application ajoutée au catalogue"),
    "application.update": _l("Application modifiée"),
    "subscription.create": _l("Abonnement ajouté"),
    "subscription.end": _l("Fin d'abonnement"),
}
