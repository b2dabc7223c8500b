"""Routes: the personal-data breach register (list, detail, new, edit)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import utcnow
from core.forms import handle_form
from core.pagination import paginate
from core.security import Permission, require
from core.templating import options_of
from core.tenancy import current_org, get_scoped_or_404
from registers.blueprint import bp
from registers.forms.breaches import BreachForm
from registers.models import Breach, NotificationDecision
from registers.services import breaches

FORM_TEMPLATE = "registers/breach_form.html"


def _detail_url(breach: Breach) -> str:
    return url_for("registers.breach_detail", breach_id=breach.id)


@bp.route("/breaches")
@require(Permission.REGISTERS_VIEW)
def breach_list() -> Any:
    filters = breaches.BreachFilters.from_args(request.args)
    page = paginate(breaches.breaches_query(filters))
    return render_template(
        "registers/breach_list.html",
        page=page,
        rows=breaches.breach_rows(page.items),
        filters=filters,
        decision_choices=options_of(NotificationDecision),
    )


@bp.route("/breaches/<int:breach_id>")
@require(Permission.REGISTERS_VIEW)
def breach_detail(breach_id: int) -> Any:
    breach = get_scoped_or_404(Breach, breach_id)
    now = utcnow()
    return render_template(
        "registers/breach_detail.html",
        breach=breach,
        clock=breaches.clock(breach, now),
        checklist=breaches.checklist(breach, now),
        labels=breaches.labels_of(breach),
    )


@bp.route("/breaches/new", methods=["GET", "POST"])
@require(Permission.BREACHES_RECORD)  # the DPO, the referent, and the RSSI who finds it (registers.DOMAIN)
def breach_new() -> Any:
    org = current_org._get_current_object()
    return handle_form(
        BreachForm(),
        lambda data: breaches.create_breach(org, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Violation enregistrée au registre."),
        success_url=_detail_url,
        breach=None,
    )


@bp.route("/breaches/<int:breach_id>/edit", methods=["GET", "POST"])
@require(Permission.REGISTERS_EDIT)
def breach_edit(breach_id: int) -> Any:
    breach = get_scoped_or_404(Breach, breach_id)
    return handle_form(
        BreachForm(obj=breach),
        lambda data: breaches.update_breach(breach, current_user, data),
        template=FORM_TEMPLATE,
        success_message=_("Violation enregistrée au registre."),
        success_url=_detail_url,
        breach=breach,
    )
