"""The risk register as a PDF for the comité syndical or an auditor: a cover (organisation, scale,
acceptance threshold, counts), the heat maps before and after treatment (the page's drawing), the
table of risks by current level, then the treatment plan — each treated risk with its plan, its
corrective actions (status, due date) and its Annex A controls — and the acceptances. Stored and
journalled by :func:`reports.services.store_report`.

Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from accounts.models import Organisation, User
from core.db import utcnow
from core.extensions import db
from core.security import Permission
from reports import pdf
from reports.documents import DocumentKind, DocumentSection, Generate, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from risks.documents.charts import heat_map, stage_title
from risks.models import Risk
from risks.services import risks as svc
from risks.services import scale as scales
from smsi import reference as annex_a

KIND = "risk_register"
RISK_DOCUMENTS = DocumentSection(
    _l("Documents des risques"),
    note=_l("Le registre des risques : cartes avant et après traitement, tableau, plan de traitement."),
)


# REGISTERS_VIEW, as the SMSI's documents (smsi/documents/soa.py): the journal reads GeneratedReport
# entries under one permission; every role holding RISKS_VIEW holds REGISTERS_VIEW (core/security.py).
def _register_for_pack(org: Organisation, _period: object) -> bytes:
    """The risk register as it stands today (evidence packs: no request, the organisation named)."""
    return risk_register_pdf(org, svc.register_risks(org.id), generated_at=utcnow())


register_document_kind(
    DocumentKind(
        KIND,
        _l("Registre des risques"),
        Permission.REGISTERS_VIEW,
        section=RISK_DOCUMENTS,
        generate=Generate("risks.register_pdf", _l("Générer le registre des risques (PDF)")),
        build=_register_for_pack,
    )
)


def _level_text(scale: scales.Scale, likelihood: int | None, impact: int | None) -> str:
    level = scale.level_or_none(likelihood, impact)
    if level is None:
        return "—"
    return f"{level.label} ({likelihood}×{impact})"


def risk_register_pdf(org: Organisation, risks: list[Risk], *, generated_at: datetime) -> bytes:
    st = pdf.styles()
    scale = scales.scale_of(org.id)
    counts = svc.heat_map(org.id)
    current = Counter((lv.id if (lv := scale.level_or_none(*r.current_cell)) else "") for r in risks)
    title = _("Registre des risques")
    story: list[Flowable] = pdf.cover_page(
        title,
        org.name,
        [
            (
                _("Méthode"),
                _(
                    "ISO/IEC 27005 ; échelle %(v)s × %(g)s",
                    v=len(scale.likelihood_labels),
                    g=len(scale.impact_labels),
                ),
            ),
            (_("Seuil d'acceptation"), scale.acceptance.label),
            (_("Risques au registre"), str(len(risks))),
            *(
                (_("Niveau actuel : %(level)s", level=lv.label), str(current.get(lv.id, 0)))
                for lv in reversed(scales.ref.levels())
            ),
            (_("Au-dessus du seuil, non acceptés"), str(svc.figures(org.id).over_threshold)),
            (_("État au"), pdf.long_datetime(generated_at)),
        ],
        notes=[
            _(
                "Niveau actuel : le niveau résiduel une fois coté, le niveau brut sinon. Les niveaux "
                "suivent la matrice de l'organisation, reproduite par les cartes ci-dessous."
            )
        ],
    )
    story += pdf.heading(_("Cartes des risques"), st.h1)
    maps = [heat_map(counts, scale, stage)[0] for stage in ("inherent", "residual")]
    half = (pdf.CONTENT_WIDTH - 6 * mm) / 2
    for drawing in maps:
        factor = min(1.0, half / drawing.width)
        drawing.scale(factor, factor)
        drawing.width *= factor
        drawing.height *= factor
    grid = Table(
        [[pdf.para(stage_title("inherent"), st.h3), pdf.para(stage_title("residual"), st.h3)], maps],
        colWidths=[half + 3 * mm, half + 3 * mm],
    )
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [grid, Spacer(1, 2 * mm)]
    if counts.not_rated:
        story.append(
            pdf.para(
                ngettext(
                    "%(num)d risque sans cotation résiduelle.",
                    "%(num)d risques sans cotation résiduelle.",
                    counts.not_rated,
                ),
                st.muted,
            )
        )
    story += pdf.heading(_("Les risques"), st.h1)
    story.append(
        pdf.data_table(
            [
                _("Référence"),
                _("Risque"),
                _("Bien support"),
                _("Brut"),
                _("Résiduel"),
                _("Traitement"),
                _("Propriétaire"),
                _("Revue"),
            ],
            [
                [
                    r.reference,
                    r.title,
                    r.application.name if r.application else (r.asset or "—"),
                    _level_text(scale, r.likelihood, r.impact),
                    _level_text(scale, r.residual_likelihood, r.residual_impact),
                    str(r.treatment.label) if r.treatment else _("à décider"),
                    r.owner.full_name if r.owner else "—",
                    pdf.long_date(r.next_review_on),
                ]
                for r in risks
            ],
            [12, 20, 13, 10, 10, 12, 13, 11],
            empty=_("Aucun risque au registre."),
        )
    )
    story += pdf.heading(_("Plan de traitement"), st.h1)
    treated = [r for r in risks if r.treatment is not None]
    actions = svc.linked_actions((r.id for r in treated), org.id)
    controls = {c.id: c for c in annex_a.controls()}
    rows = []
    for r in treated:
        linked = actions.get(r.id, [])
        rows.append(
            [
                f"{r.reference} — {r.title}",
                str(r.treatment.label),
                r.treatment_plan or "—",
                "\n".join(
                    f"{a.reference} {a.title} — {a.status.label}, {pdf.long_date(a.due_on)}" for a in linked
                )
                or "—",
                "\n".join(controls[c].label for c in r.control_ids or [] if c in controls) or "—",
            ]
        )
    story.append(
        pdf.data_table(
            [_("Risque"), _("Option"), _("Plan"), _("Actions correctives"), _("Mesures de l'annexe A")],
            rows,
            [22, 12, 22, 24, 20],
            empty=_("Aucun traitement décidé."),
        )
    )
    story += pdf.heading(_("Acceptations"), st.h1)
    story.append(
        pdf.data_table(
            [_("Risque"), _("Niveau actuel"), _("Accepté par"), _("Le")],
            [
                [
                    f"{r.reference} — {r.title}",
                    _level_text(scale, *r.current_cell),
                    r.accepted_by,
                    pdf.long_date(r.accepted_on),
                ]
                for r in risks
                if r.accepted_by
            ],
            [40, 20, 25, 15],
            empty=_("Aucun risque accepté."),
        )
    )
    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=_("Registre des risques"),
        author=org.name,
        generated_at=generated_at,
        running_title=f"{title} — {org.name}",
    )
    return pdf.build(story, info)


def generate_register(org: Organisation, actor: User | None) -> GeneratedReport:
    """The organisation's risk register as a PDF, stored and journalled."""
    at = utcnow()
    risks = list(db.session.scalars(svc.risks_query(svc.RiskFilters(), scales.scale_of(org.id))))
    content = risk_register_pdf(org, risks, generated_at=at)
    return store_report(
        org,
        actor,
        kind=KIND,
        title=_("Registre des risques — %(org)s", org=org.name),
        filename=document_filename("registre-risques", org.short_name or org.name, at=at),
        content=content,
    )
