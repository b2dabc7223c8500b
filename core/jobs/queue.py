"""The job queue: huey, built from the configuration, with Égide's tasks run inside the app.

* **Where jobs wait.** ``QUEUE_URL`` (``EGIDE_QUEUE_URL``): ``redis://…`` → Redis (production,
  several workers); unset → a SQLite file in the instance folder (``QUEUE_FILE``), nothing to
  install. ``QUEUE_IMMEDIATE`` (the tests) runs each job at once, in memory.
* **Declaring a job.** A module of any layer decorates a function with :func:`job` (a name, a label
  for the jobs page, optionally a ``schedule`` for periodic jobs, e.g. :func:`paris_crontab`); core
  knows no domain: the records are read when the app is built (:func:`install`).
* **Running it.** Each run gets its own application context and session, committed when the
  function returns, rolled back when it raises. A failure is retried ``JOB_RETRIES`` times with a
  growing delay (``JOB_RETRY_DELAY`` seconds, multiplied by ``JOB_RETRY_BACKOFF`` each time:
  huey's own back-off), and logged with the job's id.
* **Enqueueing.** ``some_job.enqueue(*ids)`` hands the job to the queue when the caller's
  transaction commits (never for a rolled-back request, never before the rows it reads exist).
  Arguments are ids and short codes: the queue and the jobs page keep them.
* **The jobs page.** huey's signals keep one :class:`~core.jobs.models.JobRun` row per job (pending,
  running, retrying, done, failed), each written in its own short transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from huey import RedisHuey, SqliteHuey, crontab
from huey import signals as hs
from huey.api import Huey, Task
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core import SQLITE_WRITER
from core.db import utcnow
from core.extensions import db
from core.jobs.models import ARGS_SUMMARY_MAX, ERROR_MAX, JobRun, JobStatus

logger = logging.getLogger("egide.jobs")
EXTENSION = "egide_jobs"
PARIS = ZoneInfo("Europe/Paris")
PENDING_KEY = "egide_jobs_pending"  # Session.info: jobs to hand to the queue when it commits


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    label: Any  # what the jobs page calls it
    schedule: Callable[[datetime], bool] | None = None  # periodic: when it runs (UTC timestamp)


_specs: dict[str, JobSpec] = {}


class Job:
    """What :func:`job` returns: call it to run the function here, ``enqueue`` to queue it."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, *args: Any) -> Any:
        return self.spec.func(*args)

    def enqueue(self, *args: Any) -> None:
        enqueue(self.spec.name, *args)


def job(
    name: str, *, label: Any, schedule: Callable[[datetime], bool] | None = None
) -> Callable[[Callable[..., Any]], Job]:
    """Declare a job (``schedule``: a periodic one). Idempotent by name."""

    def decorator(func: Callable[..., Any]) -> Job:
        _specs[name] = JobSpec(name, func, label, schedule)
        return Job(_specs[name])

    return decorator


def specs() -> dict[str, JobSpec]:
    return dict(_specs)


def paris_crontab(minute: str = "0", hour: str = "*", day_of_week: str = "*") -> Callable[[datetime], bool]:
    """huey's crontab read on France's clock (huey hands the scheduler naive UTC timestamps)."""
    matches = crontab(minute=minute, hour=hour, day_of_week=day_of_week, strict=True)

    def validate(timestamp: datetime) -> bool:
        local = timestamp.replace(tzinfo=UTC).astimezone(PARIS).replace(tzinfo=None)
        return bool(matches(local))

    return validate


# --- the huey instance of an app -----------------------------------------------------------------


