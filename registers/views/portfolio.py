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
    only = request.args.get("only", "")
    only = only if only in service.ONLY else ""
    result = service.portfolio(current_user, sort=sort, q=q, only=only, page=page_arg())
    return render_template(
        "registers/portfolio.html", portfolio=result, sort=sort, q=q, only=only, sorts=service.SORTS
    )
