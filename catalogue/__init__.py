"""The syndicate's application catalogue: applications and members' subscriptions."""

from catalogue import demo, views  # noqa: F401 — the views use ``bp``
from catalogue.api import api_bp
from catalogue.blueprint import bp
from catalogue.labels import ACTION_LABELS, JOURNAL_TYPES
from core.domains import Domain, Widget
from core.security import Permission

DOMAIN = Domain(
    name="catalogue",
    blueprint=bp,
    api=api_bp,
    order=20,
    nav="catalogue/_nav.html",
    action_labels=ACTION_LABELS,
    object_types={"Application": Permission.CATALOGUE_VIEW, "Subscription": Permission.CATALOGUE_VIEW},
    journal_types=JOURNAL_TYPES,
    demo=demo.load_catalogue,
    widgets=(
        Widget(
            "catalogue.catalogue", "catalogue/_widget_catalogue.html", Permission.CATALOGUE_VIEW, order=20
        ),
    ),
)
