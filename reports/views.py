from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from core.security import Permission, require
from core.views import render_coming_soon

from . import bp

TITLE = _l("Rapports")
DESCRIPTION = _l(
    "Rapports PDF datés et paginés : extrait de registre, déclaration d'applicabilité, registre des "
    "risques, bilan annuel."
)


@bp.route("/")
@require(Permission.REPORTS_VIEW)
def index() -> Any:
    return render_coming_soon(TITLE, DESCRIPTION)
