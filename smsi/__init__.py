"""SMSI (ISO/IEC 27001 ISMS): the incident log — with the breaches it opens in the members'
registers — and, next, corrective actions, the weekly review and the Statement of Applicability."""

from core.domains import Domain
from core.security import Permission
from smsi import demo, models, views  # noqa: F401 — the models, the demo, the views adding their routes to ``bp``
from smsi.blueprint import bp
from smsi.labels import ACTION_LABELS, JOURNAL_TYPES
from smsi.widgets import WIDGETS

DOMAIN = Domain(
    name="smsi",
    blueprint=bp,
    order=60,
    nav="smsi/_nav.html",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(("Incident",), Permission.SMSI_VIEW),
    journal_types=JOURNAL_TYPES,
    demo=demo.load_smsi,
    widgets=WIDGETS,
)
