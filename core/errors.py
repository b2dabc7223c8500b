"""Error pages: French (or English) HTML pages, never a stack trace."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.extensions import db
from core.logs import log_unhandled

logger = logging.getLogger(__name__)

HANDLED = (400, 401, 403, 404, 405, 412, 413, 415, 428, 429)


def _render(code: int, **context: object) -> tuple[str, int]:
    return render_template("errors/error.html", code=code, **context), code


def register_error_handlers(app: Flask) -> None:
    from core import api  # noqa: PLC0415 — the API's problem details

    def http_error(exc: HTTPException) -> Any:
        if api.is_api_request():
            return api.http_exception_problem(exc)
        return _render(exc.code or 500)

    for code in HANDLED:
        app.register_error_handler(code, http_error)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        if api.is_api_request():
            return api.http_exception_problem(exc)
        return _render(400, csrf=True)

    @app.errorhandler(InternalServerError)
    def internal_error(exc: InternalServerError) -> Any:
        # Last-resort handler (ASVS 7.4.1/7.4.3): generic page with a correlation id, details in the log.
        incident = uuid.uuid4().hex[:12]
        log_unhandled(incident, getattr(exc, "original_exception", None) or exc)
        try:
            db.session.rollback()
        except Exception:  # the session itself may be what failed
            logger.exception("rollback after error %s failed", incident)
        if api.is_api_request():
            return api.problem_response(500, incident)
        return _render(500, incident=incident)
