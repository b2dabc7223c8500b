"""Routes: generate the registers' PDF documents (the register, a fiche, the processor register).

The generated documents are listed, shown and downloaded by ``reports`` (one page for every kind);
the former addresses under ``/registers/documents/`` still lead there."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404, syndicate_only
from registers import documents, jobs
from registers.blueprint import bp
from registers.forms.documents import RegisterDocumentForm
from registers.models import ProcessingActivity
from reports import views as report_views


@bp.route("/documents/register", methods=["POST"])
@require(Permission.REGISTERS_VIEW)  # a reader or an auditor may print the register
def document_register() -> Any:
    form = RegisterDocumentForm()
    if not form.validate_on_submit():
        flash(_("Choix des brouillons non reconnu : le registre n'a pas été généré."), "danger")
        return redirect(url_for("reports.index"))
    org = current_org._get_current_object()
    if documents.register_is_large(org):  # built by the worker: the documents page shows its progress
        jobs.queue_register_pdf(org, current_user, include_drafts=form.include_drafts)
        return report_views.queued()
    return report_views.generated(
        documents.generate_register(org, current_user, include_drafts=form.include_drafts)
    )


@bp.route("/activities/<int:activity_id>/pdf", methods=["POST"])
@require(Permission.REGISTERS_VIEW)
def activity_pdf(activity_id: int) -> Any:
    activity = get_scoped_or_404(ProcessingActivity, activity_id)
    return report_views.generated(documents.generate_activity(activity, current_user))


@bp.route("/documents/processor-register", methods=["POST"])
@require(Permission.REGISTERS_VIEW)
@syndicate_only  # only a syndicate acts as processor for its members
def document_processor_register() -> Any:
    return report_views.generated(
        documents.generate_processor_register(current_org._get_current_object(), current_user)
    )


# --- former addresses (bookmarks, the registers' menu) ---------------------------------------------
# The list moved to the shared documents page; a document's page and download still answer here
# (the same views as under /reports/, with the same checks).


@bp.route("/documents/")
@require(Permission.REGISTERS_VIEW)
def document_list() -> Any:
    return redirect(url_for("reports.index"))


@bp.route("/documents/<int:report_id>")
@require(Permission.REGISTERS_VIEW)
def document_detail(report_id: int) -> Any:
    return report_views.document_detail(report_id)


@bp.route("/documents/<int:report_id>/download")
@require(Permission.REGISTERS_VIEW)
def document_download(report_id: int) -> Any:
    return report_views.document_download(report_id)
