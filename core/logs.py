"""Application logging, configured once by the app factory.

* Format: ``EGIDE_LOG_FORMAT`` = ``json`` (one JSON object per line, for a log collector; the default
  in production) or ``text`` (readable lines; the default elsewhere).
* Level: ``EGIDE_LOG_LEVEL`` (``INFO`` by default; ``DEBUG``, ``WARNING``…).
* Destination: ``EGIDE_LOG_FILE`` (a file, appended to) or standard error by default, where gunicorn
  and systemd's journal collect it.

Every record carries the request context when there is one (route, method, path without its query
string, user id, organisation id) — never a form body, a password, a token or a query string, which may
hold a reset token or personal data. :func:`log_unhandled` is the one place that records an unhandled
error with its incident id, the number shown on the 500 page.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

HANDLER_NAME = "egide"
# Attributes of a LogRecord that are not "extra" context.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
CONTEXT_FIELDS = ("incident", "route", "method", "path", "user_id", "org_id")


def request_context() -> dict[str, Any]:
    """Who and where, for a log line: ids and the route only, nothing the user typed."""
    if not has_request_context():
        return {}
    context: dict[str, Any] = {
        "route": request.endpoint,
        "method": request.method,
        "path": request.path,  # without the query string
    }
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        context["user_id"] = user.id  # not get_id(): that is the session token
    org = g.get("_egide_org")
    if org is not None:
        context["org_id"] = org.id
    return context


class ContextFilter(logging.Filter):
    """Adds the request context to every record that does not carry it already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in request_context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k))
        if not context:
            return line
        head, sep, tail = line.partition("\n")  # the traceback, if any, stays below the line
        return f"{head} [{context}]{sep}{tail}"


def configure_logging(app: Flask) -> None:
    """Install Égide's handler on the root logger (idempotent: one handler however many apps)."""
    production = app.config.get("ENV_NAME") == "production"
    fmt = str(app.config.get("LOG_FORMAT") or ("json" if production else "text")).lower()
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    destination = app.config.get("LOG_FILE")
    handler: logging.Handler = (
        logging.FileHandler(destination, encoding="utf-8")
        if destination
        else logging.StreamHandler(sys.stderr)
    )
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.getLevelNamesMapping().get(level, logging.INFO))
    # Flask's own "Exception on /path" record would be a second, id-less copy of what
    # log_unhandled writes: the error handler is the one place that logs an unhandled error.
    app.logger.propagate = True
    app.log_exception = lambda exc_info: None  # type: ignore[method-assign]


error_logger = logging.getLogger("egide.errors")


def log_unhandled(incident: str, exc: BaseException) -> None:
    """The unhandled error behind a 500 page, with its incident id, context and traceback."""
    error_logger.error(
        "unhandled error %s: %s", incident, type(exc).__name__, exc_info=exc, extra={"incident": incident}
    )
