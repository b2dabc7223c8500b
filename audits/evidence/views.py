"""Routes of the evidence store, on the audits blueprint under /audits/evidence/: the list, an
evidence's page (versions, links), upload, edit, new version, links, and the download (a POST:
journalled, CSRF-checked, streamed and decrypted on the fly)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audits.blueprint import bp
from core.concurrency import EditConflict, conflict_response
from core.extensions import db
from core.forms import FieldError
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404

from . import keyring
from . import services as svc
from .forms import ActionForm, EvidenceEditForm, EvidenceForm, LinkForm, VersionForm
from .models import LINK_TYPES, Evidence, EvidenceVersion

FORM = "audits/evidence/evidence_form.html"
EDIT = "audits/evidence/evidence_edit.html"
VERSION = "audits/evidence/version_form.html"


def _people(evidence: Evidence | None = None) -> list[tuple[int, str]]:
    return svc.owner_choices(current_org.id, include=evidence.owner_id if evidence else None)


def _link_choices() -> list[tuple[str, str]]:
    return [(key, svc.type_label(key)) for key in LINK_TYPES]


@bp.route("/evidence/")
@require(Permission.EVIDENCE_VIEW)
def evidence_list() -> Any:
    filters = svc.EvidenceFilters.from_args(request.args)
    return render_template(
        "audits/evidence/evidence_list.html",
        page=svc.evidence_page(filters),
        filters=filters,
        link_choices=[*_link_choices(), ("none", _("Aucun lien"))],
        state_of=svc.state_of,
    )


@bp.route("/evidence/<int:evidence_id>")
@require(Permission.EVIDENCE_VIEW)
def evidence_detail(evidence_id: int) -> Any:
    evidence = get_scoped_or_404(Evidence, evidence_id)
    link_form = LinkForm(formdata=None)
    link_form.object_type.choices = _link_choices()
    return render_template(
        "audits/evidence/evidence_detail.html",
        evidence=evidence,
        state=svc.state_of(evidence),
        button=ActionForm(),
        link_form=link_form,
        link_url=svc.link_url,
        type_label=svc.type_label,
    )


def _stored(sink_owner: Any) -> None:
    """After a failed commit, drop the file that was moved into the store."""
    upload = getattr(sink_owner, "stream", None)
    if isinstance(upload, svc.UploadSink) and upload.kept:
        svc.forget_kept(upload)


@bp.route("/evidence/new", methods=["GET", "POST"])
@require(Permission.EVIDENCE_EDIT)
def evidence_new() -> Any:
    org = current_org._get_current_object()
    if request.method == "POST":
        form = EvidenceForm()
    else:
        form = EvidenceForm(
            data={
                "owner_id": current_user.id,
                "object_type": request.args.get("object_type", "")[:40],
                "object_id": request.args.get("object_id", "")[:12],
            }
        )
    form.setup(_people())
    linked_label = None
    if form.object_type.data and form.object_id.data:
        try:
            linked = svc.checked_link(form.object_type.data, form.object_id.data)
        except FieldError:
            linked = None
        linked_label = f"{svc.type_label(linked[0])} {linked[2]}" if linked else None
    context = {"linked_label": linked_label, "max_mb": svc.max_bytes() // (1024 * 1024)}
    if form.validate_on_submit():
        upload = request.files.get("file")
        link = (form.object_type.data, form.object_id.data) if form.object_type.data else None
        try:
            evidence = svc.create_evidence(org, current_user, form.data, upload, link)
            db.session.commit()
        except FieldError as error:
            db.session.rollback()
            _stored(upload)
            error.attach(form)
        except Exception:
            db.session.rollback()
            _stored(upload)
            raise
        else:
            flash(_("Preuve enregistrée, fichier chiffré."), "success")
            return redirect(url_for("audits.evidence_detail", evidence_id=evidence.id))
    if request.method == "POST":
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return render_template(FORM, form=form, **context), 422
    return render_template(FORM, form=form, **context)


@bp.route("/evidence/<int:evidence_id>/edit", methods=["GET", "POST"])
@require(Permission.EVIDENCE_EDIT)
def evidence_edit(evidence_id: int) -> Any:
    evidence = get_scoped_or_404(Evidence, evidence_id)
    if request.method == "POST":
        form = EvidenceEditForm()
    else:
        form = EvidenceEditForm(obj=evidence)
        form.version.data = evidence.version
    form.setup(_people(evidence))
    if form.validate_on_submit():
        try:
            svc.update_evidence(evidence, current_user, form.data)
            db.session.commit()
        except EditConflict as conflict:
            return conflict_response(form, conflict.obj, EDIT, evidence=evidence)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            flash(_("Preuve enregistrée."), "success")
            return redirect(url_for("audits.evidence_detail", evidence_id=evidence.id))
    if request.method == "POST":
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return render_template(EDIT, form=form, evidence=evidence), 422
    return render_template(EDIT, form=form, evidence=evidence)


@bp.route("/evidence/<int:evidence_id>/versions/new", methods=["GET", "POST"])
@require(Permission.EVIDENCE_EDIT)
def evidence_version_new(evidence_id: int) -> Any:
    evidence = get_scoped_or_404(Evidence, evidence_id)
    form = VersionForm() if request.method == "POST" else VersionForm(data={"version": evidence.version})
    context = {"evidence": evidence, "max_mb": svc.max_bytes() // (1024 * 1024)}
    if form.validate_on_submit():
        upload = request.files.get("file")
        try:
            version = svc.add_version(evidence, current_user, form.data, upload)
            db.session.commit()
        except EditConflict:
            db.session.rollback()
            _stored(upload)
            flash(
                _(
                    "Quelqu'un a modifié cette preuve entre-temps : vérifiez ses versions puis "
                    "déposez à nouveau."
                ),
                "warning",
            )
            db.session.refresh(evidence)
            form.version.data = evidence.version
            return render_template(VERSION, form=form, conflict=True, **context), 409
        except FieldError as error:
            db.session.rollback()
            _stored(upload)
            error.attach(form)
        except Exception:
            db.session.rollback()
            _stored(upload)
            raise
        else:
            flash(_("Version %(n)s déposée, fichier chiffré.", n=version.number), "success")
            return redirect(url_for("audits.evidence_detail", evidence_id=evidence.id))
    if request.method == "POST":
        flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
        return render_template(VERSION, form=form, **context), 422
    return render_template(VERSION, form=form, **context)


@bp.post("/evidence/<int:evidence_id>/links")
@require(Permission.EVIDENCE_EDIT)
def evidence_link_add(evidence_id: int) -> Any:
    evidence = get_scoped_or_404(Evidence, evidence_id)
    form = LinkForm()
    form.object_type.choices = _link_choices()
    if form.validate_on_submit():
        try:
            svc.add_link(evidence, current_user, form.object_type.data, form.object_id.data)
            db.session.commit()
        except FieldError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(_("Lien ajouté."), "success")
    else:
        flash(_("Choisissez le type et le numéro de l'objet à lier."), "danger")
    return redirect(url_for("audits.evidence_detail", evidence_id=evidence.id))


@bp.post("/evidence/<int:evidence_id>/links/<int:link_id>/delete")
@require(Permission.EVIDENCE_EDIT)
def evidence_link_remove(evidence_id: int, link_id: int) -> Any:
    evidence = get_scoped_or_404(Evidence, evidence_id)
    if ActionForm().validate_on_submit():
        try:
            svc.remove_link(evidence, current_user, link_id)
            db.session.commit()
        except FieldError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(_("Lien retiré."), "success")
    return redirect(url_for("audits.evidence_detail", evidence_id=evidence.id))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the exact name (RFC 6266 / RFC 5987)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "fichier"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.post("/evidence/versions/<int:evidence_version_id>/download")
@require(Permission.EVIDENCE_VIEW)
def evidence_download(evidence_version_id: int) -> Any:
    version = get_scoped_or_404(EvidenceVersion, evidence_version_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        svc.verify_version(version)
    except keyring.TamperedFile:
        flash(
            _(
                "Le fichier stocké a été altéré ou tronqué (authentification du chiffrement en échec) : "
                "il n'est pas délivré. Prévenez l'administrateur."
            ),
            "danger",
        )
        return redirect(url_for("audits.evidence_detail", evidence_id=version.evidence_id)), 303
    except keyring.KeyRingError:
        flash(
            _("La clé qui protège ce fichier est absente du trousseau : prévenez l'administrateur."), "danger"
        )
        return redirect(url_for("audits.evidence_detail", evidence_id=version.evidence_id)), 303
    svc.record_download(version, current_user)
    db.session.commit()
    media_type = version.media_type if version.media_type != "text/html" else "application/octet-stream"
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8" if "charset" not in media_type else ""
    response = Response(
        stream_with_context(svc.version_chunks(version)), mimetype=None, content_type=media_type
    )
    response.headers["Content-Disposition"] = content_disposition(version.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Length"] = str(version.size)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
