"""Risks (ISO/IEC 27005, EBIOS Risk Manager, the ANSSI parcours): the risk register — risks on
supporting assets rated on the organisation's scale, their treatment linked to the SMSI's corrective
actions and to Annex A controls, the heat maps before and after treatment. EBIOS RM studies (five
workshops feeding the register), the ANSSI parcours de cybersécurité (its measures being SMSI actions,
its money), the hygiene self-assessment."""

from core.domains import Domain
from core.security import Permission, Role
from risks import demo, figures, models, views  # noqa: F401 — the models, the views adding their routes to ``bp``
from risks.blueprint import bp
from risks.labels import ACTION_LABELS, JOURNAL_TYPES
from risks.panels import setup as setup_panels
from risks.services.ebios import KINDS as EBIOS_KINDS
from risks.widgets import WIDGETS

DOMAIN = Domain(
    name="risks",
    blueprint=bp,
    order=70,
    nav="risks/_nav.html",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(
        (
            "Risk",
            "RiskScale",
            "HygieneAssessment",
            "Parcours",
            "ParcoursPhase",
            "Subsidy",
            "ParcoursMeasure",
            "EbiosStudy",
            *(k.model.__name__ for k in EBIOS_KINDS.values()),
        ),
        Permission.RISKS_VIEW,
    ),
    # The referent fills his organisation's hygiene self-assessment, as the RSSI does.
    permissions={role: {Permission.HYGIENE_ASSESS} for role in (Role.RSSI, Role.REFERENT)},
    journal_types=JOURNAL_TYPES,
    demo=demo.load_demo,
    widgets=WIDGETS,
    yearly_figures=figures.yearly,
    setup=setup_panels,  # the Statement of Applicability's panel and counts (risks.panels)
)
