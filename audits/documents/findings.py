"""An audit's findings as a PDF: a cover (audit, type, dates, scope, lead auditor), the summary per
level (most severe first), then one block per finding (level, requirement, organisation, status,
description, root cause, corrective actions, re-checks); page X / Y from reports' toolkit. Stored and
journalled by :func:`reports.services.store_report`.

Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from accounts.models import Organisation, User
from audits.models import Audit, Framework
from audits.services import audits as audit_svc
from audits.services import findings as svc
from core.db import utcnow
from core.extensions import db
from core.security import Permission
from reports import pdf
from reports.documents import DocumentKind, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report

KIND = "audit_findings"
# One permission per journal object type (reports.documents): the generated documents' is
# REGISTERS_VIEW. The PDF itself is handed back at once to whoever generates it (AUDITS_VIEW).
register_document_kind(DocumentKind(KIND, _l("Constats d'audit"), Permission.REGISTERS_VIEW))


def findings_pdf(audit: Audit, *, generated_at: datetime) -> bytes:
    st = pdf.styles()
    owner = db.session.get(Organisation, audit.organisation_id)
    title = _("Constats de l'audit %(ref)s", ref=audit.reference)
    # The audit's organisation named in every read: the packs' job builds this PDF without a request.
    counts = audit_svc.level_counts(audit.id, audit.organisation_id)
    findings = svc.findings_of(audit.id, audit.organisation_id)
    frameworks = [str(f.label) for f in Framework if f in audit.framework_set]
    lead = audit.lead_auditor_name or "—"
    if audit.lead_auditor_firm:
        lead = f"{lead} ({audit.lead_auditor_firm})"
    story: list[Flowable] = pdf.cover_page(
        title,
        audit.title,
        [
            (_("Type"), str(audit.type.label)),
            (_("Statut"), str(audit.status.label)),
            (_("Dates"), f"{pdf.long_date(audit.start_on)} – {pdf.long_date(audit.end_on)}"),
            (_("Organisations auditées"), ", ".join(o.name for o in audit.organisations) or "—"),
            (_("Référentiels"), " ; ".join(frameworks) or "—"),
            (_("Auditeur responsable"), lead),
            (_("Constats"), str(len(findings))),
        ],
    )
    story += pdf.heading(_("Synthèse par niveau"), st.h1)
    story.append(
        pdf.data_table(
            [_("Niveau"), _("Libellé"), _("Constats")],
            [[level.value, str(level.label), str(n)] for level, n in counts.items()],
            [15, 60, 25],
        )
    )
    story.append(Spacer(1, 5 * mm))
    for finding in findings:
        actions = svc.linked_actions(finding, explicit=True)
        requirement = svc.requirement_label(finding.requirement_kind, finding.requirement_ref)
        rows = [
            (_("Niveau"), f"{finding.level.value} — {finding.level.label}"),
            (_("Statut"), str(finding.status.label)),
            (_("Exigence"), f"{finding.requirement_kind.label} : {requirement}" if requirement else "—"),
            (
                _("Organisation concernée"),
                finding.concerned_organisation.name if finding.concerned_organisation else "—",
            ),
            (_("Description"), finding.description or "—"),
            (_("Analyse des causes"), finding.root_cause or "—"),
            (
                _("Actions correctives"),
                "\n".join(f"{a.reference} — {a.title} ({a.status.label})" for a in actions) or "—",
            ),
        ]
        story += pdf.heading(f"{finding.reference} — {finding.title}", st.h2)
        story += [pdf.field_table(rows), Spacer(1, 4 * mm)]
    if not findings:
        story.append(pdf.para(_("Aucun constat pour l'instant.")))
    info = pdf.DocInfo(
        title=title,
        subject=audit.title,
        author=owner.name if owner else "",
        generated_at=generated_at,
        running_title=f"{title} — {audit.title}",
    )
    return pdf.build(story, info)


def generate_findings(org: Organisation, actor: User | None, audit: Audit) -> tuple[GeneratedReport, bytes]:
    at = utcnow()
    content = findings_pdf(audit, generated_at=at)
    report = store_report(
        org,
        actor,
        kind=KIND,
        title=_("Constats de l'audit %(ref)s", ref=audit.reference),
        filename=document_filename(f"constats-{audit.reference}", org.short_name or org.name, at=at),
        content=content,
        object_id=audit.id,
    )
    return report, content
