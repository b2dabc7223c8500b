"""The jobs page's table: one row per job run, kept by the queue's signals (core.jobs.queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.enums import ColouredEnum


class JobStatus(ColouredEnum):
    PENDING = "pending", _l("En attente"), "secondary"  # in the queue, or scheduled
    RUNNING = "running", _l("En cours"), "primary"
    RETRYING = "retrying", _l("Nouvel essai prévu"), "warning"  # failed, another attempt is scheduled
    DONE = "done", _l("Terminée"), "success"
    FAILED = "failed", _l("En échec"), "danger"  # no attempt left: the administrator may relaunch it
    # failed, then relaunched by hand (the new run has its own row)
    RELAUNCHED = "relaunched", _l("Relancée"), "light"


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
