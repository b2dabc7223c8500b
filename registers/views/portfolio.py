"""The mutualised DPO's portfolio: every organisation served, one row each, sortable."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from core.params import page_arg
from core.security import login_required
from registers.blueprint import bp
from registers.services import portfolio as service


@bp.route("/portfolio/")
@login_required  # the DPO's organisations, whichever is active: each row is checked by its membership
def portfolio() -> Any:
    sort = request.args.get("sort", "name")
    q = request.args.get("q", "").strip()[:100]
    result = service.portfolio(current_user, sort=sort, q=q, page=page_arg())
    return render_template("registers/portfolio.html", portfolio=result, sort=sort, q=q, sorts=service.SORTS)
