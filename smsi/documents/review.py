"""The weekly SMSI review as a PDF: the agenda of the week (:func:`smsi.services.review.agenda`) —
incidents detected, changed, closed and still open; corrective actions due, overdue and checked;
breaches awaiting the CNIL decision with the deadline of their 72 hours — then the minutes
(held on, attendees, minutes, decisions) and the actions its decisions created, or blank lines to
fill in by hand when none are recorded yet, so the page printed before the meeting is its agenda and
the one printed after is its record.
Stored and journalled by :func:`reports.services.store_report`, like every generated document.

Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from accounts.models import Organisation, User
from core.db import utcnow
from core.security import Permission
from reports import pdf
from reports.documents import DocumentKind, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from smsi.documents.soa import SMSI_DOCUMENTS
from smsi.models import WeeklyReview
from smsi.services import review

KIND = "smsi_review"
# REGISTERS_VIEW for the same reason as the Statement of Applicability (smsi/documents/soa.py): the
# journal reads GeneratedReport entries under one permission; the same roles hold SMSI_VIEW.
register_document_kind(
    DocumentKind(KIND, _l("Revue hebdomadaire du SMSI"), Permission.REGISTERS_VIEW, section=SMSI_DOCUMENTS)
)
LIST_CAP = 200  # the agenda's longest lists stop there (smsi.services.review)


def _incident_rows(items: list[Any]) -> list[list[str]]:  # review.INCIDENT_COLUMNS rows
    return [
        [
            i.reference,
            i.title,
            str(i.severity.label),
            str(i.status.label),
            pdf.long_datetime(i.detected_at),
            _("oui") if i.has_personal_data else "—",
        ]
        for i in items
    ]


def _action_rows(items: list[Any], *, checked: bool = False) -> list[list[str]]:  # review.ACTION_COLUMNS rows
    rows = []
    for a in items:
        when = a.checked_on if checked else a.due_on
        rows.append(
            [
                a.reference,
                a.title,
                a.owner_name or "—",
                pdf.long_date(when),
                str(a.status.label),
            ]
        )
    return rows


def _capped(agenda: review.Agenda, name: str) -> list[Flowable]:
    """Under a list cut at LIST_CAP rows: how many it holds in all."""
    if not agenda.more(name):
        return []
    st = pdf.styles()
    shown, total = len(getattr(agenda, name)), agenda.totals[name]
    return [pdf.para(_("Les %(n)s premiers sur %(total)s.", n=shown, total=total), st.muted)]


def _minutes(stored: WeeklyReview | None) -> list[Flowable]:
    st = pdf.styles()
    if stored is None or not (stored.held_on or stored.minutes or stored.decisions or stored.attendees):
        blank = "_" * 60
        return [
            pdf.para(_("Compte rendu non saisi dans Égide : à compléter à la main."), st.muted),
            Spacer(1, 3 * mm),
            pdf.field_table(
                [
                    (_("Tenue le"), blank),
                    (_("Participants"), blank),
                    (_("Compte rendu"), f"{blank}\n\n{blank}\n\n{blank}"),
                    (_("Décisions"), f"{blank}\n\n{blank}"),
                ]
            ),
        ]
    return [
        pdf.field_table(
            [
                (_("Tenue le"), pdf.long_date(stored.held_on)),
                (_("Participants"), pdf.text_or_dash(stored.attendees)),
                (_("Compte rendu"), pdf.text_or_dash(stored.minutes)),
                (_("Décisions"), pdf.text_or_dash(stored.decisions)),
            ]
        )
    ]


def review_pdf(
    org: Organisation,
    agenda: review.Agenda,
    stored: WeeklyReview | None,
    *,
    generated_at: datetime,
) -> bytes:
    st = pdf.styles()
    title = _("Revue hebdomadaire du SMSI")
    week = _(
        "Semaine du %(a)s au %(b)s", a=pdf.long_date(agenda.week_start), b=pdf.long_date(agenda.week_end)
    )
    story: list[Flowable] = [
        pdf.para(title, st.title),
        pdf.para(f"{org.name} — {week}", st.h2),
        pdf.para(_("Document généré le %(when)s.", when=pdf.long_datetime(generated_at)), st.muted),
        Spacer(1, 4 * mm),
        pdf.field_table(
            [
                (_("Incidents détectés"), str(len(agenda.opened))),
                (_("Incidents clos"), str(len(agenda.closed))),
                (_("Incidents en cours à la fin de la semaine"), str(len(agenda.still_open))),
                (_("Actions à échéance dans la semaine"), str(len(agenda.actions_due))),
                (_("Actions en retard"), str(len(agenda.actions_overdue))),
                (_("Violations en attente de décision"), str(len(agenda.pending_breaches))),
            ],
            label_width=0.55,
        ),
    ]
    incident_headers = [
        _("Référence"),
        _("Titre"),
        _("Gravité"),
        _("État"),
        _("Détecté le"),
        _("Données perso."),
    ]
    incident_widths = [14, 31, 14, 12, 18, 11]
    for heading, name in (
        (_("Incidents détectés dans la semaine"), "opened"),
        (_("Incidents modifiés dans la semaine"), "changed"),
        (_("Incidents clos dans la semaine"), "closed"),
        (_("Incidents en cours à la fin de la semaine"), "still_open"),
    ):
        items = getattr(agenda, name)
        story += pdf.heading(heading, st.h2, keep=45 * mm)
        story.append(
            pdf.data_table(incident_headers, _incident_rows(items), incident_widths, empty=_("Aucun."))
        )
        story += _capped(agenda, name)
    action_headers = [_("Référence"), _("Titre"), _("Responsable"), _("Échéance"), _("État")]
    action_widths = [14, 38, 18, 16, 18]
    for heading, name in (
        (_("Actions à échéance dans la semaine"), "actions_due"),
        (_("Actions en retard"), "actions_overdue"),
    ):
        items = getattr(agenda, name)
        story += pdf.heading(heading, st.h2, keep=45 * mm)
        story.append(pdf.data_table(action_headers, _action_rows(items), action_widths, empty=_("Aucune.")))
        story += _capped(agenda, name)
    story += pdf.heading(_("Efficacité vérifiée dans la semaine"), st.h2, keep=45 * mm)
    checked_headers = [_("Référence"), _("Titre"), _("Responsable"), _("Vérifiée le"), _("Résultat")]
    story.append(
        pdf.data_table(
            checked_headers,
            _action_rows(agenda.actions_checked, checked=True),
            action_widths,
            empty=_("Aucune."),
        )
    )
    story += _capped(agenda, "actions_checked")
    story += pdf.heading(_("Violations de données en attente de décision"), st.h2, keep=45 * mm)
    story.append(
        pdf.data_table(
            [_("Organisation"), _("Violation"), _("Échéance des 72 h"), _("Temps restant")],
            [
                [b.organisation, b.reference, pdf.long_datetime(b.clock.deadline), _clock_text(b.clock)]
                for b in agenda.pending_breaches
            ],
            [34, 18, 28, 20],
            empty=_("Aucune."),
        )
    )
    story += pdf.heading(_("Compte rendu et décisions"), st.h1, keep=60 * mm)
    story += _minutes(stored)
    if stored is not None:
        story += pdf.heading(_("Actions décidées"), st.h2, keep=45 * mm)
        story.append(
            pdf.data_table(action_headers, _action_rows(agenda.decided), action_widths, empty=_("Aucune."))
        )
        story += _capped(agenda, "decided")
    info = pdf.DocInfo(
        title=f"{title} — {org.name}",
        subject=week,
        author=org.name,
        generated_at=generated_at,
        running_title=f"{title} — {org.name} — {week}",
    )
    return pdf.build(story, info)


def _clock_text(clock: Any) -> str:
    if clock.state == "late":
        return _("délai dépassé de %(n)s h", n=clock.hours_late)
    return _("%(h)s h %(m)s min restantes", h=clock.hours_left, m=clock.minutes_left)


def generate_review(org: Organisation, actor: User | None, week_start: date) -> GeneratedReport:
    """The review of the week starting ``week_start`` (a Monday) as a PDF, stored and journalled."""
    at = utcnow()
    agenda = review.agenda(org, week_start, limit=LIST_CAP)
    content = review_pdf(org, agenda, review.minutes_of(org.id, week_start), generated_at=at)
    return store_report(
        org,
        actor,
        kind=KIND,
        title=_(
            "Revue hebdomadaire du SMSI — %(org)s — semaine du %(d)s",
            org=org.name,
            d=pdf.long_date(week_start),
        ),
        filename=document_filename("revue-smsi", org.short_name or org.name, week_start.isoformat(), at=at),
        content=content,
    )
