"""Registre RGPD: processing activities (Art. 30.1) and their models, the processor register
(Art. 30.2), DPIA screening, rights requests, breaches, the mutualised DPO's portfolio."""

from flask import Blueprint, Flask, g

from core.security import login_and_org_required

bp = Blueprint("registers", __name__, url_prefix="/registers")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def register(app: Flask) -> None:
    from core import journal  # noqa: PLC0415
    from core.security import Permission  # noqa: PLC0415

    from . import demo, models  # noqa: F401, PLC0415 — demo: registers the demo loader
    from .labels import ACTION_LABELS  # noqa: PLC0415
    from .services import activities, inheritance  # noqa: F401, PLC0415 — inheritance: catalogue signals

    journal.ACTION_LABELS.update(ACTION_LABELS)
    # The journal shows what changed in the register only to its readers (not to the platform admin).
    journal.register_object_types(
        dict.fromkeys(
            ("ProcessingActivity", "RightsRequest", "Breach", "RegisterPublication", "Register"),
            Permission.REGISTERS_VIEW,
        )
    )
    app.jinja_env.filters["field_label"] = lambda name: str(activities.FIELD_LABELS.get(name, name))
    app.jinja_env.filters["action_label"] = journal.action_label
    app.jinja_env.globals["serves_as_dpo"] = _serves_as_dpo


def _serves_as_dpo() -> bool:
    """Whether the user is DPO of at least one organisation (the portfolio link)."""
    from flask_login import current_user  # noqa: PLC0415

    if not current_user.is_authenticated:
        return False
    from sqlalchemy import select  # noqa: PLC0415

    from core.extensions import db  # noqa: PLC0415
    from registers.services.portfolio import served_ids  # noqa: PLC0415

    if "_egide_serves_as_dpo" not in g:
        g._egide_serves_as_dpo = db.session.scalar(select(served_ids(current_user).exists())) or False
    return bool(g._egide_serves_as_dpo)


from . import views  # noqa: E402, F401
