"""Background jobs (core.jobs): declared jobs and their schedules, a job queued when its caller
commits and recorded on the jobs page, retries with back-off then failure, each periodic job's
effect, the weekly digest and its opt-out, the jobs page and its "Relancer", ``flask worker``.

The tests' queue runs each job when it is handed over (huey's immediate mode, in memory); a retry
waits in the schedule, and the tests run it by hand at its time.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from huey.api import Huey
from sqlalchemy import func, select

from accounts.models import User
from accounts.services.digest import recipient_ids
from core import audit
from core.audit import AuditAnchor, AuditEvent, Ref
from core.db import PARIS, local_today
from core.extensions import db
from core.jobs import JobRun, current_huey, enqueue, paris_crontab, queue
from core.mail import outbox
from core.security import Role
from tests import factories as f
from tests.conftest import World, csrf_token_from

FAILING = "tests.always_fails"
ECHO = "tests.echo"
calls: list[Any] = []


def _echo(*args: Any) -> None:
    calls.append(args)


def _always_fails(*args: Any) -> None:
    calls.append(args)
    raise RuntimeError("serveur de courriel injoignable")


@pytest.fixture(autouse=True)
def queue_of_the_test(app: Flask) -> Iterator[Huey]:
    """Two jobs of the tests' own, given once to the app's queue; the queue emptied after each test."""
    registry = app.extensions[queue.EXTENSION]
    huey = registry["huey"]
    for name, function in ((ECHO, _echo), (FAILING, _always_fails)):
        if name not in registry["tasks"]:
            spec = queue.JobSpec(name, function, name)
            queue._specs[name] = spec
            registry["tasks"][name] = queue._install_task(huey, app, spec)
    calls.clear()
    yield huey
    huey.storage.flush_all()
    calls.clear()


def failed_run_id(_: Any = None) -> int:
    """A failed run of the nightly signing, written in the test's session (for the route walkers)."""
    session = f._SessionHolder.session
    run = JobRun(
        task_id=f"failed-{uuid.uuid4()}",
        task_name="audit.anchor",
        arguments=[],
        args_summary="",
        status="failed",
        attempts=4,
        error="RuntimeError: essai",
    )
    session.add(run)
    session.flush()
    return run.id


def runs(name: str | None = None) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id)
    if name is not None:
        stmt = stmt.where(JobRun.task_name == name)
    return list(db.session.scalars(stmt))


def run_job(app: Flask, name: str, *args: Any) -> None:
    """Queue a job as a service does, then commit: the tests' queue runs it at once."""
    with app.app_context():
        enqueue(name, *args)
        db.session.commit()


# --- declaring and scheduling ---------------------------------------------------------------------


def test_every_job_is_given_to_the_queue(app: Flask) -> None:
    tasks = app.extensions[queue.EXTENSION]["tasks"]
    assert {
        "audit.anchor",
        "registers.purge_imports",
        "accounts.weekly_digest",
        "accounts.send_digest",
    } <= set(tasks)


def _utc(local: dt.datetime) -> dt.datetime:
    """What huey's scheduler hands the jobs: naive UTC."""
    return local.replace(tzinfo=PARIS).astimezone(dt.UTC).replace(tzinfo=None)


def test_the_weekly_digest_runs_on_monday_at_seven_in_france_summer_and_winter(app: Flask) -> None:
    weekly = queue._specs["accounts.weekly_digest"].schedule
    assert weekly is not None
    for monday in (dt.datetime(2026, 12, 7, 7, 0), dt.datetime(2026, 7, 6, 7, 0)):  # CET, CEST
        assert weekly(_utc(monday))
        assert not weekly(_utc(monday + dt.timedelta(hours=1)))
        assert not weekly(_utc(monday + dt.timedelta(days=1)))
    assert not weekly(dt.datetime(2026, 12, 7, 7, 0))  # 7:00 UTC is 8:00 in Paris


def test_the_nightly_jobs_run_once_a_day(app: Flask) -> None:
    for name in ("audit.anchor", "registers.purge_imports"):
        schedule = queue._specs[name].schedule
        assert schedule is not None
        minutes = [_utc(dt.datetime(2026, 12, 3) + dt.timedelta(minutes=m)) for m in range(24 * 60)]
        assert sum(1 for m in minutes if schedule(m)) == 1


def test_paris_crontab_refuses_a_malformed_rule() -> None:
    with pytest.raises(ValueError, match="61"):
        paris_crontab("61")


def test_an_unknown_queue_url_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "QUEUE_URL", "amqp://localhost")
    with pytest.raises(ValueError, match="QUEUE_URL"):
        queue.build_huey(app)


