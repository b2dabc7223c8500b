"""The syndicate's application catalogue: applications and members' subscriptions."""

from flask import Blueprint

from core.domains import Domain, Widget
from core.security import Permission, login_and_org_required

bp = Blueprint("catalogue", __name__, url_prefix="/catalogue")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies

from . import demo, views  # noqa: E402, F401 — the views use ``bp``
from .labels import ACTION_LABELS  # noqa: E402

DOMAIN = Domain(
    name="catalogue",
    blueprint=bp,
    order=20,
    nav="catalogue/_nav.html",
    action_labels=ACTION_LABELS,
    object_types={"Application": Permission.CATALOGUE_VIEW, "Subscription": Permission.CATALOGUE_VIEW},
    demo=demo.load_catalogue,
    widgets=(
        Widget(
            "catalogue.catalogue", "catalogue/_widget_catalogue.html", Permission.CATALOGUE_VIEW, order=20
        ),
    ),
)
