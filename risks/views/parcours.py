"""Routes: the parcours de cybersécurité — the overview (phases, funding, progress per theme, measures
with their filters), the parcours' settings, a phase, a measure (new, edit, remove), a subsidy (new,
edit, delete), the progress report as a PDF."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.concurrency import EditConflict
from core.forms import VersionedForm, handle_delete, handle_form
from core.security import Permission, require
from core.tenancy import current_org, get_scoped_or_404
from reports import views as report_views
from risks import reference as ref
from risks.blueprint import bp
from risks.documents import parcours as parcours_document
from risks.forms.parcours import (
    MeasureForm,
    ParcoursForm,
    ParcoursPdfForm,
    PhaseForm,
    SubsidyForm,
    measure_data,
    parcours_data,
)
from risks.models import Parcours, ParcoursMeasure, ParcoursPhase, Subsidy
from risks.services import parcours as svc

INDEX = "risks.parcours_index"


def _index_url(_result: Any = None) -> str:
    return url_for(INDEX)


def _own_parcours() -> Parcours:
    parcours = svc.parcours_of(current_org.id)
    if parcours is None:
        abort(404)
    return parcours


@bp.route("/parcours/")
@require(Permission.RISKS_VIEW)
def parcours_index() -> Any:
    parcours = svc.parcours_of(current_org.id)
    if parcours is None:
        return render_template("risks/parcours_index.html", parcours=None)
    filters = svc.MeasureFilters.from_args(request.args)
    rows = svc.measure_rows(parcours, filters)
    progress = svc.progress(parcours)
    phases = svc.phases(parcours)
    at_risk = svc.subsidies_at_risk(parcours)
    return render_template(
        "risks/parcours_index.html",
        parcours=parcours,
        phases=phases,
        phase_names={p.id: p.kind.label for p in phases},
        subsidies=svc.subsidies(parcours),
        at_risk={s.id for s in at_risk},
        funding=svc.funding(parcours),
        progress=progress,
        chart=parcours_document.progress_svg(progress),
        themes=ref.parcours_themes(),
        theme_of={t.id: t for t in ref.parcours_themes()},
        groups=svc.by_theme(rows),
        filters=filters,
        count=len(rows),
        hygiene={m.number: m for m in ref.hygiene_measures()},
        pdf_form=ParcoursPdfForm(),
        euros=parcours_document.euros,
        delete_form=VersionedForm(formdata=None),
    )


@bp.route("/parcours/settings", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_settings() -> Any:
    org = current_org._get_current_object()
    parcours = svc.parcours_of(org.id)
    form = ParcoursForm() if request.method == "POST" else ParcoursForm(data=parcours_data(parcours))
    return handle_form(
        form,
        lambda data: svc.save_parcours(org, current_user, data),
        template="risks/parcours_form.html",
        success_message=_("Parcours enregistré."),
        success_url=_index_url,
        parcours=parcours,
    )


@bp.route("/parcours/phases/<int:parcours_phase_id>/edit", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_phase_edit(parcours_phase_id: int) -> Any:
    phase = get_scoped_or_404(ParcoursPhase, parcours_phase_id)
    form = PhaseForm() if request.method == "POST" else PhaseForm(obj=phase)
    return handle_form(
        form,
        lambda data: svc.update_phase(phase, current_user, data),
        template="risks/parcours_phase_form.html",
        success_message=_("Phase enregistrée."),
        success_url=_index_url,
        phase=phase,
    )


def _subsidy_form(parcours: Parcours, subsidy: Subsidy | None) -> SubsidyForm:
    form = SubsidyForm() if request.method == "POST" else SubsidyForm(obj=subsidy)
    return form.setup(svc.phases(parcours))


@bp.route("/parcours/subsidies/new", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_subsidy_new() -> Any:
    parcours = _own_parcours()
    return handle_form(
        _subsidy_form(parcours, None),
        lambda data: svc.create_subsidy(parcours, current_user, data),
        template="risks/parcours_subsidy_form.html",
        success_message=_("Versement enregistré."),
        success_url=_index_url,
        subsidy=None,
    )


@bp.route("/parcours/subsidies/<int:subsidy_id>/edit", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_subsidy_edit(subsidy_id: int) -> Any:
    subsidy = get_scoped_or_404(Subsidy, subsidy_id)
    parcours = _own_parcours()
    return handle_form(
        _subsidy_form(parcours, subsidy),
        lambda data: svc.update_subsidy(subsidy, current_user, data),
        template="risks/parcours_subsidy_form.html",
        success_message=_("Versement enregistré."),
        success_url=_index_url,
        subsidy=subsidy,
        delete_form=VersionedForm(formdata=None, version=subsidy.version),
    )


@bp.post("/parcours/subsidies/<int:subsidy_id>/delete")
@require(Permission.RISKS_EDIT)
def parcours_subsidy_delete(subsidy_id: int) -> Any:
    subsidy = get_scoped_or_404(Subsidy, subsidy_id)
    return handle_delete(
        lambda version: svc.delete_subsidy(subsidy, current_user, version),
        success_message=_("Versement supprimé."),
        success_url=_index_url(),
        conflict_message=_("Ce versement a été modifié entre-temps : rien n'a été supprimé."),
        back_url=url_for("risks.parcours_subsidy_edit", subsidy_id=subsidy_id),
    )


def _statuses(current: Any = None) -> list[tuple[str, Any]]:
    shown = list(svc.FORM_STATUSES)
    if current is not None and current not in shown:
        shown.append(current)
    return [(s.value, s.label) for s in shown]


def _measure_form(parcours: Parcours, measure: ParcoursMeasure | None, action: Any) -> MeasureForm:
    if request.method == "POST":
        form = MeasureForm()
    elif measure is None:
        form = MeasureForm(data={"owner_id": current_user.id, "status": "planned"})
    else:
        form = MeasureForm(data=measure_data(measure, action))
    return form.setup(
        phases=svc.phases(parcours),
        subsidies=svc.subsidies(parcours),
        people=svc.owner_choices(parcours.organisation_id, include=action.owner_id if action else None),
        statuses=_statuses(action.status if action else None),
    )


@bp.route("/parcours/measures/new", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_measure_new() -> Any:
    parcours = _own_parcours()
    form = _measure_form(parcours, None, None)
    if request.method == "GET":
        form.theme.data = request.args.get("theme") or form.theme.data
    return handle_form(
        form,
        lambda data: svc.create_measure(parcours, current_user, data),
        template="risks/parcours_measure_form.html",
        success_message=_("Mesure enregistrée : elle figure aussi au plan d'actions du SMSI."),
        success_url=_index_url,
        measure=None,
        action=None,
        state={"action_version": ""},
    )


@bp.route("/parcours/measures/<int:parcours_measure_id>/edit", methods=["GET", "POST"])
@require(Permission.RISKS_EDIT)
def parcours_measure_edit(parcours_measure_id: int) -> Any:
    measure = get_scoped_or_404(ParcoursMeasure, parcours_measure_id)
    parcours = _own_parcours()
    action = svc.action_of(measure)
    state = {
        "action_version": request.form.get("action_version", "")
        if request.method == "POST"
        else action.version
    }

    def save(data: dict[str, Any]) -> Any:
        try:
            return svc.update_measure(
                measure, current_user, data | {"action_version": state["action_version"]}
            )
        except EditConflict:
            state["action_version"] = action.version  # saving again is a deliberate overwrite
            raise

    return handle_form(
        _measure_form(parcours, measure, action),
        save,
        template="risks/parcours_measure_form.html",
        success_message=_("Mesure enregistrée."),
        success_url=_index_url,
        measure=measure,
        action=action,
        state=state,
        delete_form=VersionedForm(formdata=None, version=measure.version),
    )


@bp.post("/parcours/measures/<int:parcours_measure_id>/delete")
@require(Permission.RISKS_EDIT)
def parcours_measure_delete(parcours_measure_id: int) -> Any:
    measure = get_scoped_or_404(ParcoursMeasure, parcours_measure_id)
    return handle_delete(
        lambda version: svc.delete_measure(measure, current_user, version),
        success_message=_("Mesure retirée du parcours ; son action reste au plan d'actions du SMSI."),
        success_url=_index_url(),
        conflict_message=_("Cette mesure a été modifiée entre-temps : rien n'a été retiré."),
        back_url=url_for("risks.parcours_measure_edit", parcours_measure_id=parcours_measure_id),
    )


@bp.post("/parcours/pdf")
@require(Permission.RISKS_VIEW)
def parcours_pdf() -> Any:
    """The progress report as a PDF (for the comité syndical or for ANSSI), stored and journalled."""
    form = ParcoursPdfForm()
    if not form.validate_on_submit():
        flash(_("Destinataire non reconnu : le rapport n'a pas été généré."), "danger")
        return redirect(_index_url())
    parcours = _own_parcours()
    return report_views.generated(
        parcours_document.generate_report(
            current_org._get_current_object(), parcours, current_user, audience=form.audience.data
        )
    )
