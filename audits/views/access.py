"""Routes: the "Accès auditeurs" page of an audit (invite, revoke, the trail of what the auditors
opened) and the findings PDF."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from accounts.models import Organisation
from audits import access
from audits.blueprint import bp
from audits.documents import findings as findings_document
from audits.models import AuditorAccess
from core.extensions import db
from core.forms import FieldError, strip
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404


class InviteForm(FlaskForm):
    full_name = StringField(
        _l("Nom de l'auditeur"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    email = StringField(
        _l("Adresse électronique"), validators=[DataRequired(), Length(max=254)], filters=[strip]
    )


class PlainForm(FlaskForm):
    """A button's POST: its CSRF token only."""


def _page(audit: Any, form: InviteForm | None = None, status: int = 200) -> Any:
    return render_template(
        "audits/auditor_access.html",
        audit=audit,
        form=form or InviteForm(formdata=None),
        accesses=access.accesses_of_audit(audit),
        trail=access.trail(audit),
        plain_form=PlainForm(),
    ), status


@bp.route("/<int:audit_id>/auditors", methods=["GET", "POST"])
@require(Permission.AUDITS_EDIT)
def auditor_access(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    form = InviteForm()
    if not form.is_submitted():
        return _page(audit)
    if form.validate_on_submit():
        try:
            access.invite(audit, current_user, form.data)
        except FieldError as error:
            db.session.rollback()
            error.attach(form)
        else:
            db.session.commit()
            flash(
                _("Auditeur invité : son accès prend fin le %(d)s.", d=audit.end_on.strftime("%d/%m/%Y")),
                "success",
            )
            return redirect(url_for("audits.auditor_access", audit_id=audit.id))
    flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
    return _page(audit, form, 422)


@bp.post("/auditors/<int:auditor_access_id>/revoke")
@require(Permission.AUDITS_EDIT)
def auditor_revoke(auditor_access_id: int) -> Any:
    row = get_scoped_or_404(AuditorAccess, auditor_access_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        access.revoke(row, current_user)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "warning")
    else:
        db.session.commit()
        flash(_("Accès révoqué."), "success")
    return redirect(url_for("audits.auditor_access", audit_id=row.audit_id))


@bp.post("/<int:audit_id>/findings.pdf")
@require(Permission.AUDITS_VIEW)
def findings_pdf(audit_id: int) -> Any:
    audit = access.get_audit_or_404(audit_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    org = db.session.get(Organisation, current_org.id)
    report, content = findings_document.generate_findings(org, current_user, audit)
    db.session.commit()
    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    return response
