"""Rapports: PDF documents built with reportlab from plain data, kept with their SHA-256."""

from flask import Blueprint

from core.domains import Domain
from core.security import Permission, login_and_org_required

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

from . import models, views  # noqa: E402, F401 — the views use ``bp``

DOMAIN = Domain(
    name="reports",
    blueprint=bp,
    order=90,
    nav="reports/_nav.html",
    # Every generated document is a register document so far, read under REGISTERS_VIEW
    # (registers/views/documents.py). SMSI or risk reports will need a rule by kind.
    object_types={"GeneratedReport": Permission.REGISTERS_VIEW},
)
