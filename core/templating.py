"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from flask_babel import format_date, format_datetime, get_locale

from core.security import Permission, can


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters changed (pagination, filters)."""
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def register(app: Flask) -> None:
    from core.tenancy import current_org, current_org_roles  # noqa: PLC0415

    app.jinja_env.globals.update(
        can=can,
        Permission=Permission,
        current_org=current_org,
        current_org_roles=current_org_roles,
        url_with=url_with,
        get_locale=get_locale,
    )
    app.jinja_env.filters["date"] = lambda v, fmt="medium": format_date(v, fmt) if v else "—"
    app.jinja_env.filters["datetime"] = lambda v, fmt="medium": format_datetime(v, fmt) if v else "—"
    app.jinja_env.filters["dash"] = lambda v: "—" if v in (None, "") else v
