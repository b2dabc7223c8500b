"""Audits: not built yet — the blueprint and its entry page exist so navigation is complete."""

from flask import Blueprint

from core.domains import Domain
from core.security import login_and_org_required

bp = Blueprint("audits", __name__, url_prefix="/audits")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

from . import views  # noqa: E402, F401

DOMAIN = Domain(name="audits", blueprint=bp, order=80, nav="audits/_nav.html")
