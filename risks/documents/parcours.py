"""The parcours de cybersécurité's progress report as a PDF, for the comité syndical or for ANSSI: a cover
(the parcours, its convention, the overall progress and money), the progress per theme (a bar chart
and its table), the money (expected, received, co-financing, spent, per phase), the calendar (the
phases, the payments and the measures' deadlines drawn on a timeline), the measures by theme and the
late ones. The ANSSI version leads with the funding and the convention; the comité's with the
progress. Stored and journalled by :func:`reports.services.store_report`.

The progress chart is drawn once (``reports.charts.stacked_bars``) for the page (inline SVG) and the
PDF. Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_currency, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from accounts.models import Organisation, User
from core.db import utcnow
from core.security import Permission
from core.tenancy import current_org
from reports import charts, pdf
from reports.documents import DocumentKind, Generate, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from risks import reference as ref
from risks.documents.register import RISK_DOCUMENTS
from risks.forms.parcours import AUDIENCES, ParcoursPdfForm
from risks.models import Parcours
from risks.services import parcours as svc

KIND = "parcours_report"


def _has_parcours() -> bool:
    return svc.has_parcours(current_org.id)


def _parcours_for_pack(org: Organisation, _period: object) -> bytes | None:
    """The progress report for the comité syndical (evidence packs), if the organisation has a parcours."""
    parcours = svc.parcours_of(org.id)
    return None if parcours is None else parcours_pdf(org, parcours, audience="comite", generated_at=utcnow())


register_document_kind(
    DocumentKind(
        KIND,
        _l("Rapport d'avancement du parcours de cybersécurité"),
        Permission.REGISTERS_VIEW,  # as the risk register's (risks/documents/register.py)
        section=RISK_DOCUMENTS,
        generate=Generate(
            "risks.parcours_pdf",
            _l("Générer le rapport d'avancement du parcours (PDF)"),
            available=_has_parcours,
            primary=False,
            form=ParcoursPdfForm,
        ),
        build=_parcours_for_pack,
    )
)

DONE_COLOUR, LATE_COLOUR, TODO_COLOUR = "#2f855a", "#c53030", "#9aa5b1"
PHASE_COLOURS = ("#2b6cb0", "#805ad5")


def euros(value: Decimal | None) -> str:
    """An amount as people read it in the page's language ("40 000,00 €")."""
    if value is None:
        return "—"
    return format_currency(value, "EUR")


# --- the progress chart ------------------------------------------------------------------------


def progress_chart(progress: svc.Progresses) -> Drawing:
    """One bar per theme: its measures done, late, still to do."""
    categories = [
        charts.Category("done", _("réalisées"), DONE_COLOUR),
        charts.Category("late", _("en retard"), LATE_COLOUR),
        charts.Category("todo", _("à réaliser"), TODO_COLOUR),
    ]
    rows = []
    for theme in ref.parcours_themes():
        p = progress.themes[theme.id]
        rows.append(
            charts.BarRow(
                f"{theme.number}. {theme.short}",
                {"done": p.done, "late": p.late, "todo": p.total - p.done - p.late},
            )
        )
    return charts.stacked_bars(rows, categories, label_width=58 * mm)


def progress_svg(progress: svc.Progresses) -> Markup:
    key = (
        "risks.parcours_progress",
        tuple((t, p.total, p.done, p.late) for t, p in sorted(progress.themes.items())),
        str(get_locale()),
    )
    return charts.cached_svg(
        key,
        lambda: charts.to_svg(
            progress_chart(progress), title=_("Avancement des mesures par thème"), key="parcours-progress"
        ),
    )


# --- the calendar --------------------------------------------------------------------------------


