"""The catalogue blueprint: its URL rules are declared by the views, which import it from here."""

from flask import Blueprint

from core.security import login_and_org_required

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies
