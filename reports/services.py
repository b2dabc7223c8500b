"""Generated documents: keep every PDF handed out with its SHA-256, and journal it.

The domains build their documents (``registers/documents``) and hand the bytes to :func:`store_report`;
this module knows no domain: an organisation and an actor are whatever has an ``id``."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.orm import defer

from core import SQLITE_WRITER, audit
from core.db import utcnow
from core.extensions import db
from core.tenancy import UNSCOPED, scoped
from core.text import fold
from reports.documents import kind_of, readable_kinds
from reports.models import DocumentJob, DocumentJobStatus, GeneratedReport
from reports.pdf import paris

logger = logging.getLogger("egide.reports")


def store_report(
    org: Any,
    actor: Any,
    *,
    kind: str,
    title: str,
    filename: str,
    content: bytes,
    object_id: int | None = None,
    media_type: str = "application/pdf",
) -> GeneratedReport:
    """Save ``content`` as a generated document of ``org``; its SHA-256 goes to the journal too,
    so a document can be checked against the chain even if this row were altered. ``kind``: one
    the domain declared (:func:`reports.documents.register_document_kind`), else nobody could read it."""
    if kind_of(kind) is None:
        raise ValueError(f"reports: undeclared document kind {kind!r}")
    org_id = getattr(org, "id", org)  # an organisation, or its id (a background job)
    digest = hashlib.sha256(content).hexdigest()
    report = GeneratedReport(
        organisation_id=org_id,
        kind=kind,
        title=title[:300],
        filename=filename[:200],
        media_type=media_type,
        sha256=digest,
        size=len(content),
        content=content,
        created_by_id=getattr(actor, "id", None),
        object_id=object_id,
    )
    db.session.add(report)
    db.session.flush()
    audit.record(
        org_id,
        actor,
        "report.generate",
        report,
        {"kind": (None, kind), "filename": (None, report.filename), "sha256": (None, digest)},
    )
    return report


def report_titles(ids: Iterable[int]) -> dict[int, str]:
    """Titles of the active organisation's documents by id, of the kinds the user reads (the journal)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = db.session.execute(
        scoped(select(GeneratedReport.id, GeneratedReport.title), GeneratedReport).where(
            GeneratedReport.id.in_(ids), GeneratedReport.kind.in_(readable_kinds())
        )
    )
    return {row.id: row.title for row in rows}


def reports_query() -> Select[Any]:
    """The active organisation's documents of the kinds the user reads, newest first, without their
    bytes."""
    return (
        scoped(select(GeneratedReport), GeneratedReport)
        .where(GeneratedReport.kind.in_(readable_kinds()))
        .options(defer(GeneratedReport.content))
        .order_by(GeneratedReport.created_at.desc(), GeneratedReport.id.desc())
    )


def document_filename(*parts: str, at: Any) -> str:
    """``registre-ville-d-ivry-20261124-1405.pdf`` (ASCII: safe in every download dialog)."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", fold(part)).strip("-") for part in parts if part)
    return f"{slug[:150]}-{paris(at):%Y%m%d-%H%M}.pdf"


def size_label(size: int) -> str:
    """``12 ko``, ``2,4 Mo`` (French units)."""
    if size < 1024:
        return _("%(n)d octets", n=size)
    if size < 1024 * 1024:
        return _("%(n)d ko", n=round(size / 1024))
    return _("%(n)s Mo", n=f"{size / 1024 / 1024:.1f}".replace(".", ","))


# --- documents built by a background job -----------------------------------------------------------
# A domain's "generate" route asks for a job (:func:`request_document`) when the document is too large
# to build within a request, and declares the job (core.jobs) that calls :func:`run_document_job`
# with the function that builds it. The documents page shows the jobs in progress and polls them.

# A job left pending this long is said to wait for a worker (is one running?).
WORKER_WAIT_WARNING = timedelta(minutes=2)
# Failed jobs stay on the documents page this long (the error is on the jobs page for longer).
FAILED_SHOWN_FOR = timedelta(days=2)
# A progress step is written at most this often (each write is a short transaction of its own).
PROGRESS_EVERY_SECONDS = 0.5

Progress = Callable[[float], None]  # a fraction of the work done, 0 … 1


def request_document(
    org: Any, actor: Any, *, kind: str, title: str, options: dict[str, Any], item_count: int, locale: str
) -> DocumentJob:
    """A document of ``kind`` to build in the background for ``org``; the caller queues its job
    with the returned row's id and commits (the job starts after the commit)."""
    if kind_of(kind) is None:
        raise ValueError(f"reports: undeclared document kind {kind!r}")
    job = DocumentJob(
        organisation_id=org.id,
        kind=kind,
        title=title[:300],
        options=dict(options),
        locale=locale,
        item_count=item_count,
        requested_by_id=getattr(actor, "id", None),
    )
    db.session.add(job)
    db.session.flush()
    return job


