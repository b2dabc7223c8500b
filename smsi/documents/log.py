"""The SMSI's incident log and action plan as a PDF, for one organisation and a period (a calendar
year from the documents page; the evidence pack's period in a pack): a cover, the summary figures —
incidents detected in the period by severity and by status, with personal data, mean times to contain
and to resolve (from the timeline, as the dashboard reads them: :mod:`smsi.services.dashboard`);
corrective actions opened and closed in the period, open, overdue and awaiting their check today —,
the table of the period's incidents, then the action plan: the actions open today and those closed
(effectiveness verified) in the period, the overdue ones marked.

Every query names the organisation (no request is needed: the evidence packs' job builds it too);
the figures are grouped in the database, the tables are read in one query each (owners and origins
joined, breach counts grouped), cut at :data:`TABLE_CAP` rows with a line saying how many more exist.

Importing this module declares the kind to ``reports``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from accounts.models import Organisation, User
from core.db import PARIS, local_today, utcnow
from core.extensions import db
from core.figures import hours_between, number
from core.security import Permission
from core.tenancy import UNSCOPED
from registers.services import breaches as register_breaches
from reports import pdf
from reports.documents import DocumentKind, Generate, Period, register_document_kind
from reports.models import GeneratedReport
from reports.services import document_filename, store_report
from smsi.documents.soa import SMSI_DOCUMENTS
from smsi.forms.documents import LogDocumentForm
from smsi.models import (
    Action,
    ActionOrigin,
    ActionStatus,
    Incident,
    IncidentCategory,
    IncidentEvent,
    IncidentStatus,
    Severity,
)
from smsi.services.dashboard import CONTAINED_BY, RESOLVED_BY

KIND = "smsi_log"
TABLE_CAP = 2000  # rows per table; a line under it says how many more exist


def _log_for_pack(org: Organisation, period: Period | None) -> bytes:
    """The log of the pack's period (evidence packs: no request, the organisation named)."""
    return log_pdf(log_data(org, period), generated_at=utcnow())


# REGISTERS_VIEW as the SMSI's other documents (smsi/documents/review.py, soa.py): the journal reads
# GeneratedReport entries under one permission; the same roles hold SMSI_VIEW.
register_document_kind(
    DocumentKind(
        KIND,
        _l("Journal des incidents et plan d'actions"),
        Permission.REGISTERS_VIEW,
        section=SMSI_DOCUMENTS,
        generate=Generate(
            "smsi.log_pdf",
            _l("Générer le journal des incidents et plan d'actions (PDF)"),
            form=LogDocumentForm,
        ),
        build=_log_for_pack,
    )
)


def year_period(year: int) -> Period:
    return date(year, 1, 1), date(year, 12, 31)


def _instants(period: Period) -> tuple[datetime, datetime]:
    """The period's first day 00:00 to the day after its last, Paris time, as UTC instants."""
    start, last = period
    return (
        datetime.combine(start, time(), tzinfo=PARIS).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=PARIS).astimezone(UTC),
    )


def _of(stmt: Select[Any], model: Any, org_id: int) -> Select[Any]:
    # unscoped: filtered on the organisation explicitly (the packs' job has no request)
    return stmt.where(model.organisation_id == org_id).execution_options(**UNSCOPED)


@dataclass(frozen=True)
class IncidentRow:
    id: int
    reference: str
    title: str
    category: IncidentCategory
    severity: Severity
    status: IncidentStatus
    detected_at: datetime
    closed_at: datetime | None
    breaches: int = 0


@dataclass(frozen=True)
class ActionRow:
    reference: str
    title: str
    origin: ActionOrigin
    origin_text: str  # the incident's reference, or the origin described
    owner: str | None
    due_on: date
    status: ActionStatus
    checked_on: date | None
    overdue: bool


@dataclass
class LogData:
    organisation: str
    period: Period
    today: date
    detected: int = 0
    by_severity: dict[Severity, int] = field(default_factory=dict)
    by_status: dict[IncidentStatus, int] = field(default_factory=dict)
    with_personal_data: int = 0
    mean_to_contain: float | None = None  # hours
    mean_to_resolve: float | None = None
    contained: int = 0  # incidents of the period that reached the stage (the means' counts)
    resolved: int = 0
    actions_opened: int = 0
    actions_closed: int = 0  # effectiveness verified in the period (the only way an action closes)
    actions_open: int = 0  # today
    actions_overdue: int = 0
    actions_to_check: int = 0  # done, effectiveness to verify
    incidents: list[IncidentRow] = field(default_factory=list)
    open_actions: list[ActionRow] = field(default_factory=list)
    closed_actions: list[ActionRow] = field(default_factory=list)


