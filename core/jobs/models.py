"""The jobs page's table: one row per job run, kept by the queue's signals (core.jobs.queue)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class JobStatus(enum.StrEnum):
    PENDING = "pending"  # in the queue, or scheduled
    RUNNING = "running"
    RETRYING = "retrying"  # failed, another attempt is scheduled (back-off)
    DONE = "done"
    FAILED = "failed"  # no attempt left: the administrator may relaunch it
    RELAUNCHED = "relaunched"  # failed, then relaunched by hand (the new run has its own row)

    @property
    def label(self) -> Any:
        return STATUS_LABELS[self]

    @property
    def colour(self) -> str:
        return {
            "pending": "secondary",
            "running": "primary",
            "retrying": "warning",
            "done": "success",
            "failed": "danger",
            "relaunched": "light",
        }[self.value]


STATUS_LABELS = {
    JobStatus.PENDING: _l("En attente"),
    JobStatus.RUNNING: _l("En cours"),
    JobStatus.RETRYING: _l("Nouvel essai prévu"),
    JobStatus.DONE: _l("Terminée"),
    JobStatus.FAILED: _l("En échec"),
    JobStatus.RELAUNCHED: _l("Relancée"),
}

ARGS_SUMMARY_MAX = 200
ERROR_MAX = 2000


class JobRun(Base):
    """A job as the administrator sees it: what, with which arguments, how it went.

    ``arguments`` are what the task was given (ids and short codes only: a task never takes a
    secret nor personal data), kept to relaunch it; ``args_summary`` is their short display."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_status_id", "status", "id"),)

    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    task_name: Mapped[str] = mapped_column(String(120))
    arguments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    args_summary: Mapped[str] = mapped_column(String(ARGS_SUMMARY_MAX), default="")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def state(self) -> JobStatus:
        return JobStatus(self.status)
