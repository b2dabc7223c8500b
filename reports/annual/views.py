"""Routes of the annual report, on the Rapports blueprint: the preview of the figures (SVG charts
drawn on the server, no JavaScript), the PDF asked for the job queue, the RSSI's texts of a year."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from core.figures import Chart
from core.forms import handle_form
from core.params import int_arg
from core.security import Permission, can, require
from core.tenancy import current_org
from reports import documents
from reports.annual import document, services
from reports.annual.figures import SCOPE_ORGANISATION, collect
from reports.annual.forms import AnnualForm, TextsForm
from reports.charts import cached_svg, to_svg
from reports.views import bp, queued


def _readable() -> None:
    if not documents.readable(services.KIND):
        abort(403)


def _chart_svg(chart: Chart, section_key: str) -> Markup:
    key = ("reports.annual", section_key, chart, str(get_locale()))
    return cached_svg(
        key, lambda: to_svg(document.drawing(chart), title=chart.title, key=f"{section_key}-{chart.key}")
    )


def _year_or_404(source: Any) -> int:
    """The year named in the query string or the form (the texts of the active organisation: no
    object in the path); one not offered answers 404."""
    year = int_arg("year", services.default_year(), source=source)
    if year not in services.years():
        abort(404)
    return year


@bp.route("/annual")
@require(Permission.REPORTS_VIEW)
def annual_preview() -> Any:
    """The figures of a year, as the PDF prints them; ``scope=members`` (a syndicate's RSSI or DPO
    only, 404 for anyone else) consolidates the syndicate and its members."""
    _readable()
    form = AnnualForm(request.args, meta={"csrf": False})
    if request.args and not form.validate():
        abort(404)  # a year out of range, or the members' scope from a member: no such page
    org = current_org._get_current_object()
    year, scope = form.year.data, form.scope.data or SCOPE_ORGANISATION
    figures = collect(org.id, year, scope)
    texts = services.texts_of(org.id, year)
    return render_template(
        "reports/annual.html",
        form=form,
        figures=figures,
        texts=texts,
        year=year,
        scope=scope,
        members=services.member_count(org.id, scope),
        svg={
            (s.key, c.key): _chart_svg(c, s.key.replace(".", "-")) for s in figures.sections for c in s.charts
        },
        change_text=document.change_text,
        may_write=can(Permission.SMSI_EDIT),
    )


@bp.post("/annual/generate")
@require(Permission.REPORTS_VIEW)
def annual_generate() -> Any:
    _readable()
    form = AnnualForm()
    if not form.validate_on_submit():
        flash(_("Le bilan n'a pas été demandé : choisissez une année et un périmètre proposés."), "danger")
        return redirect(url_for("reports.index"))
    services.queue_annual_pdf(
        current_org._get_current_object(), current_user, year=form.year.data, scope=form.scope.data
    )
    return queued()


TEXTS_TEMPLATE = "reports/annual_texts.html"


def _texts_context(year: int) -> dict[str, Any]:
    return {"stored": services.texts_of(current_org.id, year), "year": year}


@bp.route("/annual/texts")
@require(Permission.SMSI_EDIT)
def annual_texts() -> Any:
    _readable()
    context = _texts_context(_year_or_404(request.args))
    form = TextsForm(obj=context["stored"])
    return render_template(TEXTS_TEMPLATE, form=form, **context)


@bp.post("/annual/texts")
@require(Permission.SMSI_EDIT)
def annual_texts_save() -> Any:
    """The house's form flow (core.forms.handle_form): 422 with the fields marked, the conflict
    page with both versions when someone saved the texts in between, nothing typed lost."""
    _readable()
    year = _year_or_404(request.form)
    context = _texts_context(year)
    return handle_form(
        TextsForm(),
        lambda data: services.save_texts(current_org._get_current_object(), current_user, year, data),
        template=TEXTS_TEMPLATE,
        success_message=_("Textes du bilan enregistrés."),
        success_url=lambda _row: url_for("reports.annual_preview", year=year),
        edited=context["stored"],
        **context,
    )