def _first_event(kinds: tuple[Any, ...]) -> Any:
    e = IncidentEvent
    return (
        select(func.min(e.at))
        .where(e.incident_id == Incident.id, e.kind.in_(kinds))
        .correlate(Incident)
        .scalar_subquery()
    )


def _incident_figures(doc: LogData, org_id: int, start: datetime, end: datetime) -> None:
    i = Incident
    in_period = and_(i.detected_at >= start, i.detected_at < end)
    rows = db.session.execute(
        _of(select(i.severity, i.status, i.has_personal_data, func.count()), i, org_id)
        .where(in_period)
        .group_by(i.severity, i.status, i.has_personal_data)
    ).all()
    by_severity: Counter[Severity] = Counter()
    by_status: Counter[IncidentStatus] = Counter()
    for severity, status, personal, n in rows:
        by_severity[Severity(severity)] += int(n)
        by_status[IncidentStatus(status)] += int(n)
        if personal:
            doc.with_personal_data += int(n)
    doc.by_severity = {s: by_severity[s] for s in Severity}
    doc.by_status = {s: by_status[s] for s in IncidentStatus}
    doc.detected = sum(by_severity.values())
    # The means, computed in the database: the first timeline entry of each stage per incident.
    times = (
        _of(
            select(
                i.detected_at.label("detected_at"),
                _first_event(CONTAINED_BY).label("contained_at"),
                _first_event(RESOLVED_BY).label("resolved_at"),
            ),
            i,
            org_id,
        )
        .where(in_period)
        .subquery()
    )
    contain = hours_between(times.c.contained_at, times.c.detected_at)
    resolve = hours_between(times.c.resolved_at, times.c.detected_at)
    means = db.session.execute(
        select(
            func.avg(contain),
            func.count(times.c.contained_at),
            func.avg(resolve),
            func.count(times.c.resolved_at),
        )
    ).one()
    doc.mean_to_contain = None if means[0] is None else max(float(means[0]), 0.0)
    doc.contained = int(means[1] or 0)
    doc.mean_to_resolve = None if means[2] is None else max(float(means[2]), 0.0)
    doc.resolved = int(means[3] or 0)


def _incident_rows(doc: LogData, org_id: int, start: datetime, end: datetime) -> None:
    i = Incident
    rows = db.session.execute(
        _of(
            select(i.id, i.reference, i.title, i.category, i.severity, i.status, i.detected_at, i.closed_at),
            i,
            org_id,
        )
        .where(i.detected_at >= start, i.detected_at < end)
        .order_by(i.detected_at, i.id)
        .limit(TABLE_CAP)
    ).all()
    counts = register_breaches.breach_counts_of_incidents(r.id for r in rows)  # one grouped query
    doc.incidents = [
        IncidentRow(
            r.id,
            r.reference,
            r.title,
            IncidentCategory(r.category),
            Severity(r.severity),
            IncidentStatus(r.status),
            r.detected_at,
            r.closed_at,
            counts.get(r.id, 0),
        )
        for r in rows
    ]


def _action_figures(doc: LogData, org_id: int, start: datetime, end: datetime) -> None:
    a = Action
    first, last = doc.period
    today = doc.today
    closed_in_period = and_(a.status == ActionStatus.EFFECTIVE, a.checked_on >= first, a.checked_on <= last)
    row = db.session.execute(
        _of(
            select(
                func.count().filter(and_(a.created_at >= start, a.created_at < end)),
                func.count().filter(closed_in_period),
                func.count().filter(a.is_open.is_(True)),
                func.count().filter(and_(a.is_open.is_(True), a.due_on < today)),
                func.count().filter(a.status == ActionStatus.DONE),
            ),
            a,
            org_id,
        )
    ).one()
    doc.actions_opened, doc.actions_closed, doc.actions_open, doc.actions_overdue, doc.actions_to_check = (
        int(n or 0) for n in row
    )


