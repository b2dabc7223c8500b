"""SMSI: not built yet — the blueprint and its entry page exist so navigation is complete."""

from core.domains import Domain
from smsi import models, views  # noqa: F401 — the models, and the views adding their routes to ``bp``
from smsi.blueprint import bp

DOMAIN = Domain(name="smsi", blueprint=bp, order=60, nav="smsi/_nav.html")
