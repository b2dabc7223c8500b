"""Registre RGPD: not built yet — the blueprint and its entry page exist so navigation is complete."""

from flask import Blueprint

from core.security import login_and_org_required

bp = Blueprint("registers", __name__, url_prefix="/registers")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

from . import views  # noqa: E402, F401
