"""The syndicate's processor register (Art. 30.2): a page derived from catalogue, subscriptions,
models and the syndicate's processors, and its DPO's sign-off."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.params import page_arg
from core.security import Permission, require
from core.tenancy import current_org, syndicate_only
from registers.blueprint import bp
from registers.forms.processors import SignoffForm
from registers.services.processor import processor_register, sign_off

PER_PAGE = 25


@bp.route("/processor/", endpoint="processor_register")
@require(Permission.REGISTERS_VIEW)
@syndicate_only
def processor_register_view() -> Any:
    q = request.args.get("q", "").strip()[:100]
    page = page_arg()
    register = processor_register(
        current_org._get_current_object(), q=q, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    pages = max(1, -(-register.total // PER_PAGE))
    return render_template(
        "registers/processor_register.html",
        register=register,
        q=q,
        page=page,
        pages=pages,
        signoff_form=SignoffForm(formdata=None),
    )


@bp.post("/processor/signoff")
@require(Permission.REGISTERS_VALIDATE)
@syndicate_only
def processor_register_signoff() -> Any:
    form = SignoffForm()
    if form.validate_on_submit():
        sign_off(current_org._get_current_object(), current_user, form.note.data)
        db.session.commit()
        flash(_("Registre de sous-traitant validé : le PDF portera votre nom et la date."), "success")
    else:
        flash(_("Cochez la case pour confirmer la validation du registre."), "danger")
    return redirect(url_for("registers.processor_register"))