def test_redis_and_sqlite_queues_are_built_from_the_url(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(app.config, "QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "QUEUE_URL", "redis://127.0.0.1:6379/15")
    assert type(queue.build_huey(app)).__name__ == "RedisHuey"
    monkeypatch.setitem(app.config, "QUEUE_URL", f"sqlite:///{tmp_path}/queue.sqlite3")
    assert type(queue.build_huey(app)).__name__ == "SqliteHuey"
    assert (tmp_path / "queue.sqlite3").exists()


# --- queueing, running, recording ---------------------------------------------------------------


def test_a_job_runs_when_its_caller_commits_and_is_recorded_done(app: Flask) -> None:
    with app.app_context():
        enqueue(ECHO, 42, "registre")
        assert calls == []  # not before the commit: the rows it reads may not exist yet
        db.session.commit()
        assert calls == [(42, "registre")]
        (run,) = runs(ECHO)
        assert (run.status, run.attempts, run.args_summary, run.arguments) == (
            "done",
            1,
            "42, 'registre'",
            [42, "registre"],
        )
        assert run.started_at is not None
        assert run.finished_at is not None
        assert run.error is None


def test_a_rolled_back_caller_queues_nothing(app: Flask) -> None:
    with app.app_context():
        enqueue(ECHO, 1)
        db.session.rollback()
        db.session.commit()
        assert calls == []
        assert runs(ECHO) == []


def test_a_job_the_queue_cannot_take_is_written_failed_and_can_be_relaunched(
    app: Flask, world: World, login_as: Any, queue_of_the_test: Huey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down when the caller commits: the caller's change stays saved (no error raised from the
    commit, so no 500 page after a saved change); the job is on the jobs page, failed, with the
    reason and its arguments; once the queue is back, "Relancer" runs it."""
    real_enqueue = queue_of_the_test.enqueue

    def unreachable(task: Any) -> Any:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(queue_of_the_test, "enqueue", unreachable)
    with app.app_context():
        enqueue(ECHO, 7, "registre")
        db.session.commit()  # does not raise
        assert calls == []
        (run,) = runs(ECHO)
        assert (run.status, run.arguments, run.attempts) == ("failed", [7, "registre"], 0)
        assert "file des tâches était injoignable" in run.error
        assert "Connection refused" in run.error
        run_id = run.id
    monkeypatch.setattr(queue_of_the_test, "enqueue", real_enqueue)
    client = login_as(world.a.users[Role.ADMIN])
    page = client.get("/admin/jobs/?status=failed").get_data(as_text=True)
    assert "injoignable" in page
    response = client.post(f"/admin/jobs/{run_id}/relaunch", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert calls == [(7, "registre")]


def test_an_unknown_job_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(KeyError):
        enqueue("no.such.job")


def test_a_failing_job_is_retried_with_growing_delays_then_recorded_failed(
    app: Flask, queue_of_the_test: Huey, caplog: pytest.LogCaptureFixture
) -> None:
    huey = queue_of_the_test
    caplog.set_level(logging.WARNING, logger="egide.jobs")
    run_job(app, FAILING, 7)
    with app.app_context():
        (run,) = runs(FAILING)
        assert (run.status, run.attempts) == ("retrying", 1)
        assert run.error == "RuntimeError: serveur de courriel injoignable"
        assert run.task_id in caplog.text  # logged with the job's id
        delays = []
        for _ in range(3):
            (task,) = huey.scheduled()
            delays.append(round((task.eta - huey._get_timestamp()).total_seconds() / 60))
            huey.storage.flush_schedule()
            huey.execute(task, timestamp=task.eta)
        assert delays == [1, 2, 4]  # 60 s, then doubled: huey's back-off
        assert huey.scheduled() == []
        db.session.expire_all()
        (run,) = runs(FAILING)
        assert (run.status, run.attempts) == ("failed", 4)
        assert calls == [(7,)] * 4
        assert "no retry left" in caplog.text


# --- each job's effect ------------------------------------------------------------------------------


def test_the_nightly_job_signs_the_journal_heads(
    app: Flask, session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setitem(app.config, "AUDIT_TRUSTED_PUBLIC_KEY_FILES", ())
    org = f.SyndicateFactory()
    with app.app_context():
        audit.record(org.id, None, "probe", Ref("Probe", 1))
        audit.record(org.id, None, "probe", Ref("Probe", 2))
        db.session.commit()
    run_job(app, "audit.anchor")
    with app.app_context():
        anchors = db.session.scalars(select(AuditAnchor).where(AuditAnchor.chain == org.id)).all()
        assert [a.seq for a in anchors] == [2]
        assert runs("audit.anchor")[0].status == "done"


def test_the_nightly_job_purges_expired_import_files(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "imports"
    folder.mkdir()
    (folder / "abc.upload").write_bytes(b"registre")
    monkeypatch.setitem(app.config, "REGISTER_IMPORT_DIR", str(folder))
    run_job(app, "registers.purge_imports")
    assert list(folder.iterdir()) == []
    with app.app_context():
        assert runs("registers.purge_imports")[0].status == "done"


# --- the weekly digest ------------------------------------------------------------------------------


@pytest.fixture
def deadlines(world: World, session: Any) -> dict[str, Any]:
    """World A's syndicate: a rights request overdue, one due in three days, one next month, a
    breach awaiting the CNIL decision, a fiche to review on Friday and one with a template change."""
    today = local_today()
    org = world.a.syndicate
    made = {
        "overdue": f.RightsRequestFactory(
            organisation=org, reference="DRO-RETARD", due_on=today - dt.timedelta(days=2)
        ),
        "soon": f.RightsRequestFactory(
            organisation=org, reference="DRO-BIENTOT", due_on=today + dt.timedelta(days=3)
        ),
        "later": f.RightsRequestFactory(
            organisation=org, reference="DRO-PLUS-TARD", due_on=today + dt.timedelta(days=30)
        ),
        "breach": f.BreachFactory(organisation=org, reference="VIO-ATTENTE", title="Clé USB perdue"),
        "review": f.ProcessingActivityFactory(
            organisation=org,
            reference="TRT-REVUE",
            name="État civil",
            next_review_on=today + dt.timedelta(days=4),
        ),
        "template": f.ProcessingActivityFactory(
            organisation=org, reference="TRT-MODELE", has_model_update=True
        ),
        "closed": f.RightsRequestFactory(
            organisation=org, reference="DRO-CLOSE", due_on=today - dt.timedelta(days=1), is_open=False
        ),
    }
    session.flush()
    return made


def mails_to(user: User) -> list[Any]:
    return [m for m in outbox if m.to == user.email]


def test_the_weekly_digest_lists_each_organisations_deadlines_to_its_dpo(
    app: Flask, world: World, deadlines: dict[str, Any]
) -> None:
    run_job(app, "accounts.weekly_digest")
    dpo = world.a.users[Role.DPO]
    (mail,) = mails_to(dpo)
    assert mail.subject.startswith("Égide : vos échéances de la semaine du ")
    text = mail.body
    assert "Syndicat A" in text
    late, week = text.split("En retard :")[1].split("Cette semaine :")
    assert "DRO-RETARD — Accès (art. 15)" in late
    assert "DRO-BIENTOT" in week
    assert "DRO-BIENTOT" not in late
    assert "VIO-ATTENTE — Clé USB perdue" in week
    assert "Revue de fiche de traitement : TRT-REVUE — État civil" in week
    assert "Changement de modèle à examiner : 1 fiche à décider" in week
    assert "DRO-PLUS-TARD" not in text
    assert "DRO-CLOSE" not in text
    assert "Mon compte" in text
    assert mail.html is not None
    assert "<li><strong>Demande d&#39;exercice de droits</strong> : DRO-RETARD" in mail.html
    # A mail per recipient, each its own job (a retry never sends the others' again).
    with app.app_context():
        sent = [r for r in runs("accounts.send_digest") if r.arguments[0] == dpo.id]
    assert [r.status for r in sent] == ["done"]


def test_the_digest_goes_to_dpos_and_referents_only_and_never_empty(
    app: Flask, world: World, deadlines: dict[str, Any]
) -> None:
    run_job(app, "accounts.weekly_digest")
    a, b = world.a, world.b
    assert {m.to for m in outbox} == {a.users[Role.DPO].email, a.users[Role.REFERENT].email}
    # Recipients of B (and A's member town) have nothing due: asked, but sent nothing.
    with app.app_context():
        ids = recipient_ids()
    assert {b.users[Role.DPO].id, a.member_referent.id} <= set(ids)
    assert a.users[Role.RSSI].id not in ids
    assert a.users[Role.READER].id not in ids


def test_a_user_who_opted_out_gets_no_digest(
    app: Flask, world: World, deadlines: dict[str, Any], session: Any
) -> None:
    dpo = world.a.users[Role.DPO]
    dpo.is_digest_subscribed = False
    session.flush()
    run_job(app, "accounts.weekly_digest")
    assert mails_to(dpo) == []
    assert mails_to(world.a.users[Role.REFERENT])


def test_opting_out_on_my_account_is_saved_and_journalled(app: Flask, world: World, login_as: Any) -> None:
    dpo = world.a.users[Role.DPO]
    client = login_as(dpo)
    page = client.get("/account/").get_data(as_text=True)
    assert "Récapitulatif hebdomadaire" in page
    assert 'name="is_digest_subscribed"' in page
    assert "checked" in page
    response = client.post("/account/digest", data={})
    assert response.status_code == 302
    assert "Vous ne recevrez plus le récapitulatif hebdomadaire." in client.get("/account/").get_data(
        as_text=True
    )
    with app.app_context():
        user = db.session.get(User, dpo.id)
        assert user is not None
        assert user.is_digest_subscribed is False
        action = db.session.scalar(
            select(AuditEvent.action).where(
                AuditEvent.action == "account.digest", AuditEvent.actor_id == dpo.id
            )
        )
        assert action == "account.digest"
    client.post("/account/digest", data={"is_digest_subscribed": "y"})
    with app.app_context():
        user = db.session.get(User, dpo.id)
        assert user is not None
        assert user.is_digest_subscribed is True


# --- the jobs page --------------------------------------------------------------------------------


def _failed_run(app: Flask, huey: Huey) -> JobRun:
    run_job(app, FAILING, 3)
    with app.app_context():
        for _ in range(3):
            (task,) = huey.scheduled()
            huey.storage.flush_schedule()
            huey.execute(task, timestamp=task.eta)
        (run,) = runs(FAILING)
        assert run.status == "failed"
        return run


@pytest.mark.parametrize("role", [Role.DPO, Role.RSSI, Role.READER, Role.AUDITOR, Role.REFERENT])
def test_only_the_platform_administrator_sees_the_jobs_page(world: World, login_as: Any, role: Role) -> None:
    client = login_as(world.a.users[role])
    assert client.get("/admin/jobs/").status_code == 403
    assert client.post("/admin/jobs/1/relaunch").status_code == 403


def test_the_jobs_page_asks_anonymous_visitors_to_log_in(app: Flask) -> None:
    response = app.test_client().get("/admin/jobs/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_the_administrator_sees_each_job_state_and_relaunches_a_failed_one(
    app: Flask, world: World, login_as: Any, queue_of_the_test: Huey
) -> None:
    run_job(app, ECHO, 1)
    failed = _failed_run(app, queue_of_the_test)
    client = login_as(world.a.users[Role.ADMIN])
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "Tâches de fond" in page
    assert "En échec" in page
    assert "Terminée" in page
    assert "RuntimeError: serveur de courriel injoignable" in page
    assert page.count(">Relancer<") == 1
    only_failed = client.get("/admin/jobs/?status=failed").get_data(as_text=True)
    assert FAILING in only_failed
    assert ECHO not in only_failed
    calls.clear()
    response = client.post(f"/admin/jobs/{failed.id}/relaunch", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert "Tâche relancée" in client.get(response.location).get_data(as_text=True)
    assert calls == [(3,)]  # run again with its arguments
    with app.app_context():
        old, new = runs(FAILING)
        assert (old.id, old.status) == (failed.id, "relaunched")
        assert (new.status, new.arguments, new.attempts) == ("retrying", [3], 1)
        entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "job.relaunch"))
        assert entry is not None
        assert (entry.object_type, entry.object_id) == ("JobRun", failed.id)


def test_only_a_failed_job_can_be_relaunched(app: Flask, world: World, login_as: Any) -> None:
    run_job(app, ECHO, 5)
    with app.app_context():
        (done,) = runs(ECHO)
    client = login_as(world.a.users[Role.ADMIN])
    response = client.post(f"/admin/jobs/{done.id}/relaunch", follow_redirects=True)
    assert "Seule une tâche en échec peut être relancée." in response.get_data(as_text=True)
    assert calls == [(5,)]
    with app.app_context():
        assert [r.status for r in runs(ECHO)] == ["done"]
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "job.relaunch")) == 0
    assert client.post("/admin/jobs/999999/relaunch").status_code == 404


def test_the_jobs_page_is_paginated(app: Flask, world: World, login_as: Any) -> None:
    with app.app_context():
        for n in range(30):
            enqueue(ECHO, n)
        db.session.commit()
    page = login_as(world.a.users[Role.ADMIN]).get("/admin/jobs/?per_page=25").get_data(as_text=True)
    assert "1 à 25 sur 30" in page


# --- the worker -------------------------------------------------------------------------------------


def test_flask_worker_runs_the_queue_consumer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}

    class FakeConsumer:
        def run(self) -> None:
            started["ran"] = True

    def create_consumer(**options: Any) -> FakeConsumer:
        started.update(options)
        return FakeConsumer()

    with app.app_context():
        monkeypatch.setattr(current_huey(), "create_consumer", create_consumer)
    result = app.test_cli_runner().invoke(args=["worker", "--workers", "3", "--no-periodic"])
    assert result.exit_code == 0, result.output
    assert started == {"workers": 3, "periodic": False, "worker_type": "thread", "ran": True}
    assert "Worker Égide" in result.output
