"""Audits: audit campaigns over a scope of organisations and frameworks, their findings on the
AFNOR scale closed only when every corrective action is verified effective, re-checks by follow-up
audits, and auditors invited to one audit (audits.access)."""

from audits import access, demo, figures, labels, models, views  # noqa: F401 — the models, the views adding their routes to ``bp``
from audits.api import api_bp
from audits.blueprint import bp
from audits.evidence import PART as EVIDENCE
from audits.labels import ACTION_LABELS, JOURNAL_TYPES
from audits.packs import PART as PACKS
from audits.widgets import WIDGETS
from core.domains import Domain
from core.security import Permission, Role

DOMAIN = Domain(
    name="audits",
    blueprint=bp,
    order=80,
    nav="audits/_nav.html",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(("Audit", "Finding", "AuditorAccess"), Permission.AUDITS_VIEW),
    journal_types=JOURNAL_TYPES,
    permissions={Role.RSSI: (Permission.AUDIT_FINDINGS_EDIT,)},
    setup=access.setup,
    layout_facts=access.layout_facts,
    widgets=WIDGETS,
    yearly_figures=figures.yearly,
    demo=demo.load_audits,
    api=api_bp,
    parts=(EVIDENCE, PACKS),  # the evidence store and the signed packs (core.domains.DomainPart)
)
