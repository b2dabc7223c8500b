"""The jobs page's reads and its one write: relaunching a failed job (journalled)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from core import audit
from core.extensions import db
from core.field_errors import FieldError
from core.jobs.models import JobRun, JobStatus
from core.jobs.queue import enqueue, specs

RELAUNCH_ACTION = "job.relaunch"


def jobs_query(status: str = "") -> Select[Any]:
    """Most recent first; ``status`` one of :class:`JobStatus` (else all)."""
    stmt = select(JobRun).order_by(JobRun.id.desc())
    if status in set(JobStatus):
        stmt = stmt.where(JobRun.status == status)
    return stmt


def status_counts() -> dict[str, int]:
    """How many jobs in each state (one grouped query)."""
    rows = db.session.execute(select(JobRun.status, func.count()).group_by(JobRun.status))
    return {status: int(count) for status, count in rows}


def job_label(name: str) -> Any:
    spec = specs().get(name)
    return spec.label if spec is not None else name


def relaunch(run: JobRun, actor: Any) -> None:
    """Queue a failed job again with its arguments (a new run, its own row), when the caller commits."""
    if run.status != JobStatus.FAILED:
        raise FieldError("status", _l("Seule une tâche en échec peut être relancée."))
    if run.task_name not in specs():
        raise FieldError("task_name", _l("Cette tâche n'existe plus : elle ne peut pas être relancée."))
    run.status = JobStatus.RELAUNCHED.value
    audit.record(
        None,
        actor,
        RELAUNCH_ACTION,
        run,
        {"status": (JobStatus.FAILED.value, JobStatus.RELAUNCHED.value)},
        detail={"task": run.task_name, "task_id": run.task_id},
    )
    enqueue(run.task_name, *run.arguments)
    db.session.flush()
