"""Audits: not built yet — the blueprint and its entry page exist so navigation is complete."""

from audits import views  # noqa: F401 — the views add their routes to ``bp``
from audits.blueprint import bp
from audits.evidence import PART as EVIDENCE
from audits.packs import PART as PACKS
from core.domains import Domain

DOMAIN = Domain(name="audits", blueprint=bp, order=80, nav="audits/_nav.html", parts=(EVIDENCE, PACKS))
