"""Error pages: French (or English) HTML pages, never a stack trace."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.extensions import db
from core.logs import log_unhandled

logger = logging.getLogger(__name__)

HANDLED = (400, 403, 404, 405, 413, 429)


def _render(code: int, **context: object) -> tuple[str, int]:
    return render_template("errors/error.html", code=code, **context), code


def register_error_handlers(app: Flask) -> None:
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return _render(exc.code or 500)

    for code in HANDLED:
        app.register_error_handler(code, http_error)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return _render(400, csrf=True)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> tuple[str, int]:
        # Last-resort handler (ASVS 7.4.1/7.4.3): generic page with a correlation id, details in the log.
        incident = uuid.uuid4().hex[:12]
        log_unhandled(incident, getattr(exc, "original_exception", None) or exc)
        try:
            db.session.rollback()
        except Exception:  # the session itself may be what failed
            logger.exception("rollback after error %s failed", incident)
        return _render(500, incident=incident)
