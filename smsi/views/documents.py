"""Routes: generate the SMSI's incident log and action plan (a PDF of one year), offered on the
shared documents page; listed, shown and downloaded by ``reports``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.security import Permission, require
from core.tenancy import current_org
from reports import views as report_views
from smsi.blueprint import bp
from smsi.documents import log as log_document
from smsi.forms.documents import LogDocumentForm


@bp.post("/log/pdf")
@require(Permission.SMSI_VIEW)
def log_pdf() -> Any:
    """The year's incident log and action plan as a PDF, stored among the documents and journalled."""
    form = LogDocumentForm()
    if not form.validate_on_submit():
        flash(_("Année non reconnue : le journal des incidents n'a pas été généré."), "danger")
        return redirect(url_for("reports.index"))
    return report_views.generated(
        log_document.generate_log(
            current_org._get_current_object(), current_user, log_document.year_period(form.year.data)
        )
    )