def jobs_in_progress() -> list[DocumentJob]:
    """The active organisation's document jobs not yet done (pending, running) and those that failed
    lately, of the kinds the user reads, newest first."""
    since = utcnow() - FAILED_SHOWN_FOR
    stmt = (
        scoped(select(DocumentJob), DocumentJob)
        .where(
            DocumentJob.kind.in_(readable_kinds()),
            DocumentJob.status != DocumentJobStatus.DONE.value,
            DocumentJob.requested_at >= since,
        )
        .order_by(DocumentJob.requested_at.desc(), DocumentJob.id.desc())
        .limit(20)
    )
    return list(db.session.scalars(stmt))


def waits_for_a_worker(job: DocumentJob) -> bool:
    return job.status == DocumentJobStatus.PENDING and utcnow() - job.requested_at > WORKER_WAIT_WARNING


@contextmanager
def _own_transaction() -> Iterator[Any]:
    """A short transaction of its own, beside the job's (its state is seen by the page at once)."""
    writer = g.get(SQLITE_WRITER, False)
    setattr(g, SQLITE_WRITER, True)
    session = db.sessionmaker()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
        setattr(g, SQLITE_WRITER, writer)


def _set(job_id: int, **values: Any) -> None:
    with _own_transaction() as session:
        session.execute(
            update(DocumentJob)
            .where(DocumentJob.id == job_id)
            .values(**values)
            .execution_options(**UNSCOPED)  # unscoped: a job, outside any request; named by its id
        )


def progress_writer(job_id: int) -> Progress:
    """A :data:`Progress` that writes the job's percentage, at most every half second."""
    last = {"at": 0.0, "percent": -1}

    def report(fraction: float) -> None:
        percent = max(0, min(99, int(fraction * 100)))  # 100: only when stored
        now = time.monotonic()
        if percent <= last["percent"] or now - last["at"] < PROGRESS_EVERY_SECONDS:
            return
        last.update(at=now, percent=percent)
        _set(job_id, progress=percent)

    return report


@dataclass(frozen=True)
class BuiltDocument:
    """What a document job's ``build`` hands back: the document, not yet stored."""

    title: str
    filename: str
    content: bytes
    object_id: int | None = None


def run_document_job(job_id: int, build: Callable[[DocumentJob, Progress], BuiltDocument]) -> None:
    """The body of a domain's document job: mark it running, build the document in the language it
    was asked in, then store it (:func:`store_report`: kept with its SHA-256 and journalled as any
    other, in the name of the person who asked) and link it to the job. Building only reads: on
    SQLite no write lock is held while the PDF is laid out, the document is written at the end, in
    a transaction of its own. A failure is written on the job (the page says so) and raised again:
    the queue logs it, retries it, and the jobs page shows it."""
    job = _job(job_id)
    if job is None:
        logger.warning("document job %s: no such job", job_id)
        return
    if job.status == DocumentJobStatus.DONE:
        return  # already built (a relaunch of a job whose retry succeeded)
    writer = g.get(SQLITE_WRITER, False)
    db.session.rollback()  # each step below is a transaction of its own
    _set(job_id, status=DocumentJobStatus.RUNNING.value, started_at=utcnow(), progress=0, error=None)
    try:
        setattr(g, SQLITE_WRITER, False)  # building only reads
        job = _loaded(job_id)
        with force_locale(job.locale):
            built = build(job, progress_writer(job_id))
        db.session.rollback()  # end the reading before writing (SQLite: BEGIN IMMEDIATE below)
        setattr(g, SQLITE_WRITER, True)
        job = _loaded(job_id)
        report = store_report(
            job.organisation_id,
            job.requested_by,
            kind=job.kind,
            title=built.title,
            filename=built.filename,
            content=built.content,
            object_id=built.object_id,
        )
        job.status = DocumentJobStatus.DONE.value
        job.progress = 100
        job.finished_at = utcnow()
        job.report_id = report.id
        db.session.flush()
    except Exception as error:
        db.session.rollback()
        _set(
            job_id,
            status=DocumentJobStatus.FAILED.value,
            finished_at=utcnow(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    finally:
        setattr(g, SQLITE_WRITER, writer)


def _loaded(job_id: int) -> DocumentJob:
    job = _job(job_id)
    if job is None:  # read a moment ago; document jobs are never deleted
        raise LookupError(f"document job {job_id} vanished")
    return job


def _job(job_id: int) -> DocumentJob | None:
    # unscoped: a job runs outside any request; the row is named by its id
    return db.session.scalar(
        select(DocumentJob).where(DocumentJob.id == job_id).execution_options(**UNSCOPED)
    )
