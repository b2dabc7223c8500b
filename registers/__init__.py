"""Registre RGPD: processing activities (Art. 30.1) and their models, the processor register
(Art. 30.2), DPIA screening, rights requests, breaches, the mutualised DPO's portfolio."""

from flask import Blueprint, Flask

from core.security import login_and_org_required

bp = Blueprint("registers", __name__, url_prefix="/registers")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from . import models  # noqa: F401, PLC0415
    from .services import inheritance  # noqa: F401, PLC0415 — connects the catalogue signals


from . import views  # noqa: E402, F401
