"""Routes: the public register's settings (DPO) and the public page itself (no login)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, make_response, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.forms import handle_form
from core.params import page_arg
from core.security import Permission, public, require
from core.tenancy import current_org
from registers.blueprint import bp
from registers.forms.publication import PublicationForm
from registers.services import publication as pub


@bp.route("/publication", methods=["GET", "POST"])
@require(Permission.REGISTERS_VALIDATE)
def publication_settings() -> Any:
    org = current_org._get_current_object()
    publication = pub.publication_of(org)
    return handle_form(
        PublicationForm(obj=publication or pub.new_publication(org)),
        lambda data: pub.save_publication(org, current_user, data),
        template="registers/publication_form.html",
        success_message=_("Réglages du registre public enregistrés."),
        success_url=lambda p: url_for("registers.publication_settings"),
        publication=publication,
        validated_count=pub.published_count(org),
    )


@bp.get("/public/<slug>")
@public
def public_register(slug: str) -> Any:
    register = pub.public_register(slug)
    if register is None:
        abort(404)
    page = pub.public_page(register, page_arg(), current_app.config["PAGE_SIZE"])
    response = make_response(render_template("registers/public_register.html", register=register, page=page))
    if register.noindex:
        response.headers["X-Robots-Tag"] = "noindex"
    return response
