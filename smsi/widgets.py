"""The SMSI's cards on the home page (``smsi.DOMAIN.widgets``).

* ``smsi.incidents`` — whoever may edit the SMSI (the RSSI): open incidents by severity, those with
  personal data (their breaches run in the members' registers), the latest detected.
* ``smsi.soa`` — the RSSI (SMSI_EDIT): how far the Statement of Applicability is implemented, and
  its last approved version; each figure links to the statement.
"""

from __future__ import annotations

from typing import Any

from core.domains import Widget
from core.security import Permission
from core.tenancy import current_org
from smsi.services import incidents, soa


def incidents_context() -> dict[str, Any]:
    return {"watch": incidents.incident_watch(current_org.id)}


def soa_context() -> dict[str, Any]:
    return {"figures": soa.home_figures(current_org.id)}


WIDGETS = (
    Widget(
        "smsi.incidents",
        "smsi/_widget_incidents.html",
        Permission.SMSI_EDIT,
        context=incidents_context,
        order=1,
    ),
    Widget("smsi.soa", "smsi/_widget_soa.html", Permission.SMSI_EDIT, context=soa_context, order=5),
)
