"""Kernel routes: home, health check, language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, session
from sqlalchemy import text

from core.extensions import db
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


def render_coming_soon(title: Any, description: Any) -> Any:
    """Entry page of a domain that is not built yet: says so plainly."""
    return render_template("core/coming_soon.html", title=title, description=description)
