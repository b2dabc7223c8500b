"""Background jobs and schedules (huey): see :mod:`core.jobs.queue` for the design.

``init_app`` builds the app's queue with every declared job, and adds the jobs page (platform
administrator) and ``flask worker``. Layout, each module importing only those above it:
:mod:`~core.jobs.models` (the jobs page's table), :mod:`~core.jobs.queue` (huey, declaring,
enqueueing, the signals), :mod:`~core.jobs.tasks` (the kernel's jobs), :mod:`~core.jobs.services`,
:mod:`~core.jobs.views`, :mod:`~core.jobs.cli`.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from core import journal
from core.jobs import tasks
from core.jobs.cli import worker_command
from core.jobs.models import JobRun, JobStatus
from core.jobs.queue import Job, current_huey, enqueue, install, job, paris_crontab, specs
from core.jobs.services import RELAUNCH_ACTION
from core.jobs.views import bp
from core.security import Permission


def init_app(app: Flask) -> None:
    """After the domains are installed (their jobs are declared when they are imported)."""
    install(app)
    app.register_blueprint(bp)
    app.cli.add_command(worker_command)
    journal.ACTION_LABELS[RELAUNCH_ACTION] = _l("Tâche de fond relancée")
    journal.register_object_types({"JobRun": Permission.USERS_MANAGE})
    journal.register_journal_types({"JobRun": JOURNAL_TYPE})


JOURNAL_TYPE = journal.JournalType(label=_l("Tâche de fond"), fields={"status": _l("Statut")})


__all__ = [
    "Job",
    "JobRun",
    "JobStatus",
    "current_huey",
    "enqueue",
    "init_app",
    "install",
    "job",
    "paris_crontab",
    "specs",
    "tasks",
]
