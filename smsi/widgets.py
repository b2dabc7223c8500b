"""The SMSI's cards on the home page (``smsi.DOMAIN.widgets``).

* ``smsi.incidents`` — whoever may edit the SMSI (the RSSI): open incidents by severity, those with
  personal data (their breaches run in the members' registers), the latest detected with their
  clocks: the nearest deadline still running (their breaches' 72 hours, the NIS2 steps) and where
  their breaches stand. Every figure links to the filtered list or to the incident.
* ``smsi.actions`` — the RSSI, and whoever owns open corrective actions: his actions (open, overdue,
  due this week).
* ``smsi.review`` — the RSSI (SMSI_EDIT): this week's review (minutes recorded or not, the last one
  held) and what it will go through: the organisation's actions overdue and due within the week.
* ``smsi.soa`` — the RSSI (SMSI_EDIT): how far the Statement of Applicability is implemented, and
  its last approved version; each figure links to the statement.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from core.domains import Widget
from core.security import Permission, can
from core.tenancy import current_org
from smsi.services import actions, dashboard, incidents, soa


def incidents_context() -> dict[str, Any]:
    return {"watch": incidents.incident_watch(current_org._get_current_object())}


def _owns_actions_or_edits() -> bool:
    """The card is for the RSSI, and for anyone else only while he owns open actions."""
    return can(Permission.SMSI_EDIT) or actions.my_actions(current_org.id, current_user.id).open > 0


def actions_context() -> dict[str, Any]:
    return {"mine": actions.my_actions(current_org.id, current_user.id)}


def review_context() -> dict[str, Any]:
    return {"review": dashboard.review_status(current_org.id), "actions": dashboard.action_figures()}


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
    Widget(
        "smsi.actions",
        "smsi/_widget_actions.html",
        Permission.SMSI_VIEW,
        context=actions_context,
        visible=_owns_actions_or_edits,
        order=3,
    ),
    Widget("smsi.review", "smsi/_widget_review.html", Permission.SMSI_EDIT, context=review_context, order=4),
    Widget("smsi.soa", "smsi/_widget_soa.html", Permission.SMSI_EDIT, context=soa_context, order=5),
)