def build_huey(app: Flask) -> Huey:
    cfg = app.config
    url = cfg.get("QUEUE_URL") or ""
    immediate = bool(cfg.get("QUEUE_IMMEDIATE"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("egide", url=url, immediate=immediate, utc=True)
    if url and not url.startswith("sqlite:///"):
        raise ValueError(f"QUEUE_URL: redis://… or sqlite:///… expected, not {url.split(':', 1)[0]}:…")
    path = Path(url.removeprefix("sqlite:///") or cfg.get("QUEUE_FILE") or "egide-queue.sqlite3")
    if not path.is_absolute():
        path = Path(app.instance_path) / path
    if not immediate:
        path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("egide", filename=str(path), immediate=immediate, utc=True)


def install(app: Flask) -> Huey:
    """Build the app's huey and give it every declared job (after the domains are imported)."""
    huey = build_huey(app)
    tasks = {spec.name: _install_task(huey, app, spec) for spec in _specs.values()}

    @huey.signal()
    def _record(signal: str, task: Task, *args: Any, **_kwargs: Any) -> None:
        _on_signal(app, signal, task, *args)

    app.extensions[EXTENSION] = {"huey": huey, "tasks": tasks}
    return huey


def current_huey() -> Huey:
    return current_app.extensions[EXTENSION]["huey"]


def _install_task(huey: Huey, app: Flask, spec: JobSpec) -> Any:
    cfg = app.config

    def run(*args: Any, task: Task | None = None) -> None:
        job_id = task.id if task is not None else "-"
        with app.app_context():
            g.setdefault(SQLITE_WRITER, True)
            logger.info("job %s (%s) started", job_id, spec.name)
            try:
                spec.func(*args)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
        logger.info("job %s (%s) done", job_id, spec.name)

    options: dict[str, Any] = {
        "retries": int(cfg.get("JOB_RETRIES", 3)),
        "retry_delay": int(cfg.get("JOB_RETRY_DELAY", 60)),
        "retry_backoff": float(cfg.get("JOB_RETRY_BACKOFF", 2)),
        "name": spec.name,
        "context": True,
    }
    if spec.schedule is not None:
        return huey.periodic_task(spec.schedule, **options)(run)
    return huey.task(**options)(run)


# --- enqueueing: when the caller's transaction commits ------------------------------------------


def enqueue(name: str, *args: Any) -> None:
    if name not in current_app.extensions[EXTENSION]["tasks"]:
        raise KeyError(f"unknown job {name!r}")
    session = db.session
    if not session.in_transaction():
        session.begin()  # the job's fate follows this transaction's (no connection taken yet)
    session.info.setdefault(PENDING_KEY, []).append((name, args))


@event.listens_for(Session, "after_commit")
def _hand_to_queue(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    registry = current_app.extensions[EXTENSION]
    for name, args in pending:
        try:
            registry["huey"].enqueue(registry["tasks"][name].s(*args))
        except Exception as error:  # the queue unreachable (Redis down, full disk)
            _record_not_queued(name, args, error)


NOT_QUEUED = "non mise en file : la file des tâches était injoignable ({error}) — relancez-la"


def _record_not_queued(name: str, args: tuple[Any, ...], error: BaseException) -> None:
    """The caller's transaction is committed — what the person did is saved — but its job could not
    be handed to the queue. Rather than a 500 page after a saved change, and a job lost without a
    trace, the job is written on the jobs page as failed, with its arguments, so that the
    administrator relaunches it once the queue is back (and the log says so, with the error)."""
    logger.error("job %s could not be queued: %s: %s", name, type(error).__name__, error)
    g.setdefault(SQLITE_WRITER, True)
    session = db.sessionmaker()
    try:
        session.add(
            JobRun(
                task_id=f"not-queued-{uuid.uuid4().hex}",
                task_name=name,
                arguments=list(args),
                args_summary=summarise(args),
                status=JobStatus.FAILED.value,
                attempts=0,
                enqueued_at=utcnow(),
                finished_at=utcnow(),
                error=NOT_QUEUED.format(error=f"{type(error).__name__}: {error}")[:ERROR_MAX],
            )
        )
        session.commit()
    except Exception:
        session.rollback()
        logger.exception("job %s: its failure to be queued could not be recorded either", name)
    finally:
        session.close()


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: Any) -> None:
    # After the commit's hand-over above: what is left belonged to a transaction rolled back.
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


# --- the jobs page's rows, from huey's signals ---------------------------------------------------

FAILING_SIGNALS = {
    hs.SIGNAL_REVOKED: "révoquée",
    hs.SIGNAL_EXPIRED: "expirée",
    hs.SIGNAL_INTERRUPTED: "interrompue (arrêt du worker)",
    hs.SIGNAL_TIMEOUT: "délai dépassé",
}


def summarise(args: Any) -> str:
    text = ", ".join(repr(a) for a in args or ())
    return text if len(text) <= ARGS_SUMMARY_MAX else text[: ARGS_SUMMARY_MAX - 1] + "…"


def _on_signal(app: Flask, signal: str, task: Task, *args: Any) -> None:
    if signal not in (
        hs.SIGNAL_ENQUEUED,
        hs.SIGNAL_SCHEDULED,
        hs.SIGNAL_EXECUTING,
        hs.SIGNAL_COMPLETE,
        hs.SIGNAL_ERROR,
        hs.SIGNAL_RETRYING,
        *FAILING_SIGNALS,
    ):
        return
    with app.app_context():
        g.setdefault(SQLITE_WRITER, True)
        session = db.sessionmaker()
        try:
            run = session.scalar(select(JobRun).where(JobRun.task_id == task.id))
            if run is None:
                run = JobRun(
                    task_id=task.id,
                    task_name=task.name,
                    arguments=list(task.args or ()),
                    args_summary=summarise(task.args),
                    status=JobStatus.PENDING.value,
                    attempts=0,
                    enqueued_at=utcnow(),
                )
                session.add(run)
            _apply(run, signal, task, args[0] if args else None)
            session.commit()
        except Exception:
            session.rollback()
            logger.exception("job %s (%s): its %s could not be recorded", task.id, task.name, signal)
        finally:
            session.close()


def _apply(run: JobRun, signal: str, task: Task, error: BaseException | None) -> None:
    now = utcnow()
    if signal == hs.SIGNAL_ENQUEUED and run.status == JobStatus.RETRYING:
        run.status = JobStatus.PENDING.value
    elif signal == hs.SIGNAL_EXECUTING:
        run.status = JobStatus.RUNNING.value
        run.attempts = (run.attempts or 0) + 1
        run.started_at, run.finished_at = now, None
    elif signal == hs.SIGNAL_COMPLETE:
        run.status, run.finished_at, run.error = JobStatus.DONE.value, now, None
        logger.info("job %s (%s) complete after %s attempt(s)", task.id, task.name, run.attempts)
    elif signal == hs.SIGNAL_ERROR:
        will_retry = bool(task.retries)
        run.status = (JobStatus.RETRYING if will_retry else JobStatus.FAILED).value
        run.finished_at = now
        run.error = f"{type(error).__name__}: {error}"[:ERROR_MAX]
        logger.warning(
            "job %s (%s) failed, attempt %s%s: %s",
            task.id,
            task.name,
            run.attempts,
            f", {task.retries} retry(ies) left" if will_retry else ", no retry left",
            run.error,
        )
    elif signal == hs.SIGNAL_RETRYING:
        run.status = JobStatus.RETRYING.value
    elif signal in FAILING_SIGNALS:
        run.status, run.finished_at = JobStatus.FAILED.value, now
        run.error = FAILING_SIGNALS[signal]
        logger.warning("job %s (%s) %s", task.id, task.name, run.error)
