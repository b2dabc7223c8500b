"""Rapports: PDF documents built with reportlab from plain data, kept with their SHA-256."""

from flask import Blueprint, Flask

from core.security import login_and_org_required

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from core.journal import register_object_types  # noqa: PLC0415
    from core.security import Permission  # noqa: PLC0415

    from . import models  # noqa: F401, PLC0415

    # Every generated document is a register document so far, read under REGISTERS_VIEW
    # (registers/views/documents.py). SMSI or risk reports will need a rule by kind.
    register_object_types({"GeneratedReport": Permission.REGISTERS_VIEW})


from . import views  # noqa: E402, F401
