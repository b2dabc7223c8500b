"""The evidence store's card on the home page: evidence expired and expiring within 30 days, each
figure a link to the filtered list (one aggregate query)."""

from __future__ import annotations

from typing import Any

from core.domains import Widget
from core.security import Permission, can
from core.tenancy import current_org

from . import services


def context() -> dict[str, Any]:
    return {"figures": services.home_figures(current_org.id), "days": services.EXPIRING_DAYS}


def _for_the_rssi() -> bool:
    return can(Permission.AUDITS_EDIT)  # the RSSI's card (a DPO uploads evidence, the RSSI follows them)


WIDGETS = (
    Widget(
        "audits.evidence",
        "audits/evidence/_widget.html",
        Permission.EVIDENCE_EDIT,
        context=context,
        visible=_for_the_rssi,
        order=40,
    ),
)
