"""Export of the register (XLSX, CSV) and its import: upload → preview → confirmation.

The uploaded file is kept server-side between the preview and the confirmation, under a random
token bound to the user and the organisation (see registers.services.exchange, "Confirmation").
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.security import Permission, can, require
from core.tenancy import current_org
from registers.blueprint import bp
from registers.forms.exchange import ConfirmImportForm, ImportForm
from registers.services import exchange

FORM_TEMPLATE = "registers/import_form.html"
PREVIEW_TEMPLATE = "registers/import_preview.html"


def _download(fmt: str) -> Any:
    export = exchange.export_register(current_org, current_user, fmt)
    db.session.commit()  # the journal entry of the export
    return Response(
        export.body,
        mimetype=export.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@bp.get("/export.xlsx")
@require(Permission.REGISTERS_VIEW)
def export_xlsx() -> Any:
    return _download("xlsx")


@bp.get("/export.csv")
@require(Permission.REGISTERS_VIEW)
def export_csv() -> Any:
    return _download("csv")


def _preview(plan: exchange.ImportPlan, status: int = 200) -> Any:
    confirm = (
        ConfirmImportForm(formdata=None, token=plan.token, fingerprint=plan.fingerprint)
        if plan.can_confirm
        else None
    )
    return render_template(PREVIEW_TEMPLATE, plan=plan, confirm=confirm), status


@bp.route("/import", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def import_register() -> Any:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            plan = exchange.preview_upload(
                current_org,
                current_user,
                upload.read(exchange.MAX_UPLOAD_BYTES + 1),
                upload.filename or "",
                may_validate=can(Permission.REGISTERS_VALIDATE),
            )
        except exchange.ImportFileError as error:
            form.file.errors = [*form.file.errors, error.message]
        else:
            return _preview(plan, 200 if not plan.errors else 422)
    return render_template(FORM_TEMPLATE, form=form), 422 if form.errors else 200


@bp.post("/import/confirm")
@require(Permission.REGISTERS_EDIT)
def import_confirm() -> Any:
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash(_("La confirmation a expiré : déposez le fichier à nouveau."), "danger")
        return redirect(url_for("registers.import_register"))
    try:
        plan = exchange.plan_stored(
            current_org, current_user, form.token.data, may_validate=can(Permission.REGISTERS_VALIDATE)
        )
    except exchange.ImportFileError as error:
        flash(error.message, "danger")
        return redirect(url_for("registers.import_register"))
    if not plan.can_confirm or plan.fingerprint != form.fingerprint.data:
        flash(
            _("Le registre a changé depuis l'aperçu : vérifiez ce nouvel aperçu avant de confirmer."),
            "warning",
        )
        return _preview(plan, 409)
    try:
        result = exchange.apply_import(current_org, current_user, plan)
    except exchange.ImportFailed as error:
        db.session.rollback()  # nothing of the file is kept
        flash(error.message, "danger")
        return redirect(url_for("registers.import_register"))
    db.session.commit()
    exchange.discard_upload(form.token.data)
    flash(
        _(
            "Import terminé : %(c)d fiche(s) créée(s), %(u)d modifiée(s), %(k)d inchangée(s).",
            c=result.created,
            u=result.updated,
            k=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("registers.activity_list"))
