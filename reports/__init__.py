"""Rapports: PDF documents built with reportlab from plain data, kept with their SHA-256."""

from flask import Blueprint, Flask

from core.security import login_and_org_required

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from . import models  # noqa: F401, PLC0415


from . import views  # noqa: E402, F401
