"""Routes: the Statement of Applicability of the active organisation — the 93 controls (list with
summary and filters), one control's form, the approved versions (list, approval, one version, the
differences between two), the PDF and XLSX exports.

A control is designated by its Annex A identifier in the query string (``?id=A.5.1``), not in the
path: the controls are the same for every organisation, the page shows the active one's entry."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.exports import XLSX_MIMETYPE, file_chunks
from core.extensions import db
from core.forms import FieldError, handle_form
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from reports import views as report_views
from smsi import reference as ref
from smsi.blueprint import bp
from smsi.documents import soa as soa_document
from smsi.forms.soa import ApproveForm, ExportForm, SoaEntryForm, initial_data
from smsi.models import ImplementationStatus, SoaVersion
from smsi.services import soa

FORM_TEMPLATE = "smsi/soa_form.html"


def _org() -> Any:
    return current_org._get_current_object()


@bp.route("/soa/")
@require(Permission.SMSI_VIEW)
def soa_list() -> Any:
    org = _org()
    all_rows = soa.rows(org)
    filters = soa.SoaFilters.from_args(request.args)
    shown = soa.filtered(all_rows, filters)
    return render_template(
        "smsi/soa_list.html",
        rows=shown,
        groups=[(t, [r for r in shown if r.control.theme == t.id]) for t in ref.themes()],
        filters=filters,
        summary=soa.summary(all_rows),
        statuses=list(ImplementationStatus),
        themes=ref.themes(),
        latest=soa.latest_version(org.id),
        export_form=ExportForm(),
    )


@bp.route("/soa/control", methods=["GET", "POST"])
@require(Permission.SMSI_EDIT)
def soa_control() -> Any:
    control = ref.control(request.args.get("id", ""))
    if control is None:
        abort(404)
    org = _org()
    entry = soa.entry_of(org.id, control.id)
    form = SoaEntryForm(data=initial_data(entry)).setup(
        soa.owner_choices(org.id, include=entry.owner_id if entry else None)
    )
    theme = ref.theme_of(control.theme)
    return handle_form(
        form,
        lambda data: soa.save_entry(org, current_user, control, data),
        template=FORM_TEMPLATE,
        success_message=_("Mesure %(id)s enregistrée.", id=control.id),
        success_url=lambda e: url_for("smsi.soa_list", _anchor=f"c-{control.id}"),
        control=control,
        theme=theme,
        entry=entry,
    )


@bp.route("/soa/versions/")
@require(Permission.SMSI_VIEW)
def soa_versions() -> Any:
    org = _org()
    return render_template(
        "smsi/soa_versions.html",
        versions=soa.versions(org.id),
        summary=soa.summary(soa.rows(org)),
        form=ApproveForm(),
    )


@bp.post("/soa/approve")
@require(Permission.SMSI_EDIT)
def soa_approve() -> Any:
    org = _org()
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            version = soa.approve(org, current_user, form.comment.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(
                _("Version %(n)s de la déclaration d'applicabilité approuvée.", n=version.number), "success"
            )
            return redirect(url_for("smsi.soa_version", soa_version_id=version.id))
    flash(_("Cochez la case d'approbation pour approuver la déclaration."), "danger")
    return (
        render_template(
            "smsi/soa_versions.html",
            versions=soa.versions(org.id),
            summary=soa.summary(soa.rows(org)),
            form=form,
        ),
        422,
    )


@bp.route("/soa/versions/<int:soa_version_id>")
@require(Permission.SMSI_VIEW)
def soa_version(soa_version_id: int) -> Any:
    version = get_scoped_or_404(SoaVersion, soa_version_id)
    snapshot = version.snapshot or {}
    return render_template(
        "smsi/soa_version.html",
        version=version,
        rows=[(c, snapshot.get(c.id) or {}) for c in ref.controls()],
        summary=soa.snapshot_summary(snapshot),
        others=[v for v in soa.versions(version.organisation_id) if v.id != version.id],
        value_text=soa.value_text,
        statuses=list(ImplementationStatus),
        export_form=ExportForm(),
    )


@bp.route("/soa/versions/<int:soa_version_id>/diff")
@require(Permission.SMSI_VIEW)
def soa_diff(soa_version_id: int) -> Any:
    """Version → a later state: another version (``?against=<id>``) or the current statement."""
    version = get_scoped_or_404(SoaVersion, soa_version_id)
    against_id = request.args.get("against", "")
    other = get_scoped_or_404(SoaVersion, against_id) if against_id.isdigit() else None
    new = other.snapshot if other else soa.current_snapshot(_org())
    return render_template(
        "smsi/soa_diff.html",
        version=version,
        other=other,
        changes=soa.diff(version.snapshot or {}, new or {}),
        others=[v for v in soa.versions(version.organisation_id) if v.id != version.id],
    )


@bp.post("/soa/export.xlsx")
@require(Permission.SMSI_VIEW)
def soa_export_xlsx() -> Any:
    if not ExportForm().validate_on_submit():
        abort(400)
    file, filename = soa.export_xlsx(_org(), current_user)
    db.session.commit()  # the journal entry of the export, before the file is sent
    return Response(
        stream_with_context(file_chunks(file)),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/soa/pdf")
@require(Permission.SMSI_VIEW)
def soa_pdf() -> Any:
    if not ExportForm().validate_on_submit():
        abort(400)
    return report_views.generated(soa_document.generate_soa(_org(), current_user))


@bp.post("/soa/versions/<int:soa_version_id>/pdf")
@require(Permission.SMSI_VIEW)
def soa_version_pdf(soa_version_id: int) -> Any:
    version = get_scoped_or_404(SoaVersion, soa_version_id)
    if not ExportForm().validate_on_submit():
        abort(400)
    return report_views.generated(soa_document.generate_soa(_org(), current_user, version=version))
