"""Routes: the hygiene self-assessment — the assessments and their scores (radar), a new one, an
assessment's answers, the comparison of two, and for a syndicate the ranking of its members."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.params import int_arg
from core.security import Permission, can, require
from core.tenancy import current_org, get_scoped_or_404
from risks import reference as ref
from risks.blueprint import bp
from risks.documents.charts import hygiene_radar_svg
from risks.forms.hygiene import AnswersForm, NewAssessmentForm
from risks.models import HygieneAssessment, HygieneStatus
from risks.services import hygiene as svc

RANKING_PAGE = 50


@bp.route("/hygiene/")
@require(Permission.RISKS_VIEW)
def hygiene_index() -> Any:
    org = current_org._get_current_object()
    items = svc.assessments(org.id)
    scores = svc.scores(a.id for a in items)
    shown = items[:2][::-1]  # the latest and the one before, oldest first
    ranking, page = None, max(int_arg("page") or 1, 1)
    if org.is_syndicate:
        everyone = svc.members_ranking(org)
        ranking = everyone[(page - 1) * RANKING_PAGE : page * RANKING_PAGE]
        pages = (len(everyone) + RANKING_PAGE - 1) // RANKING_PAGE
    return render_template(
        "risks/hygiene_index.html",
        items=items,
        scores=scores,
        chapters=ref.hygiene_chapters(),
        radar=hygiene_radar_svg([(a.assessed_on, scores[a.id]) for a in shown]) if shown else None,
        latest=items[0] if items else None,
        form=NewAssessmentForm(),
        ranking=ranking,
        ranking_page=page,
        ranking_pages=pages if ranking is not None else 0,
    )


@bp.post("/hygiene/new")
@require(Permission.HYGIENE_ASSESS)
def hygiene_new() -> Any:
    form = NewAssessmentForm()
    if form.validate_on_submit():
        try:
            assessment = svc.create_assessment(
                current_org._get_current_object(), current_user, form.assessed_on.data
            )
        except FieldError as error:
            db.session.rollback()
            flash(error.message if not hasattr(error, "errors") else error.errors[0].message, "danger")
        else:
            db.session.commit()
            flash(_("Auto-évaluation créée : reprenez chaque mesure."), "success")
            return redirect(url_for("risks.hygiene_detail", assessment_id=assessment.id))
    else:
        flash(_("Date invalide."), "danger")
    return redirect(url_for("risks.hygiene_index"))


def _rows_from(form_data: Any) -> list[dict[str, Any]]:
    return [
        {
            "measure": m.number,
            "status": form_data.get(f"status-{m.number}") or None,
            "reinforced": form_data.get(f"reinforced-{m.number}") == "y",
            "comment": form_data.get(f"comment-{m.number}"),
            "evidence": form_data.get(f"evidence-{m.number}"),
        }
        for m in svc.measures()
    ]


@bp.route("/hygiene/<int:assessment_id>", methods=["GET", "POST"])
@require(Permission.RISKS_VIEW)
def hygiene_detail(assessment_id: int) -> Any:
    assessment = get_scoped_or_404(HygieneAssessment, assessment_id)
    stored = svc.answers(assessment)
    posted: list[dict[str, Any]] | None = None
    status = 200
    form = AnswersForm(obj=assessment) if request.method == "GET" else AnswersForm()
    if request.method == "GET":
        form.version.data = assessment.version
    else:
        if not can(Permission.HYGIENE_ASSESS):
            abort(403)
        posted = _rows_from(request.form)
        if form.validate_on_submit():
            try:
                svc.save_answers(
                    assessment, current_user, {"note": form.note.data, "version": form.version.data}, posted
                )
            except EditConflict:
                db.session.rollback()
                flash(
                    _(
                        "Ces réponses ont été modifiées entre-temps par quelqu'un : vos saisies sont "
                        "conservées ci-dessous, les réponses enregistrées sont rappelées sous chaque mesure."
                    ),
                    "warning",
                )
                status = 409
                stored = svc.answers(get_scoped_or_404(HygieneAssessment, assessment_id))
            except FieldError as error:
                db.session.rollback()
                for e in getattr(error, "errors", [error]):
                    flash(e.message, "danger")
                status = 422
            else:
                db.session.commit()
                flash(_("Réponses enregistrées."), "success")
                return redirect(url_for("risks.hygiene_detail", assessment_id=assessment.id))
        else:
            status = 422
    values = {r["measure"]: r for r in posted} if posted else None
    return render_template(
        "risks/hygiene_detail.html",
        assessment=assessment,
        form=form,
        stored=stored,
        values=values,
        conflict=status == 409,
        chapters=ref.hygiene_chapters(),
        measures={m.number: m for m in svc.measures()},
        statuses=list(HygieneStatus),
        score=svc.scores([assessment.id])[assessment.id],
    ), status


@bp.route("/hygiene/compare")
@require(Permission.RISKS_VIEW)
def hygiene_compare() -> Any:
    first = get_scoped_or_404(HygieneAssessment, int_arg("a") or 0)
    second = get_scoped_or_404(HygieneAssessment, int_arg("b") or 0)
    older, newer = sorted((first, second), key=lambda x: x.assessed_on)
    scores = svc.scores([older.id, newer.id])
    return render_template(
        "risks/hygiene_compare.html",
        older=older,
        newer=newer,
        scores=scores,
        chapters=ref.hygiene_chapters(),
        changes=svc.compare(older, newer),
        radar=hygiene_radar_svg(
            [(older.assessed_on, scores[older.id]), (newer.assessed_on, scores[newer.id])]
        ),
    )
