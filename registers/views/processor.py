"""The syndicate's processor register (Art. 30.2): a page generated from catalogue and subscriptions."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from core.params import page_arg
from core.security import Permission, require
from core.tenancy import current_org, syndicate_only
from registers.blueprint import bp
from registers.services.processor import processor_register

PER_PAGE = 25


@bp.route("/processor/", endpoint="processor_register")
@require(Permission.REGISTERS_VIEW)
@syndicate_only
def processor_register_view() -> Any:
    q = request.args.get("q", "").strip()[:100]
    page = page_arg()
    register = processor_register(
        current_org._get_current_object(), q=q, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    pages = max(1, -(-register.total // PER_PAGE))
    return render_template(
        "registers/processor_register.html", register=register, q=q, page=page, pages=pages
    )