def _action_rows(org_id: int, today: date, *condition: Any, order: tuple[Any, ...]) -> list[ActionRow]:
    """One query: the actions, their owner's name and their incident's reference joined."""
    a = Action
    owner = aliased(User)
    source = aliased(Incident)
    rows = db.session.execute(
        _of(
            select(
                a.reference,
                a.title,
                a.origin,
                a.origin_detail,
                source.reference.label("incident_reference"),
                owner.full_name,
                a.due_on,
                a.status,
                a.checked_on,
                a.is_open,
            )
            .outerjoin(owner, owner.id == a.owner_id)
            .outerjoin(source, and_(source.id == a.incident_id, source.organisation_id == org_id)),
            a,
            org_id,
        )
        .where(*condition)
        .order_by(*order)
        .limit(TABLE_CAP)
    ).all()
    return [
        ActionRow(
            r.reference,
            r.title,
            ActionOrigin(r.origin),
            r.incident_reference or r.origin_detail or "",
            r.full_name,
            r.due_on,
            ActionStatus(r.status),
            r.checked_on,
            bool(r.is_open) and r.due_on < today,
        )
        for r in rows
    ]


def log_data(org: Organisation, period: Period | None = None, *, today: date | None = None) -> LogData:
    """What the document prints for ``org`` over ``period`` (first and last day; ``None``: the
    current calendar year). Reads only, every query filtered on ``org``."""
    today = today or local_today()
    period = period or year_period(today.year)
    doc = LogData(organisation=org.name, period=period, today=today)
    start, end = _instants(period)
    _incident_figures(doc, org.id, start, end)
    _incident_rows(doc, org.id, start, end)
    _action_figures(doc, org.id, start, end)
    a = Action
    doc.open_actions = _action_rows(org.id, today, a.is_open.is_(True), order=(a.due_on, a.id))
    doc.closed_actions = _action_rows(
        org.id,
        today,
        a.status == ActionStatus.EFFECTIVE,
        a.checked_on >= period[0],
        a.checked_on <= period[1],
        order=(a.checked_on, a.id),
    )
    return doc


# --- the PDF --------------------------------------------------------------------------------------


def period_text(period: Period) -> str:
    return _("du %(a)s au %(b)s", a=pdf.long_date(period[0]), b=pdf.long_date(period[1]))


def _hours(value: float | None, count: int) -> str:
    if value is None:
        return _("— (aucun incident n'a atteint cette étape)")
    shown = _("%(d)s jours", d=number(value / 24, 1)) if value >= 48 else _("%(h)s h", h=number(value, 1))
    return _("%(value)s (sur %(n)s incidents)", value=shown, n=count)


def _cut_line(shown: int, total: int) -> list[Flowable]:
    if total <= shown:
        return []
    st = pdf.styles()
    return [
        pdf.para(
            _(
                "Les %(n)s premiers sont imprimés ; %(more)s autres existent (%(total)s en tout).",
                n=shown,
                more=total - shown,
                total=total,
            ),
            st.muted,
        )
    ]


def _summary(doc: LogData) -> list[Flowable]:
    st = pdf.styles()
    story: list[Flowable] = pdf.heading(_("Synthèse"), st.h1)
    story.append(
        pdf.field_table(
            [
                (_("Incidents détectés dans la période"), str(doc.detected)),
                (_("dont avec données personnelles"), str(doc.with_personal_data)),
                (_("Délai moyen de confinement"), _hours(doc.mean_to_contain, doc.contained)),
                (_("Délai moyen de résolution"), _hours(doc.mean_to_resolve, doc.resolved)),
            ],
            label_width=0.5,
        )
    )
    story += pdf.heading(_("Incidents de la période par gravité"), st.h2, keep=30 * mm)
    severities = list(reversed(Severity))
    story.append(
        pdf.data_table(
            [str(s.label) for s in severities],
            [[str(doc.by_severity.get(s, 0)) for s in severities]],
            [1] * len(severities),
        )
    )
    story += pdf.heading(_("Incidents de la période par état"), st.h2, keep=30 * mm)
    story.append(
        pdf.data_table(
            [str(s.label) for s in IncidentStatus],
            [[str(doc.by_status.get(s, 0)) for s in IncidentStatus]],
            [1] * len(IncidentStatus),
        )
    )
    story += pdf.heading(_("Actions correctives et préventives"), st.h2, keep=35 * mm)
    story.append(
        pdf.field_table(
            [
                (_("Actions ouvertes dans la période"), str(doc.actions_opened)),
                (_("Actions closes dans la période (efficacité vérifiée)"), str(doc.actions_closed)),
                (_("Actions ouvertes à ce jour"), str(doc.actions_open)),
                (_("dont en retard à ce jour"), str(doc.actions_overdue)),
                (_("dont réalisées, efficacité à vérifier"), str(doc.actions_to_check)),
            ],
            label_width=0.5,
        )
    )
    return story


