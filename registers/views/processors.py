"""Routes: the processors each organisation uses (Art. 28) — list, detail, new, edit, delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core.concurrency import EditConflict, check_version
from core.extensions import db
from core.forms import handle_form
from core.pagination import paginate
from core.params import int_arg
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from registers.blueprint import bp
from registers.forms.processors import ProcessorDeleteForm, ProcessorForm, initial_data
from registers.models import Processor
from registers.services import processors as procs

FORM_TEMPLATE = "registers/processor_form.html"


def _form(source: Processor | dict[str, Any] | None) -> ProcessorForm:
    org = current_org._get_current_object()
    form = ProcessorForm(data=initial_data(source))
    return form.setup(
        organisations=procs.linked_organisation_choices(org), applications=procs.application_choices(org)
    )


def _detail_url(p: Processor) -> str:
    return url_for("registers.processor_detail", processor_id=p.id)


@bp.route("/processors/")
@require(Permission.REGISTERS_VIEW)
def processor_list() -> Any:
    filters = procs.ProcessorFilters.from_args(request.args)
    page = paginate(procs.processors_query(filters))
    return render_template(
        "registers/processor_list.html",
        page=page,
        filters=filters,
        fiche_counts=procs.fiche_counts(p.id for p in page.items),
        syndicate=procs.syndicate_entry(current_org._get_current_object()),
        today=procs.today(),
    )


@bp.route("/processors/<int:processor_id>")
@require(Permission.REGISTERS_VIEW)
def processor_detail(processor_id: int) -> Any:
    p = get_scoped_or_404(Processor, processor_id)
    entry = procs.syndicate_entry(current_org._get_current_object()) if p.linked_organisation_id else None
    return render_template(
        "registers/processor_detail.html",
        p=p,
        missing=procs.missing(p),
        review_due=procs.is_review_due(p),
        fiches=procs.fiches_of(p),
        syndicate=entry if entry and entry.syndicate_id == p.linked_organisation_id else None,
        delete_form=ProcessorDeleteForm(formdata=None, version=p.version),
        **procs.display(p),
    )


@bp.route("/processors/new", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def processor_new() -> Any:
    org = current_org._get_current_object()
    prefill: dict[str, Any] | None = None
    if request.args.get("from") == "syndicate":
        entry = procs.syndicate_entry(org)
        prefill = procs.syndicate_prefill(entry) if entry else None
    elif request.method == "GET" and (request.args.get("name") or request.args.get("application_id")):
        # the processor register's "à compléter" link: the editor of a SaaS application
        app_id = int_arg("application_id")
        prefill = {"name": request.args.get("name", "")[:200], "application_ids": [app_id] if app_id else []}
    return handle_form(
        _form(prefill),
        lambda data: procs.create_processor(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Sous-traitant enregistré."),
        success_url=_detail_url,
        p=None,
    )


@bp.route("/processors/<int:processor_id>/edit", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def processor_edit(processor_id: int) -> Any:
    p = get_scoped_or_404(Processor, processor_id)
    return handle_form(
        _form(p),
        lambda data: procs.update_processor(p, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Sous-traitant enregistré."),
        success_url=_detail_url,
        p=p,
    )


@bp.post("/processors/<int:processor_id>/delete")
@require(Permission.REGISTERS_EDIT)
def processor_delete(processor_id: int) -> Any:
    p = get_scoped_or_404(Processor, processor_id)
    form = ProcessorDeleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        check_version(p, form.version.data)
        procs.delete_processor(p, current_user)
    except EditConflict:
        db.session.rollback()
        flash(_("Ce sous-traitant a été modifié entre-temps : rien n'a été supprimé."), "warning")
        return redirect(_detail_url(p))
    except procs.ProcessorInUse as used:
        db.session.rollback()
        flash(
            ngettext(
                "%(num)d fiche cite ce sous-traitant parmi ses destinataires : retirez-le de la fiche avant "
                "de le supprimer.",
                "%(num)d fiches citent ce sous-traitant parmi leurs destinataires : retirez-le des fiches "
                "avant de le supprimer.",
                used.fiches,
            ),
            "danger",
        )
        return redirect(_detail_url(p))
    db.session.commit()
    flash(_("Sous-traitant supprimé."), "success")
    return redirect(url_for("registers.processor_list"))
