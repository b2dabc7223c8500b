"""SMSI (ISO/IEC 27001 ISMS): the Statement of Applicability (Annex A controls, approved versions,
PDF and XLSX); the incident log comes next."""

from core.domains import Domain
from core.security import Permission
from smsi import demo_soa, models, views  # noqa: F401 — the models, and the views adding their routes to ``bp``
from smsi.blueprint import bp
from smsi.labels import ACTION_LABELS, JOURNAL_TYPES
from smsi.widgets import WIDGETS


def load_demo(context: dict) -> None:  # type: ignore[type-arg]
    demo_soa.load_soa(context)


DOMAIN = Domain(
    name="smsi",
    blueprint=bp,
    order=60,
    nav="smsi/_nav.html",
    action_labels=ACTION_LABELS,
    object_types=dict.fromkeys(("SoaEntry", "SoaVersion", "Soa"), Permission.SMSI_VIEW),
    journal_types=JOURNAL_TYPES,
    demo=load_demo,
    widgets=WIDGETS,
)
