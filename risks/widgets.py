"""The risks domain's cards on the home page (``risks.DOMAIN.widgets``).

* ``risks.register`` — whoever may edit the risks (the RSSI): risks above the acceptance threshold
  that nobody accepted, risks past their review date, risks whose treatment is not decided; each
  figure links to the list filtered on it.
"""

from __future__ import annotations

from typing import Any

from core.domains import Widget
from core.security import Permission
from core.tenancy import current_org
from risks.services import risks


def register_context() -> dict[str, Any]:
    return {"figures": risks.figures(current_org.id)}


WIDGETS = (
    Widget(
        "risks.register",
        "risks/_widget_register.html",
        Permission.RISKS_EDIT,
        context=register_context,
        order=6,
    ),
)
