from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from core.security import Permission, require
from core.views import render_coming_soon
from risks.blueprint import bp

TITLE = _l("Risques")
DESCRIPTION = _l(
    "Appréciation des risques (ISO 27005, EBIOS Risk Manager) et plans du parcours de cybersécurité "
    "de l'ANSSI."
)


@bp.route("/")
@require(Permission.RISKS_VIEW)
def index() -> Any:
    return render_coming_soon(TITLE, DESCRIPTION)
