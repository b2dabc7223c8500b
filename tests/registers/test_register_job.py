"""A large register's PDF is built by a background job (issue 13): the request only queues it, the
documents page shows its progress (htmx polling a small status page) and lists the document once
it is stored, journalled as any other; a failure is said on the page and recorded for the
administrator. Below the threshold the register is still built at once.

The tests' queue runs a job when its caller commits (huey's immediate mode, see test_jobs.py).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from core.audit import AuditEvent
from core.jobs import JobRun, current_huey
from core.security import Role
from registers import documents
from reports import pdf, services
from reports.models import DocumentJob, GeneratedReport
from tests import factories as f
from tests.conftest import World, acting_as


@pytest.fixture
def register(app: Flask, world: World, session: Any) -> Any:
    """Three fiches in the register of world A's syndicate (drafts count: they may be printed)."""
    org = world.a.syndicate
    for n in range(3):
        f.ProcessingActivityFactory(organisation=org, reference=f"TRT-JOB-{n}", name=f"Traitement {n}")
    session.flush()
    return org


@pytest.fixture
def threshold(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers of 3 fiches and more are printed by the worker."""
    monkeypatch.setitem(app.config, "REGISTER_PDF_JOB_THRESHOLD", 3)


@pytest.fixture(autouse=True)
def _empty_queue(app: Flask) -> Any:
    yield
    with app.app_context():
        current_huey().storage.flush_all()


def _jobs(session: Any) -> list[DocumentJob]:
    session.expire_all()
    return list(session.scalars(select(DocumentJob).order_by(DocumentJob.id)))


def test_a_register_below_the_threshold_is_built_during_the_request(
    world: World, register: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    response = client.post("/registers/documents/register")
    assert response.status_code == 302
    assert re.search(r"/reports/\d+$", response.location)
    assert _jobs(session) == []


def test_a_large_register_is_queued_then_built_by_the_job_and_listed_when_ready(
    app: Flask, world: World, register: Any, threshold: None, login_as: Any, session: Any
) -> None:
    dpo = world.a.users[Role.DPO]
    client = login_as(dpo, world.a.syndicate)
    response = client.post("/registers/documents/register", data={"drafts": "include"})
    assert response.status_code == 302
    assert response.location == "/reports/"  # the documents page, not the document: it is queued
    (job,) = _jobs(session)
    assert (job.status, job.progress, job.item_count) == ("done", 100, 3)
    assert job.options == {"include_drafts": True}
    assert job.requested_by_id == dpo.id
    assert job.started_at is not None
    assert job.finished_at is not None
    report = session.get(GeneratedReport, job.report_id)
    assert report.kind == "register"
    assert report.created_by_id == dpo.id
    assert report.title.endswith("(brouillons inclus)")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(report.content)).pages)
    assert "TRT-JOB-2" in text
    # Journalled as a document generated during a request is: by the person who asked.
    entry = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "report.generate", AuditEvent.object_id == report.id)
    )
    assert (entry.actor_id, entry.organisation_id) == (dpo.id, world.a.syndicate.id)
    (run,) = session.scalars(select(JobRun).where(JobRun.task_name == "registers.register_pdf")).all()
    assert (run.status, run.arguments) == ("done", [job.id])
    # The documents page: the flash, the document in the list, no job left in progress.
    page = client.get(response.location).get_data(as_text=True)
    assert "Le document est en préparation" in page
    assert f"/reports/{report.id}/download" in page
    assert "Documents en préparation" not in page
    # Its status page says it is ready and links the document; polled, it reloads the page.
    status = client.get(f"/reports/jobs/{job.id}")
    assert status.status_code == 200
    assert f'href="/reports/{report.id}"' in status.get_data(as_text=True)
    assert "HX-Refresh" not in status.headers
    polled = client.get(f"/reports/jobs/{job.id}", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"
    assert "<html" not in polled.get_data(as_text=True)


def test_the_job_prints_in_the_language_of_the_request(
    world: World, register: Any, threshold: None, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    client.post("/language", data={"lang": "en"})
    client.post("/registers/documents/register")
    (job,) = _jobs(session)
    assert job.locale == "en"
    assert job.title.startswith("Record of processing activities")
    report = session.get(GeneratedReport, job.report_id)
    assert report.title == f"Record of processing activities — {world.a.syndicate.name} (without drafts)"


def test_progress_is_written_as_the_fiches_are_laid_out(
    app: Flask, world: World, register: Any, threshold: None, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[int] = []
    original = services._set

    def spy(job_id: int, **values: Any) -> None:
        if "progress" in values and values.get("status") is None:
            written.append(values["progress"])
        original(job_id, **values)

    monkeypatch.setattr(services, "_set", spy)
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    client.post("/registers/documents/register", data={"drafts": "include"})  # the fiches are drafts
    assert written == sorted(written)
    assert written[0] == 10  # the fiches read
    assert 10 < written[1] < written[-1] <= 99  # then laid out (100 only once stored)
    assert len(written) >= 5  # 3 fiches, two passes


def test_build_with_pages_reports_each_section_in_both_passes(
    app: Flask, world: World, register: Any
) -> None:
    seen: list[float] = []
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        documents.build_register(world.a.syndicate, include_drafts=True, progress=seen.append)
    assert seen[0] == 0.1
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)
    assert len(seen) == 1 + 2 * 3  # the reading, then each fiche in the layout pass and the printing one
    assert pdf.MAX_PASSES >= 2


def test_a_failing_job_is_shown_failed_and_recorded_for_the_administrator(
    app: Flask,
    world: World,
    register: Any,
    threshold: None,
    login_as: Any,
    session: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("police introuvable")

    monkeypatch.setattr(documents, "build_register", broken)
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    response = client.post("/registers/documents/register")
    assert response.status_code == 302
    (job,) = _jobs(session)
    assert job.status == "failed"
    assert job.error == "RuntimeError: police introuvable"
    assert job.report_id is None
    assert (
        session.scalar(select(GeneratedReport).where(GeneratedReport.organisation_id == job.organisation_id))
        is None
    )
    (run,) = session.scalars(select(JobRun).where(JobRun.task_name == "registers.register_pdf")).all()
    assert run.status == "retrying"  # the queue tries again (and the jobs page shows it)
    page = client.get("/reports/").get_data(as_text=True)
    assert "Documents en préparation" in page
    assert "La génération a échoué" in page
    assert "police introuvable" not in page  # the error is the administrator's
    assert f'hx-get="/reports/jobs/{job.id}"' not in page  # no polling of a finished job


def test_the_documents_page_polls_a_job_in_progress(world: World, login_as: Any, session: Any) -> None:
    job = f.DocumentJobFactory(organisation=world.a.syndicate, progress=40, item_count=250)
    session.flush()
    client = login_as(world.a.users[Role.READER], world.a.syndicate)
    page = client.get("/reports/").get_data(as_text=True)
    assert "Documents en préparation" in page
    assert f'hx-get="/reports/jobs/{job.id}" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    assert '<progress class="w-100" max="100" value="40"' in page
    assert "250 fiche(s) à mettre en page" in page
    polled = client.get(f"/reports/jobs/{job.id}", headers={"HX-Request": "true"})
    assert polled.status_code == 200
    fragment = polled.get_data(as_text=True)
    assert fragment.lstrip().startswith(f'<div id="document-job-{job.id}"')
    assert 'hx-trigger="every 2s"' in fragment
    assert "HX-Refresh" not in polled.headers
    assert "Aucun processus de tâches de fond" not in fragment


def test_a_job_nobody_took_says_the_worker_may_be_down(world: World, login_as: Any, session: Any) -> None:
    job = f.DocumentJobFactory(organisation=world.a.syndicate, status="pending", progress=0)
    job.requested_at = dt.datetime.now(dt.UTC) - services.WORKER_WAIT_WARNING - dt.timedelta(seconds=5)
    session.flush()
    page = login_as(world.a.users[Role.DPO], world.a.syndicate).get(f"/reports/jobs/{job.id}")
    assert "Aucun processus de tâches de fond" in page.get_data(as_text=True)


def test_another_organisations_job_answers_404(world: World, login_as: Any, session: Any) -> None:
    job = f.DocumentJobFactory(organisation=world.b.syndicate)
    session.flush()
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert client.get(f"/reports/jobs/{job.id}").status_code == 404
    assert "Registre en préparation" not in client.get("/reports/").get_data(as_text=True)


def test_a_job_of_a_kind_the_user_cannot_read_answers_403(world: World, login_as: Any, session: Any) -> None:
    job = f.DocumentJobFactory(organisation=world.a.syndicate, kind="no-such-kind")
    session.flush()
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert client.get(f"/reports/jobs/{job.id}").status_code == 403
