"""The syndicate's application catalogue: applications and members' subscriptions."""

from flask import Blueprint, Flask

from core.security import login_and_org_required

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from . import demo  # noqa: F401, PLC0415 — registers the demo loader


from . import views  # noqa: E402, F401