def timeline(
    parcours: Parcours,
    phases: list[Any],
    subsidies: list[Any],
    rows: list[svc.MeasureRow],
    *,
    width: float = pdf.CONTENT_WIDTH,
) -> Drawing:
    """The parcours on a time axis: the phases as bars, the payments as triangles (filled when
    received), the measures' deadlines as ticks (red when late); years marked below."""
    f = pdf.fonts()
    dates = [parcours.selected_on, pdf_today()]
    dates += [d for p in phases for d in (p.starts_on, p.ends_on) if d]
    dates += [d for s in subsidies for d in (s.expected_on, s.received_on) if d]
    dates += [r.action.due_on for r in rows]
    start = date(min(dates).year, 1, 1)
    end = date(max(dates).year + 1, 1, 1)
    label_width, right = 40 * mm, 4 * mm
    span = (end - start).days or 1
    lane, height = 7 * mm, 0.0
    lanes = [_("Phases"), _("Versements"), _("Échéances des mesures")]
    height = len(lanes) * lane + 16 * mm
    drawing = Drawing(width, height)
    plot = width - label_width - right

    def x(d: date) -> float:
        return label_width + plot * (d - start).days / span

    grey = colors.HexColor("#cbd2d9")
    base = 10 * mm
    for year in range(start.year, end.year + 1):
        xx = x(date(year, 1, 1))
        drawing.add(Line(xx, base - 1 * mm, xx, height - 2 * mm, strokeColor=grey, strokeWidth=0.3))
        if year < end.year:
            drawing.add(
                String(
                    x(date(year, 7, 1)),
                    base - 5 * mm,
                    str(year),
                    fontName=f.regular,
                    fontSize=charts.LEGEND_SIZE,
                    textAnchor="middle",
                )
            )
    now = x(pdf_today())
    drawing.add(
        Line(
            now, base - 1 * mm, now, height - 2 * mm, strokeColor=colors.HexColor("#1f2933"), strokeWidth=0.8
        )
    )
    drawing.add(
        String(now + 1, height - 4 * mm, _("aujourd'hui"), fontName=f.regular, fontSize=charts.LEGEND_SIZE)
    )
    for i, title in enumerate(lanes):
        y = base + (len(lanes) - 1 - i) * lane + 1 * mm
        drawing.add(
            String(0, y + 1.5 * mm, pdf.printable(title), fontName=f.regular, fontSize=charts.LABEL_SIZE)
        )
        if i == 0:
            for j, p in enumerate(phases):
                if p.starts_on:
                    finish = p.ends_on or pdf_today()
                    drawing.add(
                        Rect(
                            x(p.starts_on),
                            y + j * 2.5 * mm,
                            max(x(finish) - x(p.starts_on), 1),
                            2.2 * mm,
                            fillColor=colors.HexColor(PHASE_COLOURS[j % 2]),
                            strokeColor=None,
                        )
                    )
                    drawing.add(
                        String(
                            x(p.starts_on) + 1,
                            y + j * 2.5 * mm + 0.5 * mm,
                            _("Phase %(n)d", n=p.kind.order),
                            fontName=f.regular,
                            fontSize=6,
                            fillColor=colors.white,
                        )
                    )
        elif i == 1:
            for s in subsidies:
                on = s.received_on or s.expected_on
                if on is None:
                    continue
                xx = x(on)
                colour = colors.HexColor(DONE_COLOUR if s.is_received else "#d69e2e")
                drawing.add(
                    Polygon(
                        [xx - 1.6 * mm, y, xx + 1.6 * mm, y, xx, y + 3 * mm],
                        fillColor=colour if s.is_received else colors.white,
                        strokeColor=colour,
                        strokeWidth=0.8,
                    )
                )
        else:
            for r in rows:
                colour = colors.HexColor(
                    LATE_COLOUR if r.is_late else (DONE_COLOUR if r.is_done else TODO_COLOUR)
                )
                xx = x(r.action.due_on)
                drawing.add(Line(xx, y, xx, y + 3.5 * mm, strokeColor=colour, strokeWidth=1.2))
    return drawing


def pdf_today() -> date:
    return svc.today()


# --- the document --------------------------------------------------------------------------------


def _money_table(funding: svc.Funding) -> Flowable:
    rows = []
    for _phase, m in [*funding.phases, (None, funding.total)]:
        rows.append(
            [
                m.label,
                euros(m.expected),
                euros(m.received),
                euros(m.planned),
                f"{m.rate} %" if m.rate is not None else "—",
                euros(m.cofinancing),
                euros(m.spent),
                euros(m.remaining),
            ]
        )
    return pdf.data_table(
        [
            _("Phase"),
            _("Subventions attendues"),
            _("Subventions reçues"),
            _("Coût prévu des mesures"),
            _("Part du bénéficiaire"),
            _("Cofinancement"),
            _("Dépensé"),
            _("Reste à financer"),
        ],
        rows,
        [20, 12, 12, 12, 9, 12, 11, 12],
    )


