"""What the risks domain shows on the Statement of Applicability's pages, the SMSI importing nothing
of it (core.panels, and two Jinja helpers):

* the page of a control (``object_panels("SoaControl", control)``, the Annex A control itself, so
  that a control nobody has assessed yet shows its risks too — which is when they help choose
  "result of risk assessment"): the risks citing the control, the actions answering it;
* the statement's list: how many risks cite each control and how many actions answer it
  (``soa_link_counts()``, one query for the page).

Both behind the permission to read the risks."""

from __future__ import annotations

from flask import Flask

from core import panels
from core.security import Permission, can
from risks.services import controls

PANEL = panels.Panel("risks.soa_control", "risks/_soa_control_panel.html", Permission.RISKS_VIEW)


def soa_link_counts() -> dict[str, controls.LinkCounts]:
    """The counts of the statement's list, for whoever may read the risks (nothing otherwise)."""
    return controls.link_counts() if can(Permission.RISKS_VIEW) else {}


def setup(app: Flask) -> None:
    panels.install(app)
    panels.register_panel(("SoaControl",), PANEL)
    app.jinja_env.globals["soa_control_links"] = controls.control_links
    app.jinja_env.globals["soa_link_counts"] = soa_link_counts
