"""An EBIOS Risk Manager study as a PDF: a cover (the study's frame and each workshop's progress), one
chapter per workshop (its tables), the risk maps before and after treatment, the security measures
and the monitoring plan. Stored and journalled by :func:`reports.services.store_report`.

Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from accounts.models import Organisation, User
from core.db import utcnow
from core.extensions import db
from core.security import Permission
from reports import pdf
from reports.documents import DocumentKind, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from risks.documents.charts import heat_map, stage_title
from risks.documents.register import RISK_DOCUMENTS
from risks.models import EbiosStudy
from risks.services import ebios as svc
from risks.services import scale as scales
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions

KIND = "ebios_study"
register_document_kind(
    DocumentKind(KIND, _l("Étude EBIOS Risk Manager"), Permission.REGISTERS_VIEW, section=RISK_DOCUMENTS)
)


def _cell(scale: scales.Scale, likelihood: int | None, gravity: int | None) -> str:
    level = scale.level_or_none(likelihood, gravity)
    return f"{level.label} (V{likelihood} × G{gravity})" if level else "—"


def _maps(data: svc.StudyData, scale: scales.Scale) -> list[Flowable]:
    st = pdf.styles()
    counts = svc.study_heat_map(data)
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
    return [grid, Spacer(1, 2 * mm)]


def study_pdf(org: Organisation, data: svc.StudyData, *, generated_at: datetime) -> bytes:
    st = pdf.styles()
    study = data.study
    scale = scales.scale_of(org.id)
    steps = svc.progress(data)
    title = _("Étude EBIOS Risk Manager")
    story: list[Flowable] = pdf.cover_page(
        title,
        f"{study.reference} — {study.title}",
        [
            (_("Organisation"), org.name),
            (_("Début de l'étude"), pdf.long_date(study.started_on)),
            (_("Prochaine revue"), pdf.long_date(study.next_review_on)),
            *((_("Atelier %(n)s — %(t)s", n=w.number, t=w.title), f"{w.percent} %") for w in steps),
            (_("État au"), pdf.long_datetime(generated_at)),
        ],
    )
    names = {c.id: c.label for c in annex_a.controls()}
    strategic = {x.id: x for x in data.strategic}
    # Workshop 1
    story += pdf.heading(_("Atelier 1 — %(t)s", t=steps[0].title), st.h1)
    story.append(
        pdf.field_table(
            [
                (_("Objet étudié"), study.scope),
                (_("Missions"), study.missions or "—"),
                (_("Objectifs"), study.objectives or "—"),
                (_("Participants"), study.participants or "—"),
                (_("Socle de sécurité"), study.baseline_notes or "—"),
            ]
        )
    )
    story += pdf.heading(_("Valeurs métier et biens supports"), st.h2)
    story.append(
        pdf.data_table(
            [_("Valeur métier"), _("Nature"), _("Responsable"), _("Biens supports")],
            [
                [
                    bv.name,
                    str(bv.nature.label),
                    bv.responsible or "—",
                    ", ".join(a.name for a in data.assets if bv.id in (a.business_value_ids or [])) or "—",
                ]
                for bv in data.business_values
            ],
            [30, 15, 20, 35],
            empty=_("Aucune valeur métier."),
        )
    )
    story += pdf.heading(_("Événements redoutés"), st.h2)
    story.append(
        pdf.data_table(
            [_("Valeur métier"), _("Événement redouté"), _("Impacts"), _("Gravité")],
            [
                [
                    str(data.by_id(data.business_values, e.business_value_id) or "—"),
                    e.description,
                    e.impacts or "—",
                    scale.impact_label(e.gravity),
                ]
                for e in data.feared_events
            ],
            [20, 35, 30, 15],
            empty=_("Aucun événement redouté."),
        )
    )
    story += pdf.heading(_("Écarts au socle de sécurité"), st.h2)
    story.append(
        pdf.data_table(
            [_("Référentiel"), _("Référence"), _("Écart"), _("Justification")],
            [
                [str(g.source.label), g.reference or "—", g.description, g.justification or "—"]
                for g in data.gaps
            ],
            [20, 12, 43, 25],
            empty=_("Aucun écart noté."),
        )
    )
    # Workshop 2
    story += pdf.heading(_("Atelier 2 — %(t)s", t=steps[1].title), st.h1)
    story.append(
        pdf.data_table(
            [
                _("Source de risque"),
                _("Objectif visé"),
                _("Motivation"),
                _("Ressources"),
                _("Activité"),
                _("Pertinence"),
                _("Retenu"),
            ],
            [
                [
                    p.risk_origin,
                    p.target_objective,
                    str(p.motivation),
                    str(p.resources),
                    str(p.activity),
                    str(p.effective_relevance),
                    pdf.yes_no(p.is_selected),
                ]
                for p in data.pairs
            ],
            [18, 20, 13, 13, 11, 14, 11],
            empty=_("Aucun couple SR/OV."),
        )
    )
    # Workshop 3
    story += pdf.heading(_("Atelier 3 — %(t)s", t=steps[2].title), st.h1)
    story += pdf.heading(_("Parties prenantes de l'écosystème"), st.h2)
    story.append(
        pdf.data_table(
            [
                _("Partie prenante"),
                _("Catégorie"),
                _("Dépendance"),
                _("Pénétration"),
                _("Maturité"),
                _("Confiance"),
                _("Menace"),
            ],
            [
                [
                    s.name,
                    str(s.category.label),
                    str(s.dependency),
                    str(s.penetration),
                    str(s.maturity),
                    str(s.trust),
                    _("%(n)s (critique)", n=f"{s.threat_level:.2f}")
                    if s.is_critical
                    else f"{s.threat_level:.2f}",
                ]
                for s in data.stakeholders
            ],
            [19, 15, 14, 14, 12, 12, 14],
            empty=_("Aucune partie prenante."),
        )
    )
    story += pdf.heading(_("Scénarios stratégiques et chemins d'attaque"), st.h2)
    story.append(
        pdf.data_table(
            [_("Scénario"), _("Couple SR/OV"), _("Gravité"), _("Chemins d'attaque")],
            [
                [
                    x.title,
                    str(data.by_id(data.pairs, x.srov_id) or "—"),
                    scale.impact_label(x.gravity),
                    "\n".join(
                        (f"{data.by_id(data.stakeholders, p.stakeholder_id)} : " if p.stakeholder_id else "")
                        + p.description
                        for p in data.paths
                        if p.scenario_id == x.id
                    )
                    or "—",
                ]
                for x in data.strategic
            ],
            [25, 25, 15, 35],
            empty=_("Aucun scénario stratégique."),
        )
    )
    # Workshop 4
    story += pdf.heading(_("Atelier 4 — %(t)s", t=steps[3].title), st.h1)
    story.append(
        pdf.data_table(
            [_("Scénario opérationnel"), _("Scénario stratégique"), _("Mode opératoire"), _("Vraisemblance")],
            [
                [
                    o.title,
                    str(strategic.get(o.strategic_scenario_id, "—")),
                    o.description or "—",
                    scale.likelihood_label(o.likelihood),
                ]
                for o in data.operational
            ],
            [25, 22, 38, 15],
            empty=_("Aucun scénario opérationnel."),
        )
    )
    # Workshop 5
    story += pdf.heading(_("Atelier 5 — %(t)s", t=steps[4].title), st.h1)
    story += pdf.heading(_("Cartes des risques de l'étude"), st.h2)
    story += _maps(data, scale)
    story += pdf.heading(_("Risques et traitement"), st.h2)
    story.append(
        pdf.data_table(
            [_("Risque"), _("Initial"), _("Traitement"), _("Résiduel"), _("Mesures de l'annexe A")],
            [
                [
                    f"{data.risks[o.id].reference} — {o.title}" if o.id in data.risks else o.title,
                    _cell(scale, o.likelihood, strategic[o.strategic_scenario_id].gravity),
                    str(o.treatment.label) if o.treatment else _("à décider"),
                    _cell(scale, o.residual_likelihood, o.residual_impact),
                    "\n".join(names.get(c, c) for c in o.control_ids or []) or "—",
                ]
                for o in data.operational
            ],
            [26, 16, 16, 16, 26],
            empty=_("Aucun risque."),
        )
    )
    story += pdf.heading(_("Mesures de sécurité"), st.h2)
    linked = smsi_actions.actions_by_ids(m.action_id for m in data.measures if m.action_id)
    story.append(
        pdf.data_table(
            [_("Mesure"), _("Scénario"), _("Action"), _("Échéance"), _("Mesures de l'annexe A")],
            [
                [
                    m.title,
                    str(data.by_id(data.operational, m.scenario_id) or "—"),
                    f"{linked[m.action_id].reference} — {linked[m.action_id].status.label}"
                    if m.action_id in linked
                    else "—",
                    pdf.long_date(m.due_on),
                    ", ".join(m.control_ids or []) or "—",
                ]
                for m in data.measures
            ],
            [26, 22, 20, 14, 18],
            empty=_("Aucune mesure."),
        )
    )
    story += pdf.heading(_("Plan de suivi des risques"), st.h2)
    story.append(pdf.para(study.monitoring_plan or "—", st.body))
    info = pdf.DocInfo(
        title=f"{title} — {study.reference}",
        subject=study.title,
        author=org.name,
        generated_at=generated_at,
        running_title=f"{title} {study.reference} — {org.name}",
    )
    return pdf.build(story, info)


def generate_study(study: EbiosStudy, actor: User | None) -> GeneratedReport:
    """The study as a PDF, stored and journalled."""
    org = db.session.get(Organisation, study.organisation_id)
    at = utcnow()
    content = study_pdf(org, svc.study_data(study), generated_at=at)
    return store_report(
        org,
        actor,
        kind=KIND,
        title=_("Étude EBIOS RM %(ref)s — %(org)s", ref=study.reference, org=org.name),
        filename=document_filename(f"ebios-{study.reference.lower()}", org.short_name or org.name, at=at),
        content=content,
    )
