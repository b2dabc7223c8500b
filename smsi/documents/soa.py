"""The Statement of Applicability as a PDF: a cover (organisation, version, approval line), the
summary per theme and status with a small bar chart, the 93 controls by theme, then the approval
section and its signature block (:func:`approval_section`). Printed from a
snapshot (:func:`smsi.services.soa.current_snapshot`, or an approved version's), on the shared blocks
of :mod:`reports.pdf`; stored and journalled by :func:`reports.services.store_report`.

Importing this module declares the kind to ``reports`` (see the note on its permission below)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from accounts.models import Organisation, User
from core.db import utcnow
from core.security import Permission, roles_granting
from reports import charts, pdf
from reports.documents import DocumentKind, DocumentSection, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from smsi import reference as ref
from smsi.models import ImplementationStatus, SoaVersion
from smsi.services import soa

KIND = "soa"
SMSI_DOCUMENTS = DocumentSection(
    _l("Documents du SMSI"),
    note=_l(
        "La déclaration d'applicabilité se génère depuis sa page (version de travail ou version approuvée). "
        "Chaque document généré est inscrit au journal avec son empreinte."
    ),
)


def _soa_for_pack(org: Organisation, _period: object) -> bytes:
    """The statement as it stands today (evidence packs)."""
    return soa_pdf(org, soa.current_snapshot(org) or {}, None, generated_at=utcnow())


# The journal reads every GeneratedReport entry under one permission (reports.documents: one rule per
# object type, REGISTERS_VIEW since the registers declared theirs); a kind under SMSI_VIEW would need a
# rule by kind there first. The same roles hold both permissions today (core/security.py).
register_document_kind(
    DocumentKind(
        KIND,
        _l("Déclaration d'applicabilité"),
        Permission.REGISTERS_VIEW,
        section=SMSI_DOCUMENTS,
        build=_soa_for_pack,
    )
)

# Bar colours, by status (and "not assessed"), in the bars' order.
BAR_COLOURS = (
    (ImplementationStatus.IMPLEMENTED.value, "#2f855a"),
    (ImplementationStatus.PARTIAL.value, "#d69e2e"),
    (ImplementationStatus.NOT_STARTED.value, "#c53030"),
    (ImplementationStatus.NOT_APPLICABLE.value, "#a0aec0"),
    (soa.NOT_ASSESSED, "#e2e8f0"),
)


def approval_line(version: SoaVersion | None) -> str:
    if version is None:
        return _("Version de travail non approuvée")
    return _(
        "Approuvée par %(who)s le %(when)s",
        who=version.approved_by_name,
        when=pdf.long_date(version.approved_at),
    )


def _status_label(code: str) -> str:
    if code == soa.NOT_ASSESSED:
        return _("Non évaluée")
    return str(ImplementationStatus(code).label)


def _count(counts: soa.Counts, code: str) -> int:
    return counts.not_assessed if code == soa.NOT_ASSESSED else counts.by_status.get(code, 0)


def chart_categories() -> list[charts.Category]:
    return [charts.Category(code, _status_label(code), colour) for code, colour in BAR_COLOURS]


def bar_chart(summary: soa.Summary, *, width: float = pdf.CONTENT_WIDTH) -> Drawing:
    """One stacked horizontal bar per theme (controls by status), and a legend below — the same
    drawing in the PDF and on the SMSI dashboard."""
    rows = [
        charts.BarRow(f"{theme.id}. {theme.name}", {code: _count(counts, code) for code, _c in BAR_COLOURS})
        for theme, counts in summary.themes
    ]
    return charts.stacked_bars(rows, chart_categories(), width=width)


def _summary_table(summary: soa.Summary) -> Flowable:
    headers = [
        _("Thème"),
        _("Mesures"),
        _("Non évaluées"),
        *(_status_label(s.value) for s in ImplementationStatus),
        _("Taux de mise en œuvre"),
    ]
    rows = [
        [
            f"{t.id}. {t.name}",
            str(c.total),
            str(c.not_assessed),
            *(str(c.by_status.get(s.value, 0)) for s in ImplementationStatus),
            f"{c.rate}{pdf.NNBSP}%",
        ]
        for t, c in summary.themes
    ]
    total = summary.total
    rows.append(
        [
            _("Total"),
            str(total.total),
            str(total.not_assessed),
            *(str(total.by_status.get(s.value, 0)) for s in ImplementationStatus),
            f"{total.rate}{pdf.NNBSP}%",
        ]
    )
    return pdf.data_table(headers, rows, [28, 10, 11, 12, 14, 11, 11, 12])


def _control_rows(theme_id: str, snapshot: Mapping[str, Any]) -> list[list[str]]:
    out = []
    for control in ref.controls():
        if control.theme != theme_id:
            continue
        e = snapshot.get(control.id) or {}
        if not e:
            out.append([control.id, control.title, _("Non évaluée"), "—", "—", "—", "—"])
            continue
        if e.get("applicable"):
            why = soa.value_text("reasons", e.get("reasons"))
        else:
            why = _("Exclue : %(j)s", j=e.get("exclusion_justification") or "—")
        out.append(
            [
                control.id,
                control.title,
                soa.value_text("applicable", e.get("applicable")),
                why,
                soa.value_text("status", e.get("status")),
                e.get("owner_name") or "—",
                e.get("implementation") or "—",
            ]
        )
    return out


def approver_function() -> str:
    """The function of whoever approves a version: the roles that may approve (SMSI_EDIT, the
    approval's permission: the RSSI's)."""
    return " / ".join(sorted(str(role.label) for role in roles_granting(Permission.SMSI_EDIT)))


def approval_section(org: Organisation, version: SoaVersion | None, version_text: str) -> list[Flowable]:
    """The closing section: for an approved version, its number, approver (name and function),
    date and comment, and the boxes the RSSI and the head of the organisation sign (the RSSI's name
    and date printed: the approval recorded in Égide; the head's left to fill in unless known). For
    the working version, a framed notice that it is a draft, not approved, and nothing to sign."""
    heading = _("Approbation")
    if version is None:
        return pdf.signature_block(
            heading,
            [
                (_("Version"), version_text),
                (_("Statut"), _("Non approuvée")),
            ],
            notice=(
                _("Projet — document non approuvé."),
                _(
                    "Cette version de travail n'a pas été approuvée : elle ne vaut pas déclaration "
                    "d'applicabilité et ne doit pas être signée. Seule une version approuvée par le "
                    "RSSI dans Égide (version numérotée) porte les visas."
                ),
            ),
        )
    approved_on = pdf.long_date(version.approved_at)
    head_title = (org.head_title or "").strip()
    head = _("La direction : %(title)s", title=head_title) if head_title else _("Le Président / la Direction")
    return pdf.signature_block(
        heading,
        [
            (_("Version approuvée"), _("Version %(n)s", n=version.number)),
            (_("Approuvée par"), version.approved_by_name),
            (_("Fonction"), approver_function()),
            (_("Date d'approbation"), pdf.long_datetime(version.approved_at)),
            (_("Commentaire d'approbation"), version.comment or "—"),
        ],
        [
            pdf.Signatory(_("Le RSSI"), version.approved_by_name, approved_on),
            pdf.Signatory(head, (org.head_name or "").strip() or None),
        ],
        notes=[
            _(
                "Version %(n)s approuvée dans Égide le %(when)s ; une modification ultérieure de la "
                "déclaration fait l'objet d'une nouvelle version, approuvée à son tour.",
                n=version.number,
                when=approved_on,
            )
        ],
    )


def soa_story(
    org: Organisation, snapshot: Mapping[str, Any], version: SoaVersion | None, *, generated_at: datetime
) -> tuple[list[Flowable], pdf.DocInfo]:
    """The document's flowables (the bar chart among them, a ``Drawing``) and its metadata."""
    st = pdf.styles()
    summary = soa.snapshot_summary(snapshot)
    title = _("Déclaration d'applicabilité")
    version_text = (
        _("Version %(n)s", n=version.number)
        if version
        else _("Version de travail (état au %(when)s)", when=pdf.long_datetime(generated_at))
    )
    cover_rows: list[tuple[str, Any]] = [
        (_("Référentiel"), _("ISO/IEC 27001:2022, annexe A (§ 6.1.3 d)")),
        (_("Version"), version_text),
        (_("Approbation"), approval_line(version)),
    ]
    if version and version.comment:
        cover_rows.append((_("Commentaire d'approbation"), version.comment))
    cover_rows.append((_("Taux de mise en œuvre"), f"{summary.total.rate}{pdf.NNBSP}%"))
    story: list[Flowable] = pdf.cover_page(
        title,
        org.name,
        cover_rows,
        notes=[
            _(
                "Taux de mise en œuvre : mesures mises en œuvre parmi les mesures non exclues (une mesure "
                "non évaluée compte comme à mettre en œuvre). Intitulés des mesures : résumés propres à "
                "Égide, le texte de la norme n'est pas reproduit."
            )
        ],
    )
    story += pdf.heading(_("Synthèse par thème et par état"), st.h1)
    story += [_summary_table(summary), Spacer(1, 5 * mm), bar_chart(summary), Spacer(1, 4 * mm)]
    headers = [
        _("Mesure (annexe A)"),
        _("Intitulé"),
        _("Applicable"),
        _("Raisons ou justification"),
        _("État"),
        _("Responsable"),
        _("Description de la mise en œuvre"),
    ]
    for theme in ref.themes():
        story += pdf.heading(f"{theme.id}. {theme.name}", st.h1)
        story.append(pdf.data_table(headers, _control_rows(theme.id, snapshot), [12, 21, 11, 19, 15, 12, 26]))
    story += approval_section(org, version, version_text)
    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=version_text,
        author=org.name,
        generated_at=generated_at,
        running_title=f"{title} — {org.name} — {version_text}",
    )
    return story, info


def soa_pdf(
    org: Organisation, snapshot: Mapping[str, Any], version: SoaVersion | None, *, generated_at: datetime
) -> bytes:
    return pdf.build(*soa_story(org, snapshot, version, generated_at=generated_at))


def generate_soa(
    org: Organisation, actor: User | None, *, version: SoaVersion | None = None
) -> GeneratedReport:
    """The statement (as it stands, or an approved ``version``) as a PDF, stored and journalled."""
    at = utcnow()
    snapshot = version.snapshot if version is not None else soa.current_snapshot(org)
    content = soa_pdf(org, snapshot or {}, version, generated_at=at)
    if version is not None:
        title = _("Déclaration d'applicabilité — %(org)s — version %(n)s", org=org.name, n=version.number)
    else:
        title = _("Déclaration d'applicabilité — %(org)s — version de travail", org=org.name)
    return store_report(
        org,
        actor,
        kind=KIND,
        title=title,
        filename=document_filename("declaration-applicabilite", org.short_name or org.name, at=at),
        content=content,
        object_id=version.id if version is not None else None,
    )
