from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from audits.blueprint import bp
from core.security import Permission, require
from core.views import render_coming_soon

TITLE = _l("Audits")
DESCRIPTION = _l(
    "Campagnes d'audit, constats (points forts, pistes de progrès, non-conformités) et dossiers de "
    "preuves vérifiables par les auditeurs."
)


@bp.route("/")
@require(Permission.AUDITS_VIEW)
def index() -> Any:
    return render_coming_soon(TITLE, DESCRIPTION)
