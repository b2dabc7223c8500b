"""Risques: not built yet — the blueprint and its entry page exist so navigation is complete."""

from core.domains import Domain
from risks import views  # noqa: F401 — the views add their routes to ``bp``
from risks.blueprint import bp

DOMAIN = Domain(name="risks", blueprint=bp, order=70, nav="risks/_nav.html")
