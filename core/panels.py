"""Panels that a domain adds to another domain's object pages, without either importing the other.

A detail page includes one line, ``{{ object_panels("Action", action) }}``; a domain (or a part of
one) registers, at start-up, the partials to show on the pages of an object type
(:func:`register_panel`), each behind a permission. The evidence store, for instance, puts its
"Preuves" panel on the pages of SMSI actions, incidents, Statement of Applicability controls and
register fiches. Core knows the object types by name only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, render_template
from markupsafe import Markup

from core.security import can


@dataclass(frozen=True)
class Panel:
    key: str  # unique: "<domain>.<name>"
    template: str  # rendered with ``object_type`` and ``obj``
    permission: str | None = None
    visible: Callable[[str, Any], bool] | None = None
    order: int = 100


PANELS: dict[str, list[Panel]] = {}


def register_panel(object_types: tuple[str, ...] | list[str], panel: Panel) -> None:
    """Show ``panel`` on the pages of each of ``object_types`` (idempotent: one app per test)."""
    for object_type in object_types:
        known = PANELS.setdefault(object_type, [])
        if all(p.key != panel.key for p in known):
            known.append(panel)
            known.sort(key=lambda p: (p.order, p.key))


def object_panels(object_type: str, obj: Any) -> Markup:
    """The registered panels of ``object_type`` the current user may see, rendered for ``obj``
    (nothing for an object not saved yet)."""
    if obj is None or getattr(obj, "id", None) is None:
        return Markup("")
    parts = [
        render_template(panel.template, object_type=object_type, obj=obj)
        for panel in PANELS.get(object_type, ())
        if (panel.permission is None or can(panel.permission))
        and (panel.visible is None or panel.visible(object_type, obj))
    ]
    return Markup("\n".join(parts))  # noqa: S704 — rendered templates, autoescaped


def install(app: Flask) -> None:
    app.jinja_env.globals["object_panels"] = object_panels
