"""Registre RGPD: processing activities (Art. 30.1) and their models, the processor register
(Art. 30.2), DPIA screening, rights requests, breaches, the mutualised DPO's portfolio."""

from flask import Flask
from flask_login import current_user

from core.domains import Domain
from core.security import Permission, Role
from registers import cli, demo, display, documents, figures, jobs, models, reference, views  # noqa: F401 — routes, commands, documents, demo, jobs
from registers.api import api_bp
from registers.blueprint import bp
from registers.labels import ACTION_LABELS, JOURNAL_TYPES
from registers.services import activities, inheritance, portfolio  # noqa: F401 — inheritance: catalogue signals
from registers.widgets import WIDGETS


def setup(app: Flask) -> None:
    app.jinja_env.filters["field_label"] = lambda name: str(activities.FIELD_LABELS.get(name, name))
    app.jinja_env.filters["legal_basis"] = lambda basis: reference.legal_basis_label(basis) or "—"
    app.jinja_env.globals["serves_as_dpo"] = serves_as_dpo


def serves_as_dpo() -> bool:
    """Whether the user is DPO of at least one organisation (the portfolio link): read from the
    user's facts, which every page loads in one query (accounts.models.User.facts)."""
    return bool(current_user.is_authenticated and Role.DPO in current_user.facts.roles_anywhere)


def layout_facts() -> dict[str, bool]:
    """What the menu shows of the registers besides the permissions: the portfolio link."""
    return {"serves_as_dpo": serves_as_dpo()}


DOMAIN = Domain(
    name="registers",
    blueprint=bp,
    api=api_bp,
    order=30,
    nav="registers/_nav.html",
    action_labels=ACTION_LABELS,
    # The journal shows what changed in the register only to its readers (not to the platform admin).
    object_types=dict.fromkeys(
        (
            "ProcessingActivity",
            "RightsRequest",
            "Breach",
            "RegisterPublication",
            "Register",
            "RegisterImport",
            "ImportPreset",
            "Processor",
            "ProcessorRegisterSignoff",
        ),
        Permission.REGISTERS_VIEW,
    ),
    # Recording a breach: the DPO and the referent, and the RSSI who finds it while handling an
    # incident (editing it, deciding the notification, stays with the register's editors).
    permissions={role: {Permission.BREACHES_RECORD} for role in (Role.DPO, Role.REFERENT, Role.RSSI)},
    journal_types=JOURNAL_TYPES,
    demo=demo.load_registers,
    layout_facts=layout_facts,
    widgets=WIDGETS,
    digest=jobs.digest,
    yearly_figures=figures.yearly,
    setup=setup,
)
