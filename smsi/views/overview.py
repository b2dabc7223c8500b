from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from core.security import Permission, require
from core.views import render_coming_soon
from smsi.blueprint import bp

TITLE = _l("SMSI")
DESCRIPTION = _l(
    "Système de management de la sécurité de l'information (ISO 27001) : journal des incidents, "
    "actions correctives, revue hebdomadaire et déclaration d'applicabilité."
)


@bp.route("/")
@require(Permission.SMSI_VIEW)
def index() -> Any:
    return render_coming_soon(TITLE, DESCRIPTION)
