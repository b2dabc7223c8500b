"""The jobs page of the platform administrator: pending, running, failed, done; relaunch a failed one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.field_errors import FieldError
from core.jobs import services
from core.jobs.models import JobRun, JobStatus
from core.pagination import paginate
from core.security import Permission, require
from core.templating import options_of
from core.tenancy import get_scoped_or_404

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.route("/")
@require(Permission.USERS_MANAGE)
def job_list() -> Any:
    status = request.args.get("status", "")
    status = status if status in set(JobStatus) else ""
    return render_template(
        "core/jobs.html",
        page=paginate(services.jobs_query(status)),
        status=status,
        counts=services.status_counts(),
        statuses=list(JobStatus),
        status_choices=options_of(JobStatus),
        job_label=services.job_label,
    )


@bp.route("/<int:run_id>/relaunch", methods=["POST"])
@require(Permission.USERS_MANAGE)
def job_relaunch(run_id: int) -> Any:
    run = get_scoped_or_404(JobRun, run_id)
    try:
        services.relaunch(run, current_user)
    except FieldError as error:
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("Tâche relancée : elle repart dans la file d'attente."), "success")
    return redirect(url_for("jobs.job_list", status=request.args.get("status", "")))
