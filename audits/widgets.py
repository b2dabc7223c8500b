"""The audits' cards on the home page (``audits.DOMAIN.widgets``).

* ``audits.findings`` — whoever edits the audits (the RSSI): open findings by level, nonconformities
  first, each linking to the list of findings of that level.
* ``audits.auditor`` — an invited auditor: their audits and the days left on their access.
"""

from __future__ import annotations

from typing import Any

from audits import access
from audits.services import audits as svc
from core.db import today
from core.domains import Widget
from core.security import Permission


def findings_context() -> dict[str, Any]:
    return {"by_level": svc.open_findings_by_level()}


def auditor_context() -> dict[str, Any]:
    return {"accesses": access.my_current_accesses(), "today": today()}


WIDGETS = (
    Widget(
        "audits.findings",
        "audits/_widget_findings.html",
        Permission.AUDITS_EDIT,
        context=findings_context,
        order=6,
    ),
    Widget(
        "audits.auditor",
        "audits/_widget_auditor.html",
        Permission.AUDITS_VIEW,
        context=auditor_context,
        visible=access.is_invited_auditor,
        order=0,
    ),
)
