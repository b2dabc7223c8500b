"""Routes: EBIOS Risk Manager studies — the list, a study (new, edit, its overview), one page per
workshop (the stepper, each step's objects), the study's risk map, its PDF; and for each kind of
workshop object one new, one edit and one delete route, declared from the registry
(risks.services.ebios.KINDS) rather than written out one by one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm as CsrfForm

from core.extensions import db
from core.forms import VersionedForm, handle_delete, handle_form
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from reports import charts
from reports import views as report_views
from risks.blueprint import bp
from risks.documents import ebios as ebios_document
from risks.documents.charts import heat_map, stage_title
from risks.forms.ebios import FORMS, StudyForm, initial_data
from risks.models import STAKEHOLDER_CRITICAL_THREAT, EbiosStudy
from risks.services import ebios as svc
from risks.services import risks as register
from risks.services import scale as scales

SLUGS = {
    "business_value": "valeurs-metier",
    "asset": "biens-supports",
    "feared_event": "evenements-redoutes",
    "gap": "ecarts",
    "srov": "couples-sr-ov",
    "stakeholder": "parties-prenantes",
    "strategic": "scenarios-strategiques",
    "attack_path": "chemins-attaque",
    "operational": "scenarios-operationnels",
    "treatment": "traitement",
    "measure": "mesures",
}
# The URL argument of each kind (the treatment is the operational scenario's workshop-5 side).
ARGS = {kind: f"ebios_{'operational' if kind == 'treatment' else kind}_id" for kind in SLUGS}


def _context(study: EbiosStudy) -> dict[str, Any]:
    data = svc.study_data(study)
    return {
        "study": study,
        "data": data,
        "steps": svc.progress(data),
        "scale": scales.scale_of(study.organisation_id),
        "slugs": SLUGS,
        "args": ARGS,
    }


@bp.route("/ebios/")
@require(Permission.RISKS_VIEW)
def ebios_list() -> Any:
    items = svc.studies(current_org.id)
    return render_template(
        "risks/ebios_list.html",
        items=items,
        progress={s.id: svc.progress(svc.study_data(s)) for s in items},
    )


@bp.route("/ebios/new", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def ebios_new() -> Any:
    org = current_org._get_current_object()
    form = StudyForm() if request.method == "POST" else StudyForm(data={"started_on": register.local_today()})
    return handle_form(
        form,
        lambda data: svc.create_study(org, current_user, data),
        template="risks/ebios_form.html",
        success_message=_("Étude créée : commencez par l'atelier 1."),
        success_url=lambda s: url_for("risks.ebios_workshop1", study_id=s.id),
        study=None,
    )


@bp.route("/ebios/<int:study_id>/edit", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def ebios_edit(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    form = StudyForm() if request.method == "POST" else StudyForm(obj=study)
    return handle_form(
        form,
        lambda data: svc.update_study(study, current_user, data),
        template="risks/ebios_form.html",
        success_message=_("Étude enregistrée."),
        success_url=lambda s: url_for("risks.ebios_detail", study_id=s.id),
        study=study,
        delete_form=VersionedForm(formdata=None, version=study.version),
    )


@bp.post("/ebios/<int:study_id>/delete")
@require(Permission.RISKS_EDIT)
def ebios_delete(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    if not request.form.get("confirm"):  # the box the page asks to tick (required in the browser too)
        flash(_("Cochez la case pour confirmer la suppression : rien n'a été supprimé."), "warning")
        return redirect(url_for("risks.ebios_edit", study_id=study_id))
    return handle_delete(
        lambda version: svc.delete_study(study, current_user, version),
        success_message=_(
            "Étude supprimée ; ses risques restent au registre des risques, et les actions de ses "
            "mesures au plan d'actions du SMSI."
        ),
        success_url=url_for("risks.ebios_list"),
        conflict_message=_("Cette étude a été modifiée entre-temps : rien n'a été supprimé."),
        back_url=url_for("risks.ebios_edit", study_id=study_id),
    )


@bp.route("/ebios/<int:study_id>")
@require(Permission.RISKS_VIEW)
def ebios_detail(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    return render_template("risks/ebios_detail.html", **_context(study))


def _workshop_view(number: int) -> Any:
    @require(Permission.RISKS_VIEW)
    def view(study_id: int) -> Any:
        study = get_scoped_or_404(EbiosStudy, study_id)
        return render_template(
            "risks/ebios_workshop.html",
            number=number,
            applications=dict(register.application_choices(current_org._get_current_object())),
            critical=STAKEHOLDER_CRITICAL_THREAT,
            **_context(study),
        )

    view.__name__ = f"ebios_workshop{number}"
    return view


for _number in range(1, 6):
    bp.add_url_rule(f"/ebios/<int:study_id>/atelier-{_number}", view_func=_workshop_view(_number))


def _map_svg(counts: register.HeatMap, scale: scales.Scale, stage: str, study: EbiosStudy) -> Any:
    drawing, boxes = heat_map(counts, scale, stage)
    links = [
        charts.Link(
            box,
            url_for("risks.index", study=study.id, stage=stage, v=v, g=g),
            f"{counts.count(stage, v, g)} — {scale.likelihood_label(v)}, {scale.impact_label(g)}",
        )
        for (v, g), box in boxes.items()
    ]
    return charts.to_svg(drawing, title=stage_title(stage), key=f"ebios-{stage}", links=links)


@bp.route("/ebios/<int:study_id>/carte")
@require(Permission.RISKS_VIEW)
def ebios_map(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    context = _context(study)
    counts = svc.study_heat_map(context["data"])
    maps = {stage: _map_svg(counts, context["scale"], stage, study) for stage in ("inherent", "residual")}
    return render_template("risks/ebios_map.html", maps=maps, not_rated=counts.not_rated, **context)


@bp.post("/ebios/<int:study_id>/pdf")
@require(Permission.RISKS_VIEW)
def ebios_pdf(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    return report_views.generated(ebios_document.generate_study(study, current_user))


@bp.post("/ebios/<int:study_id>/socle")
@require(Permission.RISKS_EDIT)
def ebios_prefill(study_id: int) -> Any:
    study = get_scoped_or_404(EbiosStudy, study_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    added = svc.prefill_baseline(study, current_user)
    db.session.commit()
    flash(
        _("%(n)s écart(s) ajouté(s) depuis la déclaration d'applicabilité et l'auto-évaluation.", n=added),
        "success",
    )
    return redirect(url_for("risks.ebios_workshop1", study_id=study.id, _anchor="ecarts"))


# --- one new / edit / delete route per kind of workshop object -------------------------------------


def _form(kind: str, study: EbiosStudy, item: Any) -> Any:
    form_class = FORMS[kind]
    if request.method == "POST":
        form = form_class()
    elif item is not None:
        form = form_class(data=initial_data(kind, item))
    else:
        form = form_class(data={"scenario_id": request.args.get("scenario", type=int)})
    extra = {
        "item": item,
        "applications": register.application_choices(current_org._get_current_object()),
        "controls": register.control_choices(),
        "people": svc.smsi_actions.owner_choices(
            study.organisation_id, include=getattr(item, "owner_id", None)
        ),
    }
    return form.setup(study, svc.study_data(study), scales.scale_of(study.organisation_id), extra)


def _back(kind: str, study_id: int) -> str:
    workshop = svc.KINDS[kind].workshop
    return url_for(f"risks.ebios_workshop{workshop}", study_id=study_id, _anchor=SLUGS[kind])


def _item_page(kind: str, study: EbiosStudy, item: Any) -> Any:
    return handle_form(
        _form(kind, study, item),
        lambda data: svc.save_item(svc.KINDS[kind], study, current_user, data, item),
        template="risks/ebios_item_form.html",
        success_message=_("Enregistré."),
        success_url=lambda _saved: _back(kind, study.id),
        kind=svc.KINDS[kind],
        item=item,
        back=_back(kind, study.id),
        **{k: v for k, v in _context(study).items() if k in ("study", "steps")},
    )


def _new_view(kind: str) -> Any:
    @require(Permission.RISKS_EDIT)
    def view(study_id: int) -> Any:
        return _item_page(kind, get_scoped_or_404(EbiosStudy, study_id), None)

    view.__name__ = f"ebios_{kind}_new"
    return view


def _edit_view(kind: str) -> Any:
    @require(Permission.RISKS_EDIT)
    def view(**ids: int) -> Any:
        item = get_scoped_or_404(svc.KINDS[kind].model, ids[ARGS[kind]])
        return _item_page(kind, get_scoped_or_404(EbiosStudy, item.study_id), item)

    view.__name__ = f"ebios_{kind}_edit"
    return view


def _delete_view(kind: str) -> Any:
    @require(Permission.RISKS_EDIT)
    def view(**ids: int) -> Any:
        item = get_scoped_or_404(svc.KINDS[kind].model, ids[ARGS[kind]])
        back = _back(kind, item.study_id)
        return handle_delete(
            lambda _version: svc.delete_item(svc.KINDS[kind], item, current_user),
            success_message=_("Supprimé."),
            success_url=back,
            conflict_message=_("Cet élément a été modifié entre-temps : rien n'a été supprimé."),
            back_url=back,
            form=CsrfForm(),
        )

    view.__name__ = f"ebios_{kind}_delete"
    return view


for _kind, _slug in SLUGS.items():
    _arg = ARGS[_kind]
    if svc.KINDS[_kind].creatable:
        bp.add_url_rule(
            f"/ebios/<int:study_id>/{_slug}/new", view_func=_new_view(_kind), methods=["GET", "POST"]
        )
        bp.add_url_rule(
            f"/ebios/{_slug}/<int:{_arg}>/delete", view_func=_delete_view(_kind), methods=["POST"]
        )
    bp.add_url_rule(f"/ebios/{_slug}/<int:{_arg}>/edit", view_func=_edit_view(_kind), methods=["GET", "POST"])
