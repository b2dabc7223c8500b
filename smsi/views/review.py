"""Routes: the weekly SMSI review — the agenda of a week and its minutes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.params import date_arg
from core.security import Permission, require
from core.templating import label_tables
from core.tenancy import current_org
from reports import views as report_views
from smsi.blueprint import bp
from smsi.documents import review as review_document
from smsi.forms.review import MinutesForm
from smsi.forms.soa import ExportForm
from smsi.models import ActionStatus, IncidentStatus, Severity
from smsi.services import review as svc


def _week(value: date | None) -> date:
    return svc.monday_of(value or svc.local_today())


def _page(
    week_start: date, form: MinutesForm | None = None, status: int = 200, conflict: bool = False
) -> Any:
    org = current_org._get_current_object()
    stored = svc.minutes_of(org.id, week_start)
    if form is None:
        form = MinutesForm(formdata=None, obj=stored, week=week_start.isoformat())
        if stored is not None:
            form.version.data = stored.version
    return render_template(
        "smsi/review.html",
        agenda=svc.agenda(org, week_start, limit=svc.PAGE_LIMIT),
        stored=stored,
        form=form,
        previous=week_start - timedelta(days=7),
        following=week_start + timedelta(days=7),
        this_week=svc.monday_of(svc.local_today()),
        stale=conflict,
        export_form=ExportForm(),
        labels=label_tables(severity=Severity, incident_status=IncidentStatus, action_status=ActionStatus),
    ), status


@bp.route("/review/")
@require(Permission.SMSI_VIEW)
def review() -> Any:
    return _page(_week(date_arg("week")))[0]


@bp.post("/review/minutes")
@require(Permission.SMSI_EDIT)
def review_minutes() -> Any:
    form = MinutesForm()
    week_start = _week(date_arg("week", source=request.form))
    if form.validate_on_submit():
        try:
            svc.save_minutes(current_org._get_current_object(), current_user, week_start, form.data)
        except EditConflict:
            db.session.rollback()
            flash(
                _("Compte rendu enregistré entre-temps par quelqu'un : votre texte est conservé ci-dessous."),
                "warning",
            )
            return _page(week_start, form, 409, conflict=True)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Compte rendu enregistré."), "success")
            return redirect(url_for("smsi.review", week=week_start.isoformat()))
    flash(_("Le compte rendu n'a pas été enregistré : corrigez les champs signalés."), "danger")
    return _page(week_start, form, 422)


@bp.post("/review/pdf")
@require(Permission.SMSI_VIEW)
def review_pdf() -> Any:
    """The week's agenda and minutes as a PDF, stored among the documents and journalled."""
    if not ExportForm().validate_on_submit():
        abort(400)
    week_start = _week(date_arg("week", source=request.form))
    return report_views.generated(
        review_document.generate_review(current_org._get_current_object(), current_user, week_start)
    )
