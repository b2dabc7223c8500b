"""Routes: the generated documents of the active organisation — every kind a domain declared
(:mod:`reports.documents`), each with its page (SHA-256) and its download. The domains keep the
POST routes that build their documents; these pages only read."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from core.extensions import db
from core.pagination import paginate
from core.security import Permission, login_and_org_required, require
from core.tenancy import get_scoped_or_404
from reports import documents, services
from reports.models import DocumentJob, DocumentJobStatus, GeneratedReport

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.before_request(login_and_org_required)  # backstop behind the views' own policies


def _readable_or_403(report_id: int) -> GeneratedReport:
    report = get_scoped_or_404(GeneratedReport, report_id)  # another organisation's: 404
    if not documents.readable(report.kind):
        abort(403)
    return report


@bp.route("/")
@require(Permission.REPORTS_VIEW)
def index() -> Any:
    return render_template(
        "reports/documents.html",
        page=paginate(services.reports_query()),
        jobs=services.jobs_in_progress(),
        waits_for_a_worker=services.waits_for_a_worker,
        sections=documents.sections(),
        elsewhere=[k for k in documents.KINDS.values() if k.generate is None and documents.readable(k.code)],
        kind_of=documents.kind_of,
        size_label=services.size_label,
    )


@bp.route("/<int:report_id>")
@require(Permission.REPORTS_VIEW)
def document_detail(report_id: int) -> Any:
    report = _readable_or_403(report_id)
    return render_template(
        "reports/document_detail.html",
        report=report,
        kind=documents.kind_of(report.kind),
        size_label=services.size_label,
    )


@bp.route("/<int:report_id>/download")
@require(Permission.REPORTS_VIEW)
def document_download(report_id: int) -> Any:
    report = _readable_or_403(report_id)
    response = send_file(
        io.BytesIO(report.content),
        mimetype=report.media_type,
        as_attachment=True,
        download_name=report.filename,
        max_age=0,
    )
    response.headers["X-Content-SHA256"] = report.sha256
    return response


@bp.route("/jobs/<int:document_job_id>")
@require(Permission.REPORTS_VIEW)
def document_job(document_job_id: int) -> Any:
    """A document being built in the background: its page, or (htmx, polled every 2 s while it is
    pending or running) its state alone; once built, htmx reloads the page that polls (the
    documents page then lists the document)."""
    job = get_scoped_or_404(DocumentJob, document_job_id)
    if not documents.readable(job.kind):
        abort(403)
    polled = request.headers.get("HX-Request") == "true"
    template = "reports/_document_job.html" if polled else "reports/document_job.html"
    response = make_response(
        render_template(
            template, job=job, waits_for_a_worker=services.waits_for_a_worker, kind_of=documents.kind_of
        )
    )
    if polled and job.status == DocumentJobStatus.DONE:
        response.headers["HX-Refresh"] = "true"
    return response


def queued() -> Any:
    """What a "generate" route answers when the document is built by a background job (requested
    with :func:`reports.services.request_document`): commit, then the documents page, which shows
    its progress."""
    db.session.commit()
    flash(
        _("Le document est en préparation : il apparaîtra dans la liste ci-dessous dès qu'il sera prêt."),
        "info",
    )
    return redirect(url_for("reports.index"))


def generated(report: GeneratedReport) -> Any:
    """What every "generate a document" route answers: commit (the document and its journal entry),
    then the document's page, where its SHA-256 is shown."""
    db.session.commit()
    flash(_("Document généré : vérifiez son empreinte SHA-256 ci-dessous."), "success")
    return redirect(url_for("reports.document_detail", report_id=report.id))
