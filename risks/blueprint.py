"""The risks blueprint: its URL rules are declared by the views, which import it from here."""

from flask import Blueprint

from core.security import login_and_org_required

bp = Blueprint("risks", __name__, url_prefix="/risks")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies
