"""Servers that share nothing (issue 13): what must be shared when Égide runs on several servers.

Every piece of state that outlives a request lives in PostgreSQL or Redis, never in a worker's
memory or on a server's own disk. The audit of the code (December 2026) found:

* in the database already: the sessions (``accounts.services.auth``, server-side, a cookie holds only a
  random token), the login failures and lockouts, pending TOTP enrolments, pending register imports
  (``registers.RegisterImport.payload``, encrypted; nothing under ``instance/imports`` any more), the
  generated documents (``reports.GeneratedReport.content``) and the documents being built
  (``reports.DocumentJob``), the jobs page's rows (``core.jobs.JobRun``);
* per-process caches that hold no one's state: the menu and header (``core.layout``, keyed on all
  they show), compiled statements, folded text, reference lists, the key ring built from the keys;
* temporary files that live within one request (``core.exports`` spools a large XLSX to a
  temporary file and streams it in the same response).

What stays local unless configured — the settings this module checks at start-up in production,
logging one warning each (an operator with one server and one worker may ignore them):

* ``RATELIMIT_STORAGE_URI`` (``EGIDE_RATELIMIT_STORAGE_URI``): ``memory://`` counts the login
  attempts in each gunicorn worker apart; ``redis://…`` counts them across all servers;
* ``QUEUE_URL`` (``EGIDE_QUEUE_URL``): unset, the queue is a SQLite file on this server's disk: a job
  queued by another server would never reach its worker; ``redis://…`` is shared;
* ``SECRET_KEY``, ``ENCRYPTION_KEYS`` and the journal's signing key: when they are not given, each
  server creates its own in ``instance/`` — a session cookie signed by one would be refused by the
  other, a TOTP secret encrypted by one unreadable by the other. Give the same values to all (the
  environment, or an instance folder on shared storage), as ``tests/scale/test_two_servers.py`` does;
* ``AUDIT_ANCHOR_FILE`` and ``AUDIT_SIGNING_KEY_FILE`` in ``instance/``: each server would append
  its anchors to its own copy; point them at a shared folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

logger = logging.getLogger("egide.sharing")

SECRET_FROM_INSTANCE = "EGIDE_SECRET_KEY_FROM_INSTANCE"  # noqa: S105 — a config flag, set by core.configure


def local_state(app: Flask) -> list[str]:
    """What this configuration keeps on this server alone (empty: it shares everything)."""
    cfg = app.config
    found: list[str] = []
    if str(cfg.get("RATELIMIT_STORAGE_URI") or "memory://").startswith("memory://"):
        found.append(
            "RATELIMIT_STORAGE_URI is memory://: login attempts are counted in each worker apart "
            "(set EGIDE_RATELIMIT_STORAGE_URI=redis://… to count them across servers)"
        )
    if not str(cfg.get("QUEUE_URL") or "").startswith(("redis://", "rediss://", "unix://")):
        found.append(
            "QUEUE_URL is not Redis: the job queue is a SQLite file on this server "
            "(set EGIDE_QUEUE_URL=redis://… to share it)"
        )
    if cfg.get(SECRET_FROM_INSTANCE):
        found.append("SECRET_KEY is this server's own (instance/secret_key): give every server the same")
    if not cfg.get("ENCRYPTION_KEYS"):
        found.append(
            "ENCRYPTION_KEYS are this server's own (instance/encryption_keys): give every server the same"
        )
    for key, default in (("AUDIT_SIGNING_KEY_FILE", "audit_signing_key.pem"), ("AUDIT_ANCHOR_FILE", None)):
        value = cfg.get(key) or default
        if value and not Path(value).is_absolute():
            found.append(f"{key} is in instance/: put it in a folder every server shares")
    return found


def warn_local_state(app: Flask) -> None:
    """In production, log what stays on this server (one warning each); elsewhere, nothing."""
    if app.config.get("ENV_NAME") != "production":
        return
    for item in local_state(app):
        logger.warning("state kept on this server only: %s", item)
