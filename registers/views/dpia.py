"""Routes: DPIA (AIPD) screening of a fiche, and its export to the CNIL's PIA software."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.forms import handle_form
from core.security import Permission, require
from core.tenancy import get_scoped_or_404
from registers.blueprint import bp
from registers.forms.dpia import DpiaForm, screening_data
from registers.models import ProcessingActivity
from registers.services import dpia

TEMPLATE = "registers/dpia_form.html"


def _context(activity: ProcessingActivity) -> dict[str, Any]:
    return {
        "activity": activity,
        "screening": dpia.screening(activity),
        "fiche_url": url_for("registers.activity_detail", activity_id=activity.id),
    }


@bp.get("/activities/<int:activity_id>/dpia")
@require(Permission.REGISTERS_VIEW)
def activity_dpia(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return render_template(TEMPLATE, form=DpiaForm(obj=activity), **_context(activity))


@bp.post("/activities/<int:activity_id>/dpia")
@require(Permission.REGISTERS_EDIT)
def activity_dpia_save(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return handle_form(
        DpiaForm(obj=activity),
        lambda data: dpia.save_screening(activity, current_user, screening_data(data)),
        template=TEMPLATE,
        success_message=_("Analyse préalable de l'AIPD enregistrée."),
        success_url=lambda a: url_for("registers.activity_dpia", activity_id=a.id),
        **_context(activity),
    )


@bp.post("/activities/<int:activity_id>/pia-export")
@require(Permission.REGISTERS_VIEW)
def activity_pia_export(activity_id: int) -> Any:
    """The PIA file, as a download. A POST action (a button with its CSRF token): handing it out is
    journalled, and a GET never writes."""
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    content, filename = dpia.export_pia(activity, current_user)
    db.session.commit()
    return Response(
        content,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
