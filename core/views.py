"""Kernel routes: home, health check, language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from sqlalchemy import text

from core.api import PREFIX
from core.extensions import db, talisman
from core.redirects import guard_location, safe_target
from core.security import login_required, public

bp = Blueprint("core", __name__)
# Every response of the app: a Location header never leaves the site (core.redirects).
bp.after_app_request(guard_location)


@bp.route("/")
@login_required
def index() -> Any:
    return render_template("core/home.html")


@bp.route("/healthz")
@public
def healthz() -> Any:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Any:
    lang = request.form.get("lang")
    if lang in ("fr", "en"):
        session["lang"] = lang
    return redirect(safe_target(request.form.get("next")))


@bp.route(f"{PREFIX}/openapi.json")
@public
def openapi_document() -> Any:
    """The JSON API's OpenAPI 3.1 document, generated from its endpoints (core.api)."""
    response = jsonify(current_app.spec)  # type: ignore[attr-defined]
    response.headers["Cache-Control"] = "no-cache"
    return response


# Redoc (vendored in static/vendor/redoc) styles itself with <style> elements and renders in a
# worker: this one page allows inline styles and blob: workers; scripts stay 'self' only.
DOCS_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


@bp.route(f"{PREFIX}/docs")
@public
@talisman(content_security_policy=DOCS_CSP)
def api_docs() -> Any:
    return render_template("core/api_docs.html")
