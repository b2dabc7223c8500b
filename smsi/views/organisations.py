"""Route: corrective actions by organisation — for whoever follows the SMSI of several organisations
(a mutualised RSSI, a referent of several members): each one's open, overdue and due actions, each
figure opening that organisation's filtered list."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from core.db import today
from core.security import Permission, require
from smsi.blueprint import bp
from smsi.services import organisations as svc


@bp.route("/actions/organisations")
@require(Permission.SMSI_VIEW)
def action_organisations() -> Any:
    sort = request.args.get("sort", "name")
    sort = sort if sort in svc.SORTS else "name"
    return render_template(
        "smsi/action_organisations.html",
        page=svc.by_organisation(current_user.id, today(), sort),
        sort=sort,
    )
