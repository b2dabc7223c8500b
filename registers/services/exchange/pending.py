"""The imported file between its upload and its confirmation, and the mapping presets.

The file is read once, at upload: its cells (header and rows, not the file itself) are kept in the
database in :class:`~registers.models.RegisterImport`, compressed and encrypted with the key ring of
:mod:`core.crypto`, bound to the organisation and the user who uploaded it, until it is confirmed,
abandoned or expires (``REGISTER_IMPORT_TTL_MINUTES``, 30 by default). Each of these ends sets the
cells to NULL: nothing with personal data stays behind. Expired imports are cleared by
:func:`purge_expired`, which runs at every upload and as ``flask registers purge-imports`` (for a
cron job); it also removes the files an older version of Égide kept in ``instance/imports``.
A user's new upload abandons their previous pending import in the same organisation.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Organisation, User
from core import audit
from core.concurrency import check_version
from core.crypto import InvalidToken, decrypt_bytes, encrypt_bytes
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.tenancy import UNSCOPED, scoped
from registers.models import ImportPreset, ImportStatus, RegisterImport
from registers.services.exchange.reading import ImportFileError, Table, read_table
from registers.services.exchange.targets import preset_of, propose


def _ttl() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("REGISTER_IMPORT_TTL_MINUTES", 30)))


def _seal(table: Table, encrypt: Callable[[bytes], bytes] = encrypt_bytes) -> bytes:
    data = {
        "fmt": table.fmt,
        "header": table.header,
        "rows": table.rows,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
    }
    return encrypt(zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), 6))


def table_of(register_import: RegisterImport) -> Table:
    """The cells kept for a pending import (an error once it is no longer pending)."""
    if register_import.payload is None or not register_import.is_pending:
        raise ImportFileError(
            _("Le fichier à importer n'est plus disponible (délai dépassé) : déposez-le à nouveau.")
        )
    try:
        data = json.loads(zlib.decompress(decrypt_bytes(register_import.payload)))
    except (InvalidToken, zlib.error, ValueError):
        raise ImportFileError(_("Le fichier à importer est illisible : déposez-le à nouveau.")) from None
    rows = [(int(line), [str(c) for c in cells]) for line, cells in data["rows"]]
    return Table(data["fmt"], data["header"], rows, data.get("encoding", ""), data.get("delimiter", ""))


def is_expired(register_import: RegisterImport) -> bool:
    return register_import.is_pending and register_import.expires_at <= utcnow()


def _finish(register_import: RegisterImport, actor: User | None, status: ImportStatus, action: str) -> None:
    """End a pending import: its cells are deleted, the row stays (what became of it)."""
    before = register_import.status
    register_import.payload = None
    register_import.status = status
    register_import.finished_at = utcnow()
    db.session.flush()
    audit.record(
        register_import.organisation_id,
        actor,
        action,
        register_import,
        {"status": (before.value, status.value)},
        request_context=actor is not None,
    )


def store_import(
    org: Organisation, user: User, table: Table, filename: str, sha256: str, mapping: list[str]
) -> RegisterImport:
    """Keep a read file for its mapping and confirmation (and clear what has expired meanwhile)."""
    purge_expired()
    previous = db.session.scalars(
        scoped(select(RegisterImport), RegisterImport).where(
            RegisterImport.user_id == user.id, RegisterImport.status == ImportStatus.PENDING
        )
    )
    for earlier in previous:
        _finish(earlier, user, ImportStatus.CANCELLED, "register.import_cancel")
    register_import = RegisterImport(
        organisation_id=org.id,
        user_id=user.id,
        status=ImportStatus.PENDING,
        created_at=utcnow(),
        expires_at=utcnow() + _ttl(),
        filename=Path(filename or "").name[:200] or "registre",
        fmt=table.fmt,
        sha256=sha256,
        row_count=len(table.rows),
        headers=table.header,
        mapping=mapping,
        payload=_seal(table),
    )
    db.session.add(register_import)
    db.session.flush()
    audit.record(
        org,
        user,
        "register.import_upload",
        register_import,
        {
            "filename": (None, register_import.filename),
            "format": (None, table.fmt),
            "rows": (None, len(table.rows)),
            "sha256": (None, sha256),
        },
    )
    return register_import


def save_mapping(register_import: RegisterImport, actor: User, mapping: list[str], version: Any) -> None:
    check_version(register_import, version)
    if register_import.mapping != mapping:
        before = register_import.mapping
        register_import.mapping = list(mapping)
        db.session.flush()
        audit.record(
            register_import.organisation_id,
            actor,
            "register.import_map",
            register_import,
            {"mapping": (before, mapping)},
        )


def cancel_import(register_import: RegisterImport, actor: User) -> None:
    if register_import.is_pending:
        _finish(register_import, actor, ImportStatus.CANCELLED, "register.import_cancel")


def expire_import(register_import: RegisterImport) -> None:
    if register_import.is_pending:
        _finish(register_import, None, ImportStatus.EXPIRED, "register.import_expire")


def mark_imported(register_import: RegisterImport, actor: User, result: dict[str, int]) -> None:
    register_import.result = dict(result)
    _finish(register_import, actor, ImportStatus.IMPORTED, "register.import_done")


def purge_expired() -> int:
    """Clear every expired pending import, of every organisation (and the old import folder)."""
    expired = list(
        db.session.scalars(
            select(RegisterImport)
            .where(RegisterImport.status == ImportStatus.PENDING, RegisterImport.expires_at <= utcnow())
            .execution_options(**UNSCOPED)  # unscoped: the cleanup serves every organisation
        )
    )
    for register_import in expired:
        expire_import(register_import)
    return len(expired) + _purge_old_folder()


def _purge_old_folder() -> int:
    """Files an earlier version kept in ``instance/imports`` (uploaded registers): deleted."""
    folder = Path(
        current_app.config.get("REGISTER_IMPORT_DIR") or Path(current_app.instance_path) / "imports"
    )
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.suffix in (".upload", ".json"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- presets -----------------------------------------------------------------------------------


def presets(org: Organisation) -> list[ImportPreset]:
    return list(
        db.session.scalars(
            scoped(select(ImportPreset), ImportPreset)
            .where(ImportPreset.organisation_id == org.id)
            .order_by(ImportPreset.name)
        )
    )


def save_preset(
    org: Organisation, actor: User, name: str, headers: list[str], mapping: list[str]
) -> ImportPreset:
    """Save a mapping under a name (the organisation's preset of that name is replaced)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise FieldError("preset_name", _("Nom du modèle de correspondance : 1 à 100 caractères."))
    kept = preset_of(headers, mapping)
    preset = db.session.scalar(
        scoped(select(ImportPreset), ImportPreset).where(
            ImportPreset.organisation_id == org.id, ImportPreset.name == name
        )
    )
    if preset is None:
        preset = ImportPreset(organisation_id=org.id, name=name, mapping=kept, created_by_id=actor.id)
        db.session.add(preset)
        db.session.flush()
        audit.record(
            org,
            actor,
            "register.import_preset_create",
            preset,
            {"name": (None, name), "mapping": (None, kept)},
        )
    elif preset.mapping != kept:
        before = preset.mapping
        preset.mapping = {**preset.mapping, **kept}
        db.session.flush()
        audit.record(
            org, actor, "register.import_preset_update", preset, {"mapping": (before, preset.mapping)}
        )
    return preset


def delete_preset(preset: ImportPreset, actor: User, version: Any) -> None:
    check_version(preset, version)
    audit.record(
        preset.organisation_id,
        actor,
        "register.import_preset_delete",
        preset,
        {"name": (preset.name, None), "mapping": (preset.mapping, None)},
    )
    db.session.delete(preset)
    db.session.flush()


def upload_import(org: Organisation, user: User, content: bytes, filename: str) -> RegisterImport:
    """Read an uploaded file (an :class:`ImportFileError` if it cannot be), propose a mapping of its
    columns and keep its cells for the next steps."""
    table = read_table(content, filename)
    return store_import(
        org, user, table, filename, hashlib.sha256(content).hexdigest(), propose(table.header)
    )
