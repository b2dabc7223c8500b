"""SMSI (ISO/IEC 27001 ISMS): the incident log — with the breaches it opens in the members'
registers and the external and NIS2 notifications —, corrective and preventive actions closed only
when proven effective, the weekly review (a week's agenda computed from the log, its minutes, the
actions its decisions created, printable as PDF), the incident log and action plan as a PDF, the
Statement of Applicability (Annex A controls, approved versions, PDF and XLSX), the dashboard and
home-page cards, and the JSON API of incidents and actions."""

from typing import Any

from core.domains import Domain
from core.security import Permission
from smsi import demo, demo_soa, figures, models, views  # noqa: F401 — the models, the demo, the views adding their routes to ``bp``
from smsi.api import api_bp
from smsi.blueprint import bp
from smsi.labels import ACTION_LABELS, JOURNAL_TYPES
from smsi.widgets import WIDGETS


def load_demo(context: dict[str, Any]) -> None:
    demo_soa.load_soa(context)
    demo.load_smsi(context)


DOMAIN = Domain(
    name="smsi",
    blueprint=bp,
    order=60,
    nav="smsi/_nav.html",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(
        ("Incident", "Action", "WeeklyReview", "SoaEntry", "SoaVersion", "Soa"), Permission.SMSI_VIEW
    ),
    journal_types=JOURNAL_TYPES,
    demo=load_demo,
    widgets=WIDGETS,
    yearly_figures=figures.yearly,
    api=api_bp,
)
