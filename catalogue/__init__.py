"""The syndicate's application catalogue: applications and members' subscriptions."""

from flask import Blueprint, Flask

from core.security import login_and_org_required

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from core.journal import register_object_types  # noqa: PLC0415
    from core.security import Permission  # noqa: PLC0415

    from . import demo  # noqa: F401, PLC0415 — registers the demo loader

    register_object_types(
        {"Application": Permission.CATALOGUE_VIEW, "Subscription": Permission.CATALOGUE_VIEW}
    )


from . import views  # noqa: E402, F401
