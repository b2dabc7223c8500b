"""The registers' cards on the home page (``registers.DOMAIN.widgets``): who sees which, and what
each card computes (registers.services.home). Every figure links to the list of exactly its items.

* ``registers.breaches`` — whoever may record a breach (DPO, referent, RSSI): open breaches and the
  72 h clocks of those awaiting the CNIL decision; a DPO's span the organisations he serves. The
  SMSI's incidents card will sit next to it (its own Widget, in its own Domain record).
* ``registers.dpo`` — the DPO's register work over the organisations he serves.
* ``registers.referent`` — a referent's register work in his organisation.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from core.domains import Widget
from core.security import Permission, can
from core.tenancy import current_org
from registers.services import home


def _as_dpo() -> bool:
    return can(Permission.REGISTERS_VALIDATE)


def breaches_context() -> dict[str, Any]:
    user = current_user._get_current_object() if _as_dpo() else None
    return {"watch": home.breach_figures(user, current_org.id), "across": user is not None}


def dpo_context() -> dict[str, Any]:
    return {"figures": home.dpo_figures(current_user._get_current_object())}


def referent_context() -> dict[str, Any]:
    return {"figures": home.referent_figures(current_org.id, current_user.id)}


def _not_dpo() -> bool:
    return not _as_dpo()


WIDGETS = (
    Widget(
        "registers.breaches",
        "registers/_widget_breaches.html",
        Permission.BREACHES_RECORD,
        context=breaches_context,
        order=1,
    ),
    Widget(
        "registers.dpo",
        "registers/_widget_dpo.html",
        Permission.REGISTERS_VALIDATE,
        context=dpo_context,
        order=2,
    ),
    Widget(
        "registers.referent",
        "registers/_widget_referent.html",
        Permission.REGISTERS_EDIT,
        context=referent_context,
        visible=_not_dpo,
        order=2,
    ),
)
