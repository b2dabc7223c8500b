"""Routes of the evidence packs, on the audits blueprint: the list of the organisation's packs with
the form that asks for one, a pack's page (its progress polled by htmx while it is built), its
download (POST: journalled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audits import access
from audits.blueprint import bp
from audits.packs import services
from audits.packs.forms import PackForm
from core.extensions import db
from core.field_errors import FieldError
from core.pagination import paginate
from core.security import Permission, can, require
from core.tenancy import current_org
from reports.services import size_label


def _list_page(form: PackForm, status: int = 200) -> Any:
    return render_template(
        "audits/packs/list.html",
        page=paginate(services.packs_query()),
        form=form,
        may_request=can(Permission.AUDITS_EDIT),
        may_choose=services.may_choose_members(),
        size_label=size_label,
    ), status


@bp.route("/packs/")
@require(Permission.AUDITS_VIEW)
def pack_list() -> Any:
    return _list_page(PackForm(formdata=None))


@bp.post("/packs/")
@require(Permission.AUDITS_EDIT)
def pack_request() -> Any:
    form = PackForm()
    if form.validate_on_submit():
        # None chosen (or no choice offered): the active organisation alone.
        chosen = form.organisations.data if services.may_choose_members() else None
        org_ids = chosen or [current_org.id]
        try:
            pack = services.request_pack(
                org_ids,
                form.period_start.data,
                form.period_end.data,
                actor=current_user,
                title=form.title.data or None,
            )
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(_("Le dossier de preuves est en préparation : suivez son avancement ci-dessous."), "info")
            return redirect(url_for("audits.pack_detail", pack_id=pack.id))
    flash(_("Le dossier n'a pas été demandé : corrigez les champs signalés."), "danger")
    return _list_page(form, 422)


@bp.post("/packs/audit/<int:audit_id>")
@require(Permission.AUDITS_EDIT)
def pack_for_audit(audit_id: int) -> Any:
    """The audit page's button: the pack of the audit (its organisations, its dates, its findings)."""
    audit_obj = access.get_audit_or_404(audit_id)
    try:
        pack = services.request_audit_pack(audit_obj, current_user)
    except FieldError as error:
        db.session.rollback()
        flash(_("Le dossier n'a pas été demandé : %(reason)s", reason=error.message), "danger")
        return redirect(url_for("audits.audit_detail", audit_id=audit_obj.id))
    db.session.commit()
    flash(_("Le dossier de preuves est en préparation : suivez son avancement ci-dessous."), "info")
    return redirect(url_for("audits.pack_detail", pack_id=pack.id))


@bp.route("/packs/<int:pack_id>")
@require(Permission.AUDITS_VIEW)
def pack_detail(pack_id: int) -> Any:
    """A pack's page, or (htmx, polled every 2 s while it is queued or built) its state alone."""
    pack = services.get_pack_or_404(pack_id)
    polled = request.headers.get("HX-Request") == "true"
    template = "audits/packs/_progress.html" if polled else "audits/packs/detail.html"
    response = make_response(
        render_template(
            template,
            pack=pack,
            scope=services.scope_names(pack),
            available=services.file_of(pack) is not None,
            contents=[] if polled else services.contents(pack),
            shown=services.CONTENTS_SHOWN,
            size_label=size_label,
        )
    )
    if polled and pack.is_finished:
        response.headers["HX-Refresh"] = "true"
    return response


DOWNLOAD_CHUNK = 1024 * 1024


def _chunks(path: Path) -> Iterator[bytes]:
    """The file, read as it is sent (opened on the first chunk, closed at the end or when the
    client goes away): bounded memory whatever the pack's size."""
    with open(path, "rb") as handle:
        while block := handle.read(DOWNLOAD_CHUNK):
            yield block


@bp.post("/packs/<int:pack_id>/download")
@require(Permission.AUDITS_VIEW)
def pack_download(pack_id: int) -> Any:
    pack = services.get_pack_or_404(pack_id)
    path = services.file_of(pack)
    if path is None:
        abort(404)  # not built, failed, expired, or its file gone (the pack's page says which)
    services.record_download(pack, current_user)
    db.session.commit()
    response = Response(
        _chunks(path),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="dossier-preuves-{pack.id}.zip"',
            "Content-Length": str(path.stat().st_size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
    if pack.sha256:
        response.headers["X-Content-SHA256"] = pack.sha256
    return response
