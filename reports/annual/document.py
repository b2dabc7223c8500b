"""The annual report's PDF ("bilan sécurité et conformité"): cover, contents with the pages, one
section per domain's figures (key figures with the previous year, charts, tables), the RSSI's
highlights and plan, a signature block. Charts are drawn by :mod:`reports.charts`, the same code as
the SVG of the preview page."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, PageBreak, Spacer

from core.figures import Chart, KeyFigure, YearlyFigures, number
from reports import charts, pdf
from reports.annual.figures import SCOPE_MEMBERS, AnnualFigures

SIGNATURE_SPACE = 28 * mm


def drawing(chart: Chart) -> Drawing:
    """A chart of a domain's figures drawn by reports.charts (the PDF's flowable, the page's SVG)."""
    categories = [charts.Category(s.key, s.label, s.colour) for s in chart.series]
    if chart.stacked:
        rows = [
            charts.BarRow(period, {s.key: int(s.values[i] or 0) for s in chart.series})
            for i, period in enumerate(chart.periods)
        ]
        return charts.stacked_bars(rows, categories, label_width=30 * mm)
    return charts.columns(
        chart.periods, [(c, s.values) for c, s in zip(categories, chart.series, strict=True)], unit=chart.unit
    )


def change_text(figure: KeyFigure) -> str:
    change = figure.change
    if change is None:
        return "—"
    sign = "+" if change > 0 else ("−" if change < 0 else "")
    unit = _("pts") if figure.unit == "%" else figure.unit
    return sign + number(abs(change), figure.decimals, unit)


@dataclass(frozen=True)
class Texts:
    highlights: str | None
    plan: str | None


@dataclass(frozen=True)
class AnnualDoc:
    organisation: str
    figures: AnnualFigures
    texts: Texts
    generated_at: datetime
    members: int = 1  # organisations of the scope


def title(year: int) -> str:
    return _("Bilan sécurité et conformité %(year)d", year=year)


def _figures_table(section: YearlyFigures, year: int) -> Flowable:
    rows = [(f.label, f.text(), f.previous_text, change_text(f)) for f in section.figures]
    w = pdf.CONTENT_WIDTH
    return pdf.data_table(
        [_("Indicateur"), str(year), str(year - 1), _("Évolution")],
        rows,
        [w * 0.52, w * 0.16, w * 0.16, w * 0.16],
    )


def section_story(section: YearlyFigures, year: int, key: Hashable) -> list[Flowable]:
    st = pdf.styles()
    story: list[Flowable] = [
        CondPageBreak(60 * mm),
        pdf.anchored(pdf.line(section.title, st.h1), key),
    ]
    if section.figures:
        story.append(_figures_table(section, year))
    for chart in section.charts:
        story += [pdf.keep(pdf.line(chart.title, st.h3), drawing(chart))]
    for table in section.tables:
        story.append(pdf.line(table.title, st.h3))
        w = pdf.CONTENT_WIDTH
        first = 0.5 if len(table.headers) > 1 else 1.0
        rest = (1 - first) / max(len(table.headers) - 1, 1)
        widths = [w * first] + [w * rest] * (len(table.headers) - 1)
        story.append(pdf.data_table(list(table.headers), [list(r) for r in table.rows], widths))
    if section.note:
        story += [Spacer(1, 2 * mm), pdf.para(section.note, st.muted)]
    return story


def annual_pdf(doc: AnnualDoc, progress: Callable[[float], None] | None = None) -> bytes:
    st = pdf.styles()
    year = doc.figures.year
    consolidated = doc.figures.scope == SCOPE_MEMBERS
    scope_text = (
        _("Consolidé : le syndicat et ses membres (%(n)s organisations)", n=number(doc.members))
        if consolidated
        else _("Cette organisation")
    )
    facts = [
        (_("Année"), str(year)),
        (_("Périmètre"), scope_text),
        (_("Date de génération"), pdf.long_datetime(doc.generated_at)),
    ]
    notes = [
        _(
            "Chaque indicateur est comparé à celui de l'année précédente quand il existe. Document "
            "généré par Égide ; son empreinte SHA-256 est affichée sur la page de téléchargement et "
            "consignée dans le journal de l'organisation."
        )
    ]
    sections: list[tuple[str, list[Flowable]]] = []
    for index, section in enumerate(doc.figures.sections):
        sections.append((section.title, section_story(section, year, ("s", index))))
    closing: list[Flowable] = [
        PageBreak(),
        pdf.anchored(pdf.line(_("Faits marquants de l'année"), st.h1), "highlights"),
        pdf.para(doc.texts.highlights or _("Aucun fait marquant n'a été rédigé."), st.body),
        Spacer(1, 6 * mm),
        pdf.anchored(pdf.line(_("Plan d'action pour l'année %(year)d", year=year + 1), st.h1), "plan"),
        pdf.para(doc.texts.plan or _("Aucun plan n'a été rédigé."), st.body),
        Spacer(1, 10 * mm),
        pdf.keep(
            pdf.anchored(pdf.line(_("Signatures"), st.h1), "signatures"),
            pdf.data_table(
                [_("Le responsable de la sécurité des systèmes d'information"), _("Le président")],
                [[_("Nom, date et signature :") + "\n" * 5, _("Nom, date et signature :") + "\n" * 5]],
                [pdf.CONTENT_WIDTH / 2, pdf.CONTENT_WIDTH / 2],
            ),
        ),
    ]
    headings = [(t, ("s", i)) for i, (t, _s) in enumerate(sections)] + [
        (_("Faits marquants de l'année"), "highlights"),
        (_("Plan d'action pour l'année %(year)d", year=year + 1), "plan"),
        (_("Signatures"), "signatures"),
    ]
    body = [flowable for _t, story in sections for flowable in story]

    def story(pages: Mapping[Hashable, int]) -> list[Flowable]:
        contents = pdf.data_table(
            [_("Partie"), _("Page")],
            [[text, str(pages[key]) if key in pages else "…"] for text, key in headings],
            [pdf.CONTENT_WIDTH * 0.85, pdf.CONTENT_WIDTH * 0.15],
        )
        return [
            *pdf.cover_page(title(year), doc.organisation, facts, notes),
            pdf.line(_("Sommaire"), st.h1),
            contents,
            PageBreak(),
            *body,
            *closing,
        ]

    info = pdf.DocInfo(
        title=f"{title(year)} — {doc.organisation}",
        subject=_("Bilan annuel de la sécurité et de la conformité"),
        author=doc.organisation,
        generated_at=doc.generated_at,
        running_title=f"{title(year)} — {doc.organisation}",
    )
    return pdf.build_with_pages(story, info, progress=progress, sections=len(headings))
