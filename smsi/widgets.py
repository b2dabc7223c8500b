"""The SMSI's cards on the home page (``smsi.DOMAIN.widgets``).

* ``smsi.soa`` — the RSSI (SMSI_EDIT): how far the Statement of Applicability is implemented, and
  its last approved version; each figure links to the statement.
"""

from __future__ import annotations

from typing import Any

from core.domains import Widget
from core.security import Permission
from core.tenancy import current_org
from smsi.services import soa


def soa_context() -> dict[str, Any]:
    return {"figures": soa.home_figures(current_org.id)}


WIDGETS = (Widget("smsi.soa", "smsi/_widget_soa.html", Permission.SMSI_EDIT, context=soa_context, order=5),)
