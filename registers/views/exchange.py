"""Export of the register (XLSX, CSV: a POST, the export is journalled) and its import: upload →
mapping of the columns → preview → confirmation (see registers.services.exchange)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.concurrency import EditConflict
from core.exports import XLSX_CELL_LIMIT, TooLongForXlsx, unneutralise
from core.extensions import db
from core.forms import FieldError
from core.params import parse_int
from core.security import Permission, can, require
from core.tenancy import current_org, get_scoped_or_404
from registers.blueprint import bp
from registers.forms.exchange import (
    CancelImportForm,
    ConfirmImportForm,
    ExportForm,
    ImportForm,
    PresetChoiceForm,
    PresetDeleteForm,
    mapping_form,
)
from registers.models import ImportPreset, ImportStatus, ProcessingActivity, RegisterImport
from registers.services import exchange
from registers.services.exchange.columns import SHEET_REGISTER

FORM_TEMPLATE = "registers/import_form.html"
MAPPING_TEMPLATE = "registers/import_mapping.html"
PREVIEW_TEMPLATE = "registers/import_preview.html"
RESULT_TEMPLATE = "registers/import_result.html"
TOO_LONG_TEMPLATE = "registers/export_too_long.html"


# --- export ------------------------------------------------------------------------------------


def _download(fmt: str) -> Any:
    if not ExportForm().validate_on_submit():
        abort(400)
    try:
        export = exchange.export_register(current_org, current_user, fmt)
    except TooLongForXlsx as error:  # never cut: the fiches and fields are named, CSV is offered
        return render_template(TOO_LONG_TEMPLATE, cells=_long_cells(error), limit=XLSX_CELL_LIMIT), 422
    db.session.commit()  # the journal entry of the export, before the file is streamed
    return Response(
        stream_with_context(export.chunks()),
        mimetype=export.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


def _long_cells(error: TooLongForXlsx) -> list[dict[str, Any]]:
    """The cells too long for XLSX, with a link to their fiche (found by reference in this register)."""
    references = {unneutralise(cell.key) for cell in error.cells if cell.sheet == SHEET_REGISTER}
    ids = dict(
        db.session.execute(
            select(ProcessingActivity.reference, ProcessingActivity.id).where(
                ProcessingActivity.organisation_id == current_org.id,
                ProcessingActivity.reference.in_(references),
            )
        ).all()
    )
    cells = []
    for cell in error.cells:
        reference = unneutralise(cell.key)
        fiche_id = ids.get(reference) if cell.sheet == SHEET_REGISTER else None
        url = url_for("registers.activity_detail", activity_id=fiche_id) if fiche_id else None
        cells.append(
            {
                "sheet": cell.sheet,
                "reference": reference,
                "column": cell.column,
                "length": cell.length,
                "url": url,
            }
        )
    return cells


@bp.post("/export.xlsx")
@require(Permission.REGISTERS_VIEW)
def export_xlsx() -> Any:
    return _download("xlsx")


@bp.post("/export.csv")
@require(Permission.REGISTERS_VIEW)
def export_csv() -> Any:
    return _download("csv")


# --- import ------------------------------------------------------------------------------------


def _owned(import_id: int) -> RegisterImport:
    """The import of this organisation uploaded by this user (anyone else's: 404)."""
    register_import = get_scoped_or_404(RegisterImport, import_id)
    if register_import.user_id != current_user.id:
        abort(404)
    return register_import


def _upload_page(form: ImportForm, status: int = 200) -> Any:
    presets = exchange.presets(current_org)
    delete_forms = {p.id: PresetDeleteForm(formdata=None, version=p.version) for p in presets}
    return render_template(
        FORM_TEMPLATE, form=form, presets=presets, delete_forms=delete_forms, export_form=ExportForm()
    ), status


@bp.route("/import", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def import_register() -> Any:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        content = upload.read(exchange.MAX_UPLOAD_BYTES + 1)
        try:
            register_import = exchange.upload_import(
                current_org, current_user, content, upload.filename or ""
            )
        except exchange.ImportFileError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, error.message]
        else:
            db.session.commit()
            return redirect(url_for("registers.import_detail", import_id=register_import.id))
    return _upload_page(form, 422 if form.errors else 200)


def _mapping_page(register_import: RegisterImport, form: Any, status: int = 200) -> Any:
    presets = exchange.presets(current_org)
    chooser = PresetChoiceForm(request.args)
    chooser.preset.choices = [(None, _("— Choisir —")), *((p.id, p.name) for p in presets)]
    return render_template(
        MAPPING_TEMPLATE,
        register_import=register_import,
        form=form,
        chooser=chooser if presets else None,
        cancel_form=CancelImportForm(),
    ), status


@bp.get("/import/<int:import_id>")
@require(Permission.REGISTERS_EDIT)
def import_detail(import_id: int) -> Any:
    register_import = _owned(import_id)
    if not register_import.is_pending or exchange.is_expired(register_import):
        return render_template(
            RESULT_TEMPLATE, register_import=register_import, expired=exchange.is_expired(register_import)
        )
    table = exchange.table_of(register_import)
    proposal = register_import.mapping or exchange.propose(table.header)
    preset_id = parse_int(request.args.get("preset"))
    if preset_id:
        preset = get_scoped_or_404(ImportPreset, preset_id)
        proposal = exchange.propose(table.header, preset.mapping)
    form = mapping_form(table.header, table.rows, proposal, version=register_import.version)
    return _mapping_page(register_import, form)


def _gone(register_import: RegisterImport) -> Any:
    """A confirmed, abandoned or expired import: say so (the expired one is cleared now)."""
    if register_import.status == ImportStatus.IMPORTED:
        flash(_("Ce fichier a déjà été importé : voici le résultat de l'import."), "info")
        return redirect(url_for("registers.import_detail", import_id=register_import.id))
    if exchange.is_expired(register_import):
        exchange.expire_import(register_import)
        db.session.commit()
    flash(_("Le fichier à importer n'est plus disponible (délai dépassé) : déposez-le à nouveau."), "danger")
    return redirect(url_for("registers.import_register"))


def _preview(register_import: RegisterImport, plan: exchange.ImportPlan, status: int | None = None) -> Any:
    confirm = ConfirmImportForm(formdata=None, fingerprint=plan.fingerprint) if plan.can_confirm else None
    page = render_template(
        PREVIEW_TEMPLATE,
        register_import=register_import,
        plan=plan,
        confirm=confirm,
        cancel_form=CancelImportForm(),
    )
    return page, status or (200 if not plan.errors else 422)


@bp.post("/import/<int:import_id>/preview")
@require(Permission.REGISTERS_EDIT)
def import_preview(import_id: int) -> Any:
    register_import = _owned(import_id)
    if not register_import.is_pending or exchange.is_expired(register_import):
        return _gone(register_import)
    table = exchange.table_of(register_import)
    form = mapping_form(table.header, table.rows, register_import.mapping or [])
    if not form.validate_on_submit():
        return _mapping_page(register_import, form, 422)
    mapping = form.mapping()
    try:
        exchange.save_mapping(register_import, current_user, mapping, form.version.data)
        if form.preset_name.data:
            exchange.save_preset(current_org, current_user, form.preset_name.data, table.header, mapping)
    except EditConflict:
        db.session.rollback()
        flash(
            _("Cette correspondance a été modifiée dans un autre onglet : vérifiez-la à nouveau."), "warning"
        )
        return redirect(url_for("registers.import_detail", import_id=import_id))
    except FieldError as error:
        db.session.rollback()
        form.preset_name.errors = [error.message]
        return _mapping_page(register_import, form, 422)
    plan = exchange.plan_import(
        current_org,
        table,
        mapping,
        filename=register_import.filename,
        sha256=register_import.sha256,
        may_validate=can(Permission.REGISTERS_VALIDATE),
    )
    db.session.commit()
    return _preview(register_import, plan)


@bp.post("/import/<int:import_id>/confirm")
@require(Permission.REGISTERS_EDIT)
def import_confirm(import_id: int) -> Any:
    register_import = _owned(import_id)
    if not register_import.is_pending or exchange.is_expired(register_import):
        return _gone(register_import)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash(_("La confirmation n'a pas pu être lue : vérifiez l'aperçu à nouveau."), "danger")
        return redirect(url_for("registers.import_detail", import_id=import_id))
    table = exchange.table_of(register_import)
    plan = exchange.plan_import(
        current_org,
        table,
        register_import.mapping or [],
        filename=register_import.filename,
        sha256=register_import.sha256,
        may_validate=can(Permission.REGISTERS_VALIDATE),
    )
    if not plan.can_confirm or plan.fingerprint != form.fingerprint.data:
        flash(
            _("Le registre a changé depuis l'aperçu : vérifiez ce nouvel aperçu avant de confirmer."),
            "warning",
        )
        return _preview(register_import, plan, 409)
    try:
        result = exchange.apply_import(current_org, current_user, plan)
    except exchange.ImportFailed as error:
        db.session.rollback()  # nothing of the file is kept
        flash(error.message, "danger")
        return redirect(url_for("registers.import_detail", import_id=import_id))
    exchange.mark_imported(
        register_import,
        current_user,
        {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
    )
    db.session.commit()
    flash(
        _(
            "Import terminé : %(c)d fiche(s) créée(s), %(u)d modifiée(s), %(k)d inchangée(s).",
            c=result.created,
            u=result.updated,
            k=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("registers.import_detail", import_id=import_id))


@bp.post("/import/<int:import_id>/cancel")
@require(Permission.REGISTERS_EDIT)
def import_cancel(import_id: int) -> Any:
    register_import = _owned(import_id)
    if CancelImportForm().validate_on_submit() and register_import.is_pending:
        exchange.cancel_import(register_import, current_user)
        db.session.commit()
        flash(_("Import abandonné : le fichier déposé a été supprimé."), "info")
    return redirect(url_for("registers.import_register"))


@bp.post("/import/presets/<int:preset_id>/delete")
@require(Permission.REGISTERS_EDIT)
def import_preset_delete(preset_id: int) -> Any:
    preset = get_scoped_or_404(ImportPreset, preset_id)
    form = PresetDeleteForm()
    if form.validate_on_submit():
        try:
            exchange.delete_preset(preset, current_user, form.version.data)
        except EditConflict:
            db.session.rollback()
            flash(
                _("Ce modèle de correspondance a été modifié entre-temps : rien n'a été supprimé."), "warning"
            )
        else:
            db.session.commit()
            flash(_("Modèle de correspondance supprimé."), "success")
    return redirect(url_for("registers.import_register"))