def _incident_table(doc: LogData) -> list[Flowable]:
    st = pdf.styles()
    story = pdf.heading(_("Incidents détectés dans la période"), st.h1)
    story.append(
        pdf.data_table(
            [
                _("Référence"),
                _("Titre"),
                _("Catégorie"),
                _("Gravité"),
                _("État"),
                _("Détecté le"),
                _("Clos le"),
                _("Violations"),
            ],
            [
                [
                    r.reference,
                    r.title,
                    str(r.category.label),
                    str(r.severity.label),
                    str(r.status.label),
                    pdf.fr_datetime(r.detected_at),
                    pdf.fr_datetime(r.closed_at),
                    str(r.breaches),
                ]
                for r in doc.incidents
            ],
            [13, 22, 15, 12, 9, 13, 13, 8],
            empty=_("Aucun incident détecté dans la période."),
        )
    )
    return story + _cut_line(len(doc.incidents), doc.detected)


def _action_cells(rows: list[ActionRow]) -> list[list[str]]:
    out = []
    for r in rows:
        due = pdf.fr_date(r.due_on)
        if r.overdue:
            due = _("%(date)s — EN RETARD", date=due)
        origin = str(r.origin.label)
        if r.origin_text:
            origin = f"{origin} : {r.origin_text}"
        out.append(
            [
                r.reference,
                r.title,
                origin,
                r.owner or "—",
                due,
                str(r.status.label),
                pdf.fr_date(r.checked_on),
            ]
        )
    return out


def _action_tables(doc: LogData) -> list[Flowable]:
    st = pdf.styles()
    headers = [
        _("Référence"),
        _("Titre"),
        _("Origine"),
        _("Responsable"),
        _("Échéance"),
        _("État"),
        _("Efficacité vérifiée le"),
    ]
    widths = [13, 24, 17, 13, 12, 12, 11]
    story = pdf.heading(_("Plan d'actions"), st.h1)
    story += pdf.heading(_("Actions ouvertes à ce jour"), st.h2)
    story.append(
        pdf.data_table(headers, _action_cells(doc.open_actions), widths, empty=_("Aucune action ouverte."))
    )
    story += _cut_line(len(doc.open_actions), doc.actions_open)
    story += pdf.heading(_("Actions closes dans la période (efficacité vérifiée)"), st.h2)
    story.append(
        pdf.data_table(
            headers,
            _action_cells(doc.closed_actions),
            widths,
            empty=_("Aucune action close dans la période."),
        )
    )
    story += _cut_line(len(doc.closed_actions), doc.actions_closed)
    return story


def log_pdf(doc: LogData, *, generated_at: datetime) -> bytes:
    title = _("Journal des incidents et plan d'actions")
    when = period_text(doc.period)
    story: list[Flowable] = pdf.cover_page(
        title,
        doc.organisation,
        [
            (_("Période"), when),
            (_("Généré le"), pdf.long_datetime(generated_at)),
            (_("Incidents détectés dans la période"), str(doc.detected)),
            (_("Actions ouvertes à ce jour"), str(doc.actions_open)),
        ],
        notes=[
            _(
                "Délais de confinement et de résolution : depuis la détection jusqu'à la première entrée "
                "de la chronologie de l'incident qui atteint l'étape (confinement, éradication, "
                "rétablissement ou clôture ; rétablissement ou clôture pour la résolution). Les actions "
                "ouvertes et en retard le sont à la date de génération du document."
            )
        ],
    )
    story += _summary(doc)
    story += _incident_table(doc)
    story += _action_tables(doc)
    info = pdf.DocInfo(
        title=f"{title} — {doc.organisation}",
        subject=when,
        author=doc.organisation,
        generated_at=generated_at,
        running_title=f"{title} — {doc.organisation} — {when}",
    )
    return pdf.build(story, info)


def generate_log(org: Organisation, actor: User | None, period: Period) -> GeneratedReport:
    """The log of ``period`` for ``org`` as a PDF, stored and journalled."""
    at = utcnow()
    content = log_pdf(log_data(org, period), generated_at=at)
    return store_report(
        org,
        actor,
        kind=KIND,
        title=_(
            "Journal des incidents et plan d'actions — %(org)s — %(period)s",
            org=org.name,
            period=period_text(period),
        ),
        filename=document_filename(
            "journal-incidents-actions", org.short_name or org.name, period[0].isoformat(), at=at
        ),
        content=content,
    )
