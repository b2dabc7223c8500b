"""Routes: data subjects' rights requests (list, detail, new, edit)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.forms import handle_form, to_choices
from core.pagination import paginate
from core.params import int_arg
from core.security import Permission, require
from core.templating import options_of
from core.tenancy import current_org, get_scoped_or_404
from registers.blueprint import bp
from registers.forms.rights import RightsRequestForm
from registers.models import RightsRequest, RightType
from registers.services import rights

FORM_TEMPLATE = "registers/request_form.html"


def _form(req: RightsRequest | None = None) -> RightsRequestForm:
    form = RightsRequestForm(obj=req) if req else RightsRequestForm(received_on=rights.local_today())
    chosen = int_arg("activity_id", source=request.form) or (req.activity_id if req else None)
    form.activity_id.choices = to_choices(
        rights.activity_choices(current_org.id, include_id=chosen), blank=_("— non précisé —")
    )
    assignee = req.assigned_to_id if req else None
    form.assigned_to_id.choices = to_choices(
        rights.assignee_choices(current_org.id, include=assignee), blank=_("— personne —")
    )
    if req is None and request.method == "GET":
        form.assigned_to_id.data = current_user.id  # whoever records it handles it, until given away
    return form


def _detail_url(req: RightsRequest) -> str:
    return url_for("registers.request_detail", rights_request_id=req.id)


@bp.route("/requests")
@require(Permission.REGISTERS_VIEW)
def request_list() -> Any:
    filters = rights.RequestFilters.from_args(request.args)
    if request.args.get("assigned") == "me":
        filters.assigned_to = current_user.id
    today = rights.local_today()
    page = paginate(rights.requests_query(filters))
    return render_template(
        "registers/request_list.html",
        page=page,
        rows=rights.request_rows(page.items, today),
        filters=filters,
        right_choices=options_of(RightType),
    )


@bp.route("/requests/<int:rights_request_id>")
@require(Permission.REGISTERS_VIEW)
def request_detail(rights_request_id: int) -> Any:
    req = get_scoped_or_404(RightsRequest, rights_request_id)
    today = rights.local_today()
    return render_template(
        "registers/request_detail.html",
        req=req,
        row=rights.request_rows([req], today)[0],
        deadline=rights.deadline_of(req),
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def request_new() -> Any:
    org = current_org._get_current_object()
    return handle_form(
        _form(),
        lambda data: rights.create_request(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Demande enregistrée."),
        success_url=_detail_url,
        req=None,
    )


@bp.route("/requests/<int:rights_request_id>/edit", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def request_edit(rights_request_id: int) -> Any:
    req = get_scoped_or_404(RightsRequest, rights_request_id)
    return handle_form(
        _form(req),
        lambda data: rights.update_request(req, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Demande enregistrée."),
        success_url=_detail_url,
        req=req,
    )
