"""SMSI: not built yet — the blueprint and its entry page exist so navigation is complete."""

from flask import Blueprint

from core.domains import Domain
from core.security import login_and_org_required

bp = Blueprint("smsi", __name__, url_prefix="/smsi")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

from . import views  # noqa: E402, F401

DOMAIN = Domain(name="smsi", blueprint=bp, order=60, nav="smsi/_nav.html")
