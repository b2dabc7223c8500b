"""Route: the organisation's risk scale — level names, the matrix of levels, the acceptance threshold."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.security import Permission, can, require
from core.tenancy import current_org
from risks import reference as ref
from risks.blueprint import bp
from risks.forms.scale import ScaleForm, initial_data, lines
from risks.services import scale as scales


def _matrix_from(form_data: Any, n_likelihood: int, n_impact: int) -> list[list[str]] | None:
    """The cells posted (``cell-<impact>-<likelihood>``), or None when they do not fit the sizes."""
    rows = []
    for g in range(1, n_impact + 1):
        row = []
        for v in range(1, n_likelihood + 1):
            value = form_data.get(f"cell-{g}-{v}")
            if value is None:
                return None
            row.append(value)
        rows.append(row)
    return rows


@bp.route("/scale", methods=["GET", "POST"])
@require(Permission.RISKS_VIEW)
def scale_settings() -> Any:
    org = current_org._get_current_object()
    scale = scales.scale_of(org.id)
    form = (ScaleForm() if request.method == "POST" else ScaleForm(data=initial_data(scale))).setup()
    status = 200
    if request.method == "POST":
        if not can(Permission.RISKS_EDIT):
            return redirect(url_for("risks.scale_settings"))
        if form.validate_on_submit():
            likelihood, impact = lines(form.likelihood_labels.data), lines(form.impact_labels.data)
            data = {
                "likelihood_labels": likelihood,
                "impact_labels": impact,
                "matrix": _matrix_from(request.form, len(likelihood), len(impact)),
                "acceptance_level": form.acceptance_level.data,
                "version": form.version.data,
            }
            try:
                scales.save_scale(org, current_user, data)
            except EditConflict:
                db.session.rollback()
                flash(
                    _(
                        "L'échelle a été modifiée entre-temps : la matrice montre la version enregistrée, "
                        "vos saisies restent dans le formulaire."
                    ),
                    "warning",
                )
                status = 409
            except FieldError as error:
                db.session.rollback()
                error.attach(form)
                status = 422
            else:
                db.session.commit()
                flash(_("Échelle enregistrée."), "success")
                return redirect(url_for("risks.scale_settings"))
        else:
            status = 422
        if status == 422:
            flash(_("Le formulaire contient des erreurs : corrigez les champs signalés."), "danger")
    return render_template(
        "risks/scale.html",
        form=form,
        scale=scale,
        levels=ref.levels(),
        outside=scales.out_of_scale(org.id, len(scale.likelihood_labels), len(scale.impact_labels)),
    ), status
