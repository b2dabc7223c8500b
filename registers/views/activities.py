from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from core.security import Permission, require
from core.views import render_coming_soon

from registers import bp

TITLE = _l("Registre RGPD")
DESCRIPTION = _l(
    "Registre des activités de traitement (art. 30 du RGPD) de chaque organisation, fiches héritées "
    "des applications hébergées par le syndicat, registre de sous-traitant, analyses d'impact (AIPD),"
    " demandes d'exercice des droits et violations de données."
)


@bp.route("/")
@require(Permission.REGISTERS_VIEW)
def index() -> Any:
    return render_coming_soon(TITLE, DESCRIPTION)
