"""Routes: PDF documents of the registers (the register, a fiche, the processor register) and the
list of generated documents with their SHA-256."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.pagination import paginate
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from registers import bp
from registers.models import ProcessingActivity
from reports import services
from reports.models import GeneratedReport


def _generated(report: GeneratedReport) -> Any:
    db.session.commit()
    flash(_("Document généré : vérifiez son empreinte SHA-256 ci-dessous."), "success")
    return redirect(url_for("registers.document_detail", report_id=report.id))


@bp.route("/documents/")
@require(Permission.REGISTERS_VIEW)
def document_list() -> Any:
    return render_template(
        "registers/documents.html", page=paginate(services.reports_query()), size_label=services.size_label
    )


@bp.route("/documents/register", methods=["POST"])
@require(Permission.REGISTERS_VIEW)  # a reader or an auditor may print the register
def document_register() -> Any:
    return _generated(services.generate_register(current_org._get_current_object(), current_user))


@bp.route("/activities/<int:activity_id>/pdf", methods=["POST"])
@require(Permission.REGISTERS_VIEW)
def activity_pdf(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return _generated(services.generate_activity(activity, current_user))


@bp.route("/documents/processor-register", methods=["POST"])
@require(Permission.REGISTERS_VIEW)
def document_processor_register() -> Any:
    if not current_org.is_syndicate:
        abort(403)  # only a syndicate acts as processor for its members
    return _generated(services.generate_processor_register(current_org._get_current_object(), current_user))


@bp.route("/documents/<int:report_id>")
@require(Permission.REGISTERS_VIEW)
def document_detail(report_id: int) -> Any:
    report = get_scoped_or_404(GeneratedReport, report_id)
    return render_template("registers/document_detail.html", report=report, size_label=services.size_label)


@bp.route("/documents/<int:report_id>/download")
@require(Permission.REGISTERS_VIEW)
def document_download(report_id: int) -> Any:
    report = get_scoped_or_404(GeneratedReport, report_id)
    response = send_file(
        io.BytesIO(report.content),
        mimetype=report.media_type,
        as_attachment=True,
        download_name=report.filename,
        max_age=0,
    )
    response.headers["X-Content-SHA256"] = report.sha256
    return response
