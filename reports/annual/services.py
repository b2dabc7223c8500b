"""The annual report's services: who may choose which scope, the RSSI's texts (versioned,
journalled), the PDF asked for on the Rapports page and built by the job queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from core import audit
from core.concurrency import check_version, flush_or_conflict
from core.db import local_today, utcnow
from core.extensions import db
from core.forms import FieldError, raise_field_errors
from core.jobs import job
from core.roles import Role
from core.tenancy import UNSCOPED, scoped
from reports import services as reports
from reports.annual import document
from reports.annual.figures import SCOPE_MEMBERS, collect, organisations_table, scope_ids
from reports.annual.models import AnnualReportText
from reports.models import DocumentJob

KIND = "annual_report"
MAX_TEXT = 20_000
FIELDS = ("year", "highlights", "plan")
FIRST_YEAR = 2000
# Who chooses the consolidated report of the whole syndicate: its RSSI and its DPO.
CONSOLIDATING_ROLES = frozenset({Role.RSSI, Role.DPO})


def years() -> list[int]:
    """The years offered: this one and the nine before it, newest first."""
    this = local_today().year
    return list(range(this, this - 10, -1))


def default_year() -> int:
    return local_today().year - 1 if local_today().month <= 3 else local_today().year


def may_consolidate(org: Any, roles: frozenset[Role]) -> bool:
    """Whether the user may ask the report of all the members: in a syndicate, as its RSSI or DPO."""
    return bool(org is not None and org.is_syndicate and roles & CONSOLIDATING_ROLES)


def member_count(org_id: int, scope: str) -> int:
    # unscoped: the organisations of the report's scope, named by their ids
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(scope_ids(org_id, scope).subquery())
            .execution_options(**UNSCOPED)
        )
        or 0
    )


def organisation_name(org_id: int) -> str:
    orgs = organisations_table()
    # unscoped: the report's own organisation, named by its id (a background job has no request)
    return str(
        db.session.scalar(select(orgs.c.name).where(orgs.c.id == org_id).execution_options(**UNSCOPED))
    )


# --- the RSSI's texts ------------------------------------------------------------------------------


def texts_of(org_id: int, year: int) -> AnnualReportText | None:
    return db.session.scalar(
        scoped(select(AnnualReportText), AnnualReportText).where(
            AnnualReportText.organisation_id == org_id, AnnualReportText.year == year
        )
    )


def _texts_for_job(org_id: int, year: int) -> document.Texts:
    row = db.session.scalar(
        select(AnnualReportText)
        .where(AnnualReportText.organisation_id == org_id, AnnualReportText.year == year)
        .execution_options(**UNSCOPED)  # unscoped: a job, the organisation named by its id
    )
    return document.Texts(row.highlights if row else None, row.plan if row else None)


def save_texts(org: Any, actor: Any, year: int, data: Mapping[str, Any]) -> AnnualReportText:
    """Write (or rewrite, with the version the form showed) the highlights and plan of a year."""
    row = texts_of(org.id, year)
    if row is not None:
        check_version(row, data.get("version"))
    errors: list[FieldError] = []
    texts = {name: (str(data.get(name) or "").strip() or None) for name in ("highlights", "plan")}
    for name, text in texts.items():
        if text and len(text) > MAX_TEXT:
            errors.append(FieldError(name, _("%(n)s caractères au plus.", n=MAX_TEXT)))
    if not any(texts.values()):
        errors.append(
            FieldError("highlights", _("Rédigez les faits marquants ou le plan de l'année suivante."))
        )
    raise_field_errors(errors)
    action = "annual_report.texts.update" if row is not None else "annual_report.texts.create"
    row = row or AnnualReportText(organisation_id=org.id, year=year)
    with audit.audited(org.id, actor, action, row, FIELDS):
        for name, text in texts.items():
            setattr(row, name, text)
        if row.id is None:
            db.session.add(row)
        flush_or_conflict(row)
    return row


# --- the PDF, built by the job queue ----------------------------------------------------------------


def build(
    org_id: int, year: int, scope: str, progress: reports.Progress | None = None
) -> reports.BuiltDocument:
    figures = collect(org_id, year, scope, progress)
    name = organisation_name(org_id)
    doc = document.AnnualDoc(
        organisation=name,
        figures=figures,
        texts=_texts_for_job(org_id, year),
        generated_at=utcnow(),
        members=member_count(org_id, scope),
    )
    rest = (lambda f: progress(0.4 + 0.6 * f)) if progress is not None else None
    content = document.annual_pdf(doc, rest)
    suffix = _("consolide") if scope == SCOPE_MEMBERS else ""
    return reports.BuiltDocument(
        title=report_title(name, year, scope),
        filename=reports.document_filename("bilan", str(year), name, suffix, at=doc.generated_at),
        content=content,
    )


def report_title(name: str, year: int, scope: str) -> str:
    if scope == SCOPE_MEMBERS:
        return _("%(title)s — %(org)s et ses membres", title=document.title(year), org=name)
    return f"{document.title(year)} — {name}"


@job("reports.annual_pdf", label=_l("Bilan sécurité et conformité annuel"))
def build_annual_pdf(job_id: int) -> None:
    reports.run_document_job(job_id, _build_job)


def _build_job(document_job: DocumentJob, progress: reports.Progress) -> reports.BuiltDocument:
    options = document_job.options
    return build(document_job.organisation_id, int(options["year"]), str(options["scope"]), progress)


def queue_annual_pdf(org: Any, actor: Any, *, year: int, scope: str) -> DocumentJob:
    """Ask for the annual report in the background (built in the language of the request, stored
    and journalled in the name of ``actor``); the caller commits."""
    document_job = reports.request_document(
        org,
        actor,
        kind=KIND,
        title=report_title(org.name, year, scope),
        options={"year": year, "scope": scope},
        item_count=0,  # no fiche to lay out (the page says how many otherwise)
        locale=str(get_locale() or "fr"),
    )
    build_annual_pdf.enqueue(document_job.id)
    return document_job
