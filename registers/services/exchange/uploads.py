"""The uploaded file between the preview and the confirmation of an import: kept server-side under
a random token bound to the user and the organisation (see :mod:`registers.services.exchange`)."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from accounts.models import Organisation, User
from registers.services.exchange.importing import ImportPlan, plan_import
from registers.services.exchange.reading import ImportFileError

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # with fullmatch: no trailing newline


# --- the uploaded file between preview and confirmation ----------------------------------------


def _upload_dir() -> Path:
    folder = current_app.config.get("REGISTER_IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _ttl_seconds() -> int:
    return int(current_app.config.get("REGISTER_IMPORT_TTL_MINUTES", 30)) * 60


def _purge_expired(folder: Path) -> None:
    limit = time.time() - _ttl_seconds()
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.with_suffix(".upload").unlink(missing_ok=True)
                path.unlink(missing_ok=True)
        except OSError:
            continue


def store_upload(content: bytes, filename: str, user_id: int, org_id: int) -> str:
    """Keep an uploaded file for its confirmation; returns the token that names it."""
    folder = _upload_dir()
    _purge_expired(folder)
    token = secrets.token_urlsafe(32)
    (folder / f"{token}.upload").write_bytes(content)
    meta = {"user_id": user_id, "org_id": org_id, "filename": filename, "stored_at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def load_upload(token: str, user_id: int, org_id: int) -> tuple[bytes, str]:
    """The file stored under ``token`` by this user for this organisation, if not expired."""
    gone = ImportFileError(
        _("Le fichier à importer n'est plus disponible (délai dépassé) : déposez-le à nouveau.")
    )
    if not TOKEN_RE.fullmatch(token or ""):
        raise gone
    folder = _upload_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        content = (folder / f"{token}.upload").read_bytes()
    except (OSError, ValueError):
        raise gone from None
    if meta.get("user_id") != user_id or meta.get("org_id") != org_id:
        raise gone
    if time.time() - float(meta.get("stored_at", 0)) > _ttl_seconds():
        discard_upload(token)
        raise gone
    return content, str(meta.get("filename") or "")


def discard_upload(token: str) -> None:
    if not TOKEN_RE.fullmatch(token or ""):
        return
    folder = _upload_dir()
    (folder / f"{token}.upload").unlink(missing_ok=True)
    (folder / f"{token}.json").unlink(missing_ok=True)


def preview_upload(
    org: Organisation, user: User, content: bytes, filename: str, *, may_validate: bool
) -> ImportPlan:
    """Plan an uploaded file; keep it for the confirmation when there is something to confirm."""
    plan = plan_import(org, content, filename, may_validate=may_validate)
    if plan.can_confirm:
        plan.token = store_upload(content, plan.filename, user.id, org.id)
    return plan


def plan_stored(org: Organisation, user: User, token: str, *, may_validate: bool) -> ImportPlan:
    """Plan again the file kept under ``token`` (the register may have changed since the preview)."""
    content, filename = load_upload(token, user.id, org.id)
    plan = plan_import(org, content, filename, may_validate=may_validate)
    plan.token = token
    return plan
