"""The risks domain's cards on the home page (``risks.DOMAIN.widgets``).

* ``risks.register`` — whoever may edit the risks (the RSSI): risks above the acceptance threshold
  that nobody accepted, risks past their review date, risks whose treatment is not decided; each
  figure links to the list filtered on it.
* ``risks.parcours`` — the RSSI, when the organisation has a parcours de cybersécurité: its late
  measures and the next subsidy they endanger, linking to the late measures.
"""

from __future__ import annotations

from typing import Any

from core.domains import Widget
from core.security import Permission
from core.tenancy import current_org
from risks.documents.parcours import euros
from risks.services import hygiene, parcours, risks


def register_context() -> dict[str, Any]:
    return {"figures": risks.figures(current_org.id)}


def hygiene_context() -> dict[str, Any]:
    return {"missing": hygiene.to_complete(current_org.id)}


def _hygiene_to_do() -> bool:
    """The card shows while the organisation's self-assessment is missing or incomplete."""
    missing = hygiene.to_complete(current_org.id)
    return missing is None or missing > 0


def parcours_context() -> dict[str, Any]:
    return {"figures": parcours.figures(current_org.id), "euros": euros}


def _has_parcours() -> bool:
    """The card shows when the organisation has a parcours de cybersécurité."""
    return parcours.has_parcours(current_org.id)


WIDGETS = (
    Widget(
        "risks.register",
        "risks/_widget_register.html",
        Permission.RISKS_EDIT,
        context=register_context,
        order=6,
    ),
    Widget(
        "risks.hygiene",
        "risks/_widget_hygiene.html",
        Permission.HYGIENE_ASSESS,
        context=hygiene_context,
        visible=_hygiene_to_do,
        order=7,
    ),
    Widget(
        "risks.parcours",
        "risks/_widget_parcours.html",
        Permission.RISKS_EDIT,
        context=parcours_context,
        visible=_has_parcours,
        order=8,
    ),
)
