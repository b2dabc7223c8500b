"""Registre RGPD: processing activities (Art. 30.1) and their models, the processor register
(Art. 30.2), DPIA screening, rights requests, breaches, the mutualised DPO's portfolio."""

from flask import Flask, g
from flask_login import current_user
from sqlalchemy import select

from core import journal
from core.domains import Domain
from core.extensions import db
from core.security import Permission
from core.tenancy import UNSCOPED
from registers import demo, documents, models, views  # noqa: F401 — routes, kinds of documents, demo
from registers.blueprint import bp
from registers.labels import ACTION_LABELS
from registers.services import activities, inheritance, portfolio  # noqa: F401 — inheritance: catalogue signals


def setup(app: Flask) -> None:
    app.jinja_env.filters["field_label"] = lambda name: str(activities.FIELD_LABELS.get(name, name))
    app.jinja_env.filters["action_label"] = journal.action_label
    app.jinja_env.globals["serves_as_dpo"] = serves_as_dpo


def serves_as_dpo() -> bool:
    """Whether the user is DPO of at least one organisation (the portfolio link)."""
    if not current_user.is_authenticated:
        return False
    if "_egide_serves_as_dpo" not in g:
        # unscoped: memberships only (the safety net would add every tenant model's criteria)
        served = select(portfolio.served_ids(current_user).exists()).execution_options(**UNSCOPED)
        g._egide_serves_as_dpo = db.session.scalar(served) or False
    return bool(g._egide_serves_as_dpo)


DOMAIN = Domain(
    name="registers",
    blueprint=bp,
    order=30,
    nav="registers/_nav.html",
    action_labels=ACTION_LABELS,
    # The journal shows what changed in the register only to its readers (not to the platform admin).
    object_types=dict.fromkeys(
        ("ProcessingActivity", "RightsRequest", "Breach", "RegisterPublication", "Register"),
        Permission.REGISTERS_VIEW,
    ),
    demo=demo.load_registers,
    setup=setup,
)