def _subsidy_table(subsidies: list[Any], at_risk: set[int], phase_names: dict[int, str]) -> Flowable:
    return pdf.data_table(
        [_("Versement"), _("Phase"), _("Attendu"), _("Reçu"), _("Condition"), _("État")],
        [
            [
                s.label,
                phase_names.get(s.phase_id, "—") if s.phase_id else "—",
                f"{euros(s.amount_expected)} — {pdf.long_date(s.expected_on)}",
                f"{euros(s.amount_received)} — {pdf.long_date(s.received_on)}" if s.is_received else "—",
                s.condition or "—",
                _("reçu")
                if s.is_received
                else (_("menacé par des mesures en retard") if s.id in at_risk else _("attendu")),
            ]
            for s in subsidies
        ],
        [16, 14, 16, 16, 24, 14],
        empty=_("Aucun versement enregistré."),
    )


def parcours_pdf(org: Organisation, parcours: Parcours, *, audience: str, generated_at: datetime) -> bytes:
    st = pdf.styles()
    phases = svc.phases(parcours)
    phase_names = {p.id: str(p.kind.label) for p in phases}
    subsidies = svc.subsidies(parcours)
    at_risk = {s.id for s in svc.subsidies_at_risk(parcours)}
    rows = svc.measure_rows(parcours)
    progress = svc.progress(parcours)
    funding = svc.funding(parcours)
    to_anssi = audience == "anssi"
    title = (
        _("Parcours de cybersécurité — rapport d'avancement à l'ANSSI")
        if to_anssi
        else _("Parcours de cybersécurité — rapport d'avancement au comité syndical")
    )
    facts = [
        (_("Sélectionné par l'ANSSI le"), pdf.long_date(parcours.selected_on)),
        (_("Référence de la convention"), parcours.convention_reference or "—"),
        (_("Prestataire terrain"), parcours.provider or "—"),
        (_("Contact à l'ANSSI"), parcours.anssi_contact or "—"),
        (_("CSIRT régional"), parcours.csirt or "—"),
        (
            _("Mesures réalisées"),
            f"{progress.overall.done} / {progress.overall.total} ({progress.overall.rate} %)",
        ),
        (_("Mesures en retard"), str(progress.overall.late)),
        (
            _("Subventions reçues / attendues"),
            f"{euros(funding.total.received)} / {euros(funding.total.expected)}",
        ),
        (_("État au"), pdf.long_datetime(generated_at)),
    ]
    intro = (
        _(
            "Ce rapport rend compte à l'ANSSI de l'exécution de la convention : les versements attendus et "
            "reçus, le cofinancement du bénéficiaire et les dépenses, puis l'avancement des mesures du plan "
            "de sécurisation par thème, le calendrier et les mesures en retard."
        )
        if to_anssi
        else _(
            "Ce rapport présente au comité syndical l'avancement du plan de sécurisation : les mesures par "
            "thème, ce qui est réalisé et ce qui est en retard, puis le financement (subventions de l'ANSSI, "
            "part restant à la charge du syndicat) et le calendrier."
        )
    )
    story: list[Flowable] = pdf.cover_page(title, org.name, facts, notes=[intro])
    progress_part: list[Flowable] = [
        *pdf.heading(_("Avancement par thème"), st.h1),
        progress_chart(progress),
        Spacer(1, 3 * mm),
        pdf.data_table(
            [_("Thème"), _("Mesures"), _("Réalisées"), _("En retard"), _("Avancement")],
            [
                [
                    f"{t.number}. {t.title}",
                    str(progress.themes[t.id].total),
                    str(progress.themes[t.id].done),
                    str(progress.themes[t.id].late),
                    f"{progress.themes[t.id].rate} %",
                ]
                for t in ref.parcours_themes()
            ]
            + [
                [
                    _("Ensemble"),
                    str(progress.overall.total),
                    str(progress.overall.done),
                    str(progress.overall.late),
                    f"{progress.overall.rate} %",
                ]
            ],
            [52, 12, 12, 12, 12],
        ),
    ]
    money_part: list[Flowable] = [
        *pdf.heading(_("Financement"), st.h1),
        _money_table(funding),
        Spacer(1, 2 * mm),
        pdf.para(
            _(
                "Cofinancement : la part du coût prévu des mesures que le bénéficiaire finance lui-même, au "
                "taux de la phase. Reste à financer : coût prévu moins les subventions attendues et le "
                "cofinancement."
            ),
            st.muted,
        ),
        *pdf.heading(_("Versements"), st.h2, keep=25 * mm),
        _subsidy_table(subsidies, at_risk, phase_names),
    ]
    story += money_part + progress_part if to_anssi else progress_part + money_part
    story += pdf.heading(_("Calendrier"), st.h1)
    story.append(timeline(parcours, phases, subsidies, rows))
    story.append(
        pdf.data_table(
            [_("Phase"), _("Début"), _("Fin prévue"), _("Livrables"), _("Remis le")],
            [
                [
                    str(p.kind.label),
                    pdf.long_date(p.starts_on),
                    pdf.long_date(p.ends_on),
                    p.deliverables or "—",
                    pdf.long_date(p.delivered_on),
                ]
                for p in phases
            ],
            [30, 13, 13, 30, 14],
        )
    )
    story += pdf.heading(_("Mesures par thème"), st.h1)
    groups = svc.by_theme(rows)
    if not groups:
        story.append(pdf.para(_("Aucune mesure au plan de sécurisation."), st.muted))
    for theme in ref.parcours_themes():
        if theme.id not in groups:
            continue
        story += pdf.heading(f"{theme.number}. {theme.title}", st.h2, keep=25 * mm)
        story.append(_measure_table(groups[theme.id]))
    story += pdf.heading(_("Mesures en retard"), st.h1)
    late = [r for r in rows if r.is_late]
    story.append(
        pdf.data_table(
            [_("Mesure"), _("Responsable"), _("Échéance"), _("Versement conditionné")],
            [
                [
                    f"{r.action.reference} — {r.action.title}",
                    r.action.owner.full_name if r.action.owner else "—",
                    pdf.long_date(r.action.due_on),
                    next((s.label for s in subsidies if s.id == r.measure.subsidy_id), "—"),
                ]
                for r in late
            ],
            [45, 20, 15, 20],
            empty=_("Aucune mesure en retard."),
        )
    )
    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=_("Parcours de cybersécurité"),
        author=org.name,
        generated_at=generated_at,
        running_title=f"{title} — {org.name}",
    )
    return pdf.build(story, info)


