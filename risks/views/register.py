"""Routes: the risk register — heat maps and list (filters, cells that filter), a risk's page, new,
edit."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm as CsrfForm

from core.forms import handle_form
from core.pagination import paginate
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from reports import views as report_views
from risks import reference as ref
from risks.blueprint import bp
from risks.documents import register as register_document
from risks.documents.charts import heat_map_svg
from risks.forms.risks import RiskForm, initial_data
from risks.models import Risk, Treatment
from risks.services import ebios as ebios_svc
from risks.services import risks as svc
from risks.services import scale as scales
from smsi import reference as annex_a

FORM_TEMPLATE = "risks/risk_form.html"


def _form(risk: Risk | None) -> RiskForm:
    org = current_org._get_current_object()
    action_ids = svc.action_ids_of(risk) if risk else []
    if request.method == "POST":
        form = RiskForm()
    else:
        form = RiskForm(data=initial_data(risk, action_ids=action_ids))
        if risk is None:
            form.owner_id.data = current_user.id
    posted = [i for i in (form.action_ids.data or []) if isinstance(i, int)]
    return form.setup(
        org=org,
        scale=scales.scale_of(org.id),
        applications=svc.application_choices(org),
        people=svc.owner_choices(org.id, include=risk.owner_id if risk else None),
        actions=svc.action_choices(org.id, include=[*action_ids, *posted]),
        controls=svc.control_choices(),
    )


def _detail_url(risk: Risk) -> str:
    return url_for("risks.risk_detail", risk_id=risk.id)


@bp.route("/")
@require(Permission.RISKS_VIEW)
def index() -> Any:
    scale = scales.scale_of(current_org.id)
    filters = svc.RiskFilters.from_args(request.args)
    counts = svc.heat_map()
    # Unfiltered, the list holds every risk the heat map counted: no second count.
    known = None if filters.active else sum(counts.inherent.values())
    page = paginate(svc.list_rows(filters, scale), scalars=False, total=known)
    return render_template(
        "risks/risk_list.html",
        page=page,
        filters=filters,
        scale=scale,
        level_choices=[(lv.id, lv.label) for lv in ref.levels()],
        treatment_choices=[("none", _("à décider")), *((t.value, t.label) for t in Treatment)],
        action_counts=svc.action_counts(r.id for r in page.items),
        today=svc.local_today(),
        maps={
            stage: heat_map_svg(
                counts, scale, stage, selected=filters.cell if filters.stage == stage else None
            )
            for stage in ("inherent", "residual")
        },
        not_rated=counts.not_rated,
        study_choices=ebios_svc.study_choices(current_org.id),
    )


@bp.route("/<int:risk_id>")
@require(Permission.RISKS_VIEW)
def risk_detail(risk_id: int) -> Any:
    risk = get_scoped_or_404(Risk, risk_id)
    return render_template(
        "risks/risk_detail.html",
        risk=risk,
        scale=scales.scale_of(risk.organisation_id),
        actions=svc.linked_actions([risk.id])[risk.id],
        controls=[c for c in annex_a.controls() if c.id in set(risk.control_ids or [])],
        today=svc.local_today(),
        study=ebios_svc.study_of_risk(risk),
    )


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def risk_new() -> Any:
    org = current_org._get_current_object()
    return handle_form(
        _form(None),
        lambda data: svc.create_risk(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Risque enregistré."),
        success_url=_detail_url,
        risk=None,
    )


@bp.route("/<int:risk_id>/edit", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def risk_edit(risk_id: int) -> Any:
    risk = get_scoped_or_404(Risk, risk_id)
    return handle_form(
        _form(risk),
        lambda data: svc.update_risk(risk, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Risque enregistré."),
        success_url=_detail_url,
        risk=risk,
    )


@bp.post("/pdf")
@require(Permission.RISKS_VIEW)
def register_pdf() -> Any:
    """The register as a PDF, stored among the documents and journalled."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    return report_views.generated(
        register_document.generate_register(current_org._get_current_object(), current_user)
    )