def _measure_table(rows: list[svc.MeasureRow]) -> Flowable:
    return pdf.data_table(
        [
            _("Mesure"),
            _("Responsable"),
            _("Échéance"),
            _("État"),
            _("Coût prévu"),
            _("Dépensé"),
            _("Guide / annexe A"),
        ],
        [
            [
                f"{r.action.reference} — {r.action.title}",
                r.action.owner.full_name if r.action.owner else "—",
                pdf.long_date(r.action.due_on) + (f" — {_('en retard')}" if r.is_late else ""),
                str(r.action.status.label),
                euros(r.measure.planned_cost),
                euros(r.measure.amount_spent),
                ", ".join(
                    [
                        *(_("mesure %(n)s", n=n) for n in r.measure.hygiene_measures or []),
                        *(r.measure.control_ids or []),
                    ]
                )
                or "—",
            ]
            for r in rows
        ],
        [26, 14, 14, 12, 11, 10, 13],
    )


def generate_report(
    org: Organisation, parcours: Parcours, actor: User | None, *, audience: str = "comite"
) -> GeneratedReport:
    """The parcours' progress report as a PDF for ``audience`` ("comite" or "anssi"), stored and
    journalled."""
    audience = audience if audience in AUDIENCES else "comite"
    at = utcnow()
    content = parcours_pdf(org, parcours, audience=audience, generated_at=at)
    title = (
        _("Parcours de cybersécurité, rapport à l'ANSSI — %(org)s", org=org.name)
        if audience == "anssi"
        else _("Parcours de cybersécurité, rapport au comité syndical — %(org)s", org=org.name)
    )
    return store_report(
        org,
        actor,
        kind=KIND,
        title=title,
        filename=document_filename("parcours-cybersecurite", audience, org.short_name or org.name, at=at),
        content=content,
    )
