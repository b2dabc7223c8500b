"""``flask backup``: one archive of the database and of the instance files; its check; its restore.

The archive is a zip file (written as a stream: a member's size need not be known before it is
written, and ``manifest.json`` is read first without unpacking the rest):

* ``manifest.json``: format version, Égide version, Alembic revision, dialect, ``created_at`` (UTC),
  per table its columns (name and kind), row count and member, per member its SHA-256;
* ``data/<table>.jsonl``: one JSON array per row, columns in the manifest's order, values in a portable
  form (datetimes ISO 8601 UTC, dates, times, decimals as text, bytes in base64, JSON columns as their
  JSON text — so that JSON ``null`` and SQL NULL stay apart), so that a SQLite backup restores into
  PostgreSQL and back;
* ``instance/…``: the anchor file (the public record of the journal's signed heads) and the public keys
  the anchors verify with; the secret files (Flask secret key, encryption key of TOTP secrets and other
  encrypted columns, the journal's signing key) only with ``--include-keys``.

The whole database is read in one snapshot (PostgreSQL: one REPEATABLE READ READ ONLY transaction;
SQLite: one read transaction, which WAL keeps apart from writers), table by table in foreign-key order
(``Base.metadata.sorted_tables``), streamed in batches. Generated documents and pending imports live
in the database, so they are in the dump.

A restore refuses a database that holds any row, or an archive from a newer revision than the code;
migrates the empty database to the archive's revision; loads every table in one transaction (all or
nothing), with the database's own triggers off while loading (the figures they keep are in the archive
already) and self-references set once their target row exists; resets PostgreSQL sequences; compares
the counts with the manifest before committing; then restores the instance files (never overwriting a
different key file without ``--force-keys``), migrates to the code's revision if the archive was older,
and verifies the journal.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    bindparam,
    cast,
    func,
    inspect,
    null,
    select,
    text,
    type_coerce,
)
from sqlalchemy.sql.type_api import TypeEngine

from core import audit
from core.db import Base, UTCDateTime, utcnow
from core.extensions import alembic, db

FORMAT = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 1000
BATCH_BYTES = 16 * 1024 * 1024  # a batch of generated documents is cut before it holds this much
READ_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup, check or restore that cannot go on; the message is French, for the operator."""


# --- instance files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFile:
    role: str  # the member's name under instance/ in the archive
    label: str
    secret: bool
    path: Path | None  # where this instance keeps it (None: not kept in a file here)


def instance_files() -> list[InstanceFile]:
    """The files outside the database that a restore needs, where this instance keeps them."""
    instance = Path(current_app.instance_path)
    encryption = None if current_app.config.get("ENCRYPTION_KEYS") else instance / "encryption_keys"
    return [
        InstanceFile("audit_anchors.jsonl", "fichier d'ancres du journal", False, audit.anchor_file_path()),
        InstanceFile("secret_key", "clé secrète Flask", True, instance / "secret_key"),
        InstanceFile("encryption_keys", "clé de chiffrement (secrets TOTP…)", True, encryption),
        InstanceFile("audit_signing_key.pem", "clé de signature du journal", True, audit._key_path()),
    ]


def _public_keys() -> dict[str, str]:
    """The PEM of every public key the journal's anchors verify with, by key id (never a secret)."""
    return {kid: audit.public_key_pem(key) for kid, key in audit.trusted_public_keys().items()}


# --- values: portable and lossless -------------------------------------------------------------

KINDS = (
    "int",
    "str",
    "bool",
    "float",
    "decimal",
    "date",
    "time",
    "datetime",
    "naive_datetime",
    "bytes",
    "json",
)


def column_kind(type_: TypeEngine[Any]) -> str:
    """How a column's values are written in the archive."""
    if isinstance(type_, UTCDateTime):
        return "datetime"
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    checks: tuple[tuple[type[Any], Callable[[Any], str]], ...] = (
        (Boolean, lambda _t: "bool"),
        (JSON, lambda _t: "json"),
        (LargeBinary, lambda _t: "bytes"),
        (Integer, lambda _t: "int"),
        (Float, lambda _t: "float"),
        (Numeric, lambda _t: "decimal"),
        (DateTime, lambda t: "datetime" if t.timezone else "naive_datetime"),
        (Date, lambda _t: "date"),
        (Time, lambda _t: "time"),
        (String, lambda _t: "str"),  # Enum and Text too: their stored text
    )
    for klass, kind in checks:
        if isinstance(type_, klass):
            return kind(type_)
    raise BackupError(f"type de colonne non pris en charge par la sauvegarde : {type_!r}")


def _read_expression(column: Column[Any], kind: str) -> Any:
    if kind == "json":
        return cast(column, Text)  # its JSON text: JSON null and SQL NULL stay apart
    if kind == "str" and isinstance(column.type, Enum):
        return type_coerce(column, String())  # the stored text, whatever the Python enum
    if kind == "datetime":
        return type_coerce(column, UTCDateTime())
    return column


def encode(kind: str, value: Any) -> Any:
    """A database value → its JSON form in the archive."""
    if value is None:
        return None
    if kind in ("datetime", "naive_datetime", "date", "time"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "decimal":
        return str(value)
    if kind == "bool":
        return bool(value)
    return value


def decode(kind: str, value: Any) -> Any:
    """The JSON form of the archive → the value to insert; ValueError if it does not fit the kind."""
    if value is None:
        return null() if kind == "json" else None
    expected: dict[str, type | tuple[type, ...]] = {
        "int": int,
        "str": str,
        "bool": bool,
        "float": (int, float),
    }
    if kind in expected:
        if not isinstance(value, expected[kind]) or (kind != "bool" and isinstance(value, bool)):
            raise ValueError(kind)
        return float(value) if kind == "float" else value
    if not isinstance(value, str):
        raise ValueError(kind)
    if kind == "datetime":
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(kind)
        return parsed.astimezone(UTC)
    if kind == "naive_datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "decimal":
        try:
            return Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(kind) from exc
    if kind == "json":
        parsed = json.loads(value)
        return JSON.NULL if parsed is None else parsed
    raise ValueError(kind)


def _wire_type(kind: str) -> TypeEngine[Any]:
    """The type a value of this kind is bound with on insert (whatever the column's Python type)."""
    types: dict[str, TypeEngine[Any]] = {
        "int": BigInteger(),
        "str": String(),
        "bool": Boolean(),
        "float": Float(),
        "decimal": Numeric(asdecimal=True),
        "date": Date(),
        "time": Time(),
        "datetime": UTCDateTime(),
        "naive_datetime": DateTime(),
        "bytes": LargeBinary(),
        "json": JSON(),
    }
    return types[kind]


# --- create ------------------------------------------------------------------------------------


@dataclass
class CreateResult:
    path: Path
    manifest: dict[str, Any]
    secrets: list[InstanceFile] = field(default_factory=list)  # included
    missing_secrets: list[InstanceFile] = field(default_factory=list)  # left out: the restorer brings them
    anchors_left_out: int = 0  # anchor file lines of transactions the snapshot did not see


def egide_version() -> str:
    try:
        return version("egide")
    except PackageNotFoundError:  # pragma: no cover — always installed (pip install -e .)
        return "inconnue"


def code_revision() -> str | None:
    return alembic.script_directory.get_current_head()


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One connection reading the whole database in one consistent snapshot."""
    engine = db.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def _database_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def default_backup_name() -> str:
    return f"egide-sauvegarde-{utcnow():%Y%m%dT%H%M%SZ}.zip"


# An anchor is appended to the anchor file once its transaction has committed: a line signed this
# recently that the snapshot does not hold belongs to a transaction the snapshot did not see.
IN_FLIGHT = timedelta(minutes=10)


def _recent_anchors(conn: Connection, since: datetime) -> set[tuple[int, int, str, str, str]]:
    """The snapshot's anchors signed since ``since``, as :func:`core.audit.anchor_key` names them."""
    anchors = audit.AuditAnchor.__table__
    rows = conn.execute(
        select(
            anchors.c.chain, anchors.c.seq, anchors.c.hash, anchors.c.signed_at, anchors.c.signature
        ).where(anchors.c.signed_at >= since)
    )
    return {(r.chain, r.seq, r.hash, audit.iso_utc(r.signed_at), r.signature) for r in rows}


def _anchor_lines_of_snapshot(
    content: bytes, recent: set[tuple[int, int, str, str, str]], started: datetime
) -> tuple[bytes, int]:
    """The anchor file as the snapshot saw it: the lines of anchors committed after the snapshot
    began (signed less than IN_FLIGHT before it, and not in it) are left out, so that the restored
    file and database agree. Every other line is kept as it is — an older line missing from the
    database, or one that does not parse, is evidence ``flask audit verify`` must still see."""
    kept, left_out = [], 0
    cutoff = started - IN_FLIGHT
    for line in content.splitlines(keepends=True):
        try:
            data = json.loads(line)
            signed_at = datetime.fromisoformat(data["signed_at"]).astimezone(UTC)
            key = (int(data["chain"]), int(data["seq"]), str(data["hash"]), audit.iso_utc(signed_at))
            key += (str(data["signature"]),)
        except (ValueError, TypeError, KeyError, AttributeError):
            kept.append(line)
            continue
        if signed_at >= cutoff and key not in recent:
            left_out += 1
            continue
        kept.append(line)
    return b"".join(kept), left_out


class _Member:
    """A member being written: its SHA-256 taken on the way."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self.digest = hashlib.sha256()
        self._out = archive.open(name, "w", force_zip64=True)

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self._out.write(data)

    def close(self) -> str:
        self._out.close()
        return self.digest.hexdigest()


def _dump_table(conn: Connection, table: Table, archive: zipfile.ZipFile) -> dict[str, Any]:
    kinds = [(c.name, column_kind(c.type)) for c in table.columns]
    member = _Member(archive, f"data/{table.name}.jsonl")
    stmt = select(*(_read_expression(c, k) for c, (_n, k) in zip(table.columns, kinds, strict=True)))
    stmt = stmt.order_by(*table.primary_key.columns)
    count = 0
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(stmt)
    for rows in result.partitions():
        lines = [
            json.dumps(
                [encode(kind, value) for (_name, kind), value in zip(kinds, row, strict=True)],
                ensure_ascii=False,
                separators=(",", ":"),
            )
            for row in rows
        ]
        member.write(("\n".join(lines) + "\n").encode("utf-8"))
        count += len(rows)
    return {
        "name": table.name,
        "columns": [[name, kind] for name, kind in kinds],
        "rows": count,
        "member": member.name,
        "sha256": member.close(),
    }


def _open_new_file(path: Path) -> io.BufferedWriter:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def create_backup(output: Path, *, include_keys: bool = False) -> CreateResult:
    """Write the archive to ``output`` (mode 0600: it holds personal data). Written beside it first,
    then renamed: a backup that fails leaves no half archive under its name."""
    if output.exists():
        raise BackupError(f"{output} existe déjà : choisissez un autre nom (--output).")
    partial = output.with_name(f".{output.name}.partiel")
    members: dict[str, str] = {}
    try:
        with _open_new_file(partial) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            with _snapshot() as conn:
                revision = _database_revision(conn)
                if revision is None or revision != code_revision():
                    raise BackupError(
                        f"La base est à la révision {revision or 'aucune'}, le code à {code_revision()} : "
                        "mettez-la à jour (flask db upgrade) avant de la sauvegarder."
                    )
                dialect = conn.dialect.name
                started = utcnow()
                tables = [_dump_table(conn, table, archive) for table in Base.metadata.sorted_tables]
                recent = _recent_anchors(conn, started - IN_FLIGHT)
            for entry in tables:
                members[entry["member"]] = entry["sha256"]
            result = CreateResult(path=output, manifest={})
            files = []
            for item in instance_files():
                if item.secret and (item.path is None or not include_keys):
                    if item.path is None or item.path.exists():
                        result.missing_secrets.append(item)  # kept in a file here, or in the config
                    continue
                if item.path is None or not item.path.exists():
                    continue
                content = item.path.read_bytes()
                if item.role == "audit_anchors.jsonl":
                    content, result.anchors_left_out = _anchor_lines_of_snapshot(content, recent, started)
                name = f"instance/{item.role}"
                archive.writestr(name, content)
                members[name] = hashlib.sha256(content).hexdigest()
                files.append({"role": item.role, "member": name, "secret": item.secret})
                if item.secret:
                    result.secrets.append(item)
            for kid, pem in _public_keys().items():
                name = f"public_keys/{kid}.pem"
                archive.writestr(name, pem)
                members[name] = hashlib.sha256(pem.encode("ascii")).hexdigest()
            result.manifest = {
                "format": FORMAT,
                "application": "egide",
                "egide_version": egide_version(),
                "alembic_revision": revision,
                "dialect": dialect,
                "created_at": utcnow().isoformat(),
                "includes_keys": bool(result.secrets),
                "tables": tables,
                "instance_files": files,
                "public_keys": sorted(_public_keys()),
                "members": members,
            }
            archive.writestr(MANIFEST, json.dumps(result.manifest, ensure_ascii=False, indent=1))
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return result


# --- verify ------------------------------------------------------------------------------------


@dataclass
class Verification:
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError as exc:
        raise BackupError("pas de manifest.json : ce n'est pas une sauvegarde d'Égide") from exc
    except ValueError as exc:
        raise BackupError("manifest.json illisible") from exc
    if not isinstance(manifest, dict) or manifest.get("application") != "egide":
        raise BackupError("manifest.json : ce n'est pas une sauvegarde d'Égide")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"format de sauvegarde {manifest.get('format')!r} inconnu (attendu : {FORMAT})")
    needed = ("alembic_revision", "dialect", "created_at", "tables", "members", "instance_files")
    if missing := [key for key in needed if key not in manifest]:
        raise BackupError(f"manifest.json incomplet : {', '.join(missing)}")
    for entry in manifest["tables"]:
        columns = entry.get("columns") if isinstance(entry, dict) else None
        if (
            not isinstance(columns, list)
            or not all(isinstance(c, list) and len(c) == 2 and c[1] in KINDS for c in columns)
            or not isinstance(entry.get("rows"), int)
            or entry.get("member") not in manifest["members"]
        ):
            raise BackupError(f"manifest.json : table mal décrite ({str(entry)[:80]})")
    members = manifest["members"]
    for entry in manifest["instance_files"]:
        if not isinstance(entry, dict) or entry.get("member") not in members:
            raise BackupError(f"manifest.json : fichier d'instance mal décrit ({str(entry)[:80]})")
    for name in manifest.get("public_keys", []):
        # A key id names a file written on restore: 16 hex digits, nothing that could leave its folder.
        if not re.fullmatch(r"[0-9a-f]{16}", str(name)) or f"public_keys/{name}.pem" not in members:
            raise BackupError(f"manifest.json : clé publique mal décrite ({str(name)[:80]})")
    return manifest


def _stream_member(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    with archive.open(name) as fh:
        while chunk := fh.read(READ_CHUNK):
            yield chunk


def _table_rows(archive: zipfile.ZipFile, entry: dict[str, Any]) -> Iterator[tuple[int, list[Any]]]:
    """Each row of a table member, decoded (line number, values); ValueError names what is wrong."""
    kinds = [kind for _name, kind in entry["columns"]]
    with archive.open(entry["member"]) as fh:
        for number, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8"), start=1):
            try:
                values = json.loads(line)
                if not isinstance(values, list) or len(values) != len(kinds):
                    raise ValueError("nombre de colonnes")
                yield number, [decode(kind, v) for kind, v in zip(kinds, values, strict=True)]
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{entry['member']}, ligne {number} illisible") from exc


def verify_backup(path: Path) -> Verification:
    """Check an archive without touching the database: manifest, every member's SHA-256, every table
    member parses (each value fits its column's kind) and holds the announced number of rows."""
    result = Verification()
    try:
        with zipfile.ZipFile(path) as archive:
            result.manifest = manifest = _read_manifest(archive)
            names = set(archive.namelist()) - {MANIFEST}
            for name in sorted(names - set(manifest["members"])):
                result.problems.append(f"{name} : fichier absent du manifeste")
            for name, expected in sorted(manifest["members"].items()):
                if name not in names:
                    result.problems.append(f"{name} : fichier annoncé mais absent de l'archive")
                    continue
                digest = hashlib.sha256()
                for chunk in _stream_member(archive, name):
                    digest.update(chunk)
                if digest.hexdigest() != expected:
                    result.problems.append(f"{name} : empreinte SHA-256 différente du manifeste")
            if result.problems:
                return result
            for entry in manifest["tables"]:
                count = 0
                try:
                    for count, _values in _table_rows(archive, entry):  # noqa: B007 — the last number counts
                        pass
                except ValueError as exc:
                    result.problems.append(str(exc))
                    continue
                if count != entry["rows"]:
                    result.problems.append(
                        f"{entry['name']} : {count} ligne(s) dans l'archive, {entry['rows']} annoncée(s)"
                    )
    except BackupError as exc:
        result.problems.append(str(exc))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        result.problems.append(f"archive illisible ou altérée : {exc}")
    return result


# --- restore -----------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    counts: dict[str, int]
    restored_files: list[str] = field(default_factory=list)
    kept_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    public_key_files: list[Path] = field(default_factory=list)  # to declare: no signing key here
    upgraded_to: str | None = None


def _rows_in(conn: Connection) -> list[str]:
    """The tables of the database that hold at least one row (alembic_version aside)."""
    full = []
    for name in inspect(conn).get_table_names():
        if name == "alembic_version":
            continue
        quoted = conn.dialect.identifier_preparer.quote(name)
        if conn.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first() is not None:  # noqa: S608 — a table name
            full.append(name)
    return full


def _check_revision(revision: str) -> None:
    try:
        known = alembic.script_directory.get_revision(revision)
    except Exception as exc:  # alembic raises several kinds for an unknown id
        known = None
        cause: Exception | None = exc
    else:
        cause = None
    if known is None:
        raise BackupError(
            f"La sauvegarde est à la révision {revision}, que ce code ne connaît pas : elle vient d'une "
            "version plus récente d'Égide. Restaurez-la avec cette version (ou une plus récente)."
        ) from cause


def _migrate_to(revision: str) -> None:
    current = {script.revision for script in alembic.current()}
    if current == {revision}:
        return
    if not current:
        alembic.upgrade(revision)
        return
    ancestors = {script.revision for script in alembic.script_directory.iterate_revisions(revision, "base")}
    if current <= ancestors:
        alembic.upgrade(revision)
    else:
        alembic.downgrade(revision)


def _file_plan(manifest: dict[str, Any], archive: zipfile.ZipFile, force_keys: bool) -> list[tuple[Any, ...]]:
    """What to do with each instance file of the archive: (action, item, content). Refuses, before
    anything is written, to replace a different key file without --force-keys."""
    by_role = {item.role: item for item in instance_files()}
    plan: list[tuple[Any, ...]] = []
    refused = []
    for entry in manifest["instance_files"]:
        item = by_role.get(entry.get("role"))
        if item is None:
            continue
        content = archive.read(entry["member"])
        if item.path is None:
            plan.append(("skip", item, content))
        elif item.path.exists() and item.path.read_bytes() == content:
            plan.append(("same", item, content))
        elif item.path.exists() and not force_keys:
            if item.role == "secret_key":
                # Created by Égide at start-up when SECRET_KEY is not set; only signs cookies (the
                # sessions are kept server-side and would be lost anyway): the new one is kept.
                plan.append(("keep", item, content))
            else:
                refused.append(f"{item.label} ({item.path})")
        else:
            plan.append(("write", item, content))
    if refused:
        raise BackupError(
            "Ces fichiers existent déjà et diffèrent de ceux de la sauvegarde : "
            + " ; ".join(refused)
            + ". Rien n'a été écrit. Relancez avec --force-keys pour les remplacer."
        )
    return plan


def _write_file(path: Path, content: bytes, secret: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.restauration")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o640)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    partial.replace(path)


@contextmanager
def _triggers_off(conn: Connection, tables: list[str]) -> Iterator[None]:
    """The database's own triggers do not run while loading: what they keep (register figures) is in
    the archive already, and loading it twice would count it twice."""
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        for name in tables:
            conn.execute(text(f"ALTER TABLE {quote(name)} DISABLE TRIGGER USER"))
        yield
        for name in tables:
            conn.execute(text(f"ALTER TABLE {quote(name)} ENABLE TRIGGER USER"))
        return
    saved = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _sql in saved:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in saved:
        conn.execute(text(sql))


def _load_table(conn: Connection, archive: zipfile.ZipFile, entry: dict[str, Any], target: Table) -> None:
    names = [name for name, _kind in entry["columns"]]
    if missing := [name for name in names if name not in target.c]:
        raise BackupError(f"{entry['name']} : colonnes inconnues de la base restaurée : {', '.join(missing)}")
    wire = Table(
        entry["name"],
        MetaData(),
        *(Column(name, _wire_type(kind), key=name) for name, kind in entry["columns"]),
    )
    # Self-references (an organisation merged into a later one): a value whose row is not loaded yet
    # is written once the whole table is in.
    self_refs = [
        (fk.parent.name, fk.column.name)
        for fk in target.foreign_keys
        if fk.column.table is target and fk.parent.name in names
    ]
    seen: set[tuple[str, Any]] = set()
    deferred: list[tuple[str, str, Any, dict[str, Any]]] = []
    key_names = [c.name for c in target.primary_key.columns]
    batch: list[dict[str, Any]] = []
    size = 0
    statement = wire.insert()
    for _number, values in _table_rows(archive, entry):
        row = dict(zip(names, values, strict=True))
        for _column, referred in self_refs:
            seen.add((referred, row.get(referred)))
        for column, referred in self_refs:
            value = row[column]
            if value is not None and (referred, value) not in seen:
                deferred.append((column, referred, value, {k: row[k] for k in key_names}))
                row[column] = None
        batch.append(row)
        size += sum(len(v) for v in row.values() if isinstance(v, bytes | str))
        if len(batch) >= BATCH_ROWS or size >= BATCH_BYTES:
            conn.execute(statement, batch)
            batch, size = [], 0
    if batch:
        conn.execute(statement, batch)
    for column, _referred, value, keys in deferred:
        condition = [wire.c[k] == bindparam(f"k_{k}") for k in keys]
        conn.execute(
            wire.update().where(*condition).values({column: bindparam("v_value")}),
            {"v_value": value, **{f"k_{k}": v for k, v in keys.items()}},
        )


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            quote = conn.dialect.identifier_preparer.quote
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, :column), max_value) "  # noqa: S608 — names
                    f"FROM (SELECT max({quote(column.name)}) AS max_value FROM {quote(table.name)}) AS m "
                    "WHERE max_value IS NOT NULL AND pg_get_serial_sequence(:table, :column) IS NOT NULL"
                ),
                {"table": table.name, "column": column.name},
            )


def restore_backup(path: Path, *, force_keys: bool = False) -> RestoreResult:
    """Restore the archive into this instance's empty database and folder (see the module's doc)."""
    check = verify_backup(path)
    if not check.ok or check.manifest is None:
        raise BackupError("Sauvegarde refusée, rien n'a été écrit :\n  " + "\n  ".join(check.problems))
    manifest = check.manifest
    revision = manifest["alembic_revision"]
    _check_revision(revision)
    engine = db.engine
    db.session.close()
    with engine.connect() as conn:
        if full := _rows_in(conn):
            raise BackupError(
                "La base n'est pas vide ("
                + ", ".join(sorted(full)[:10])
                + ("…" if len(full) > 10 else "")
                + ") : la restauration se fait dans une base vide. Rien n'a été écrit."
            )
        conn.rollback()
    with zipfile.ZipFile(path) as archive:
        plan = _file_plan(manifest, archive, force_keys)
        _migrate_to(revision)
        db.session.close()
        counts: dict[str, int] = {}
        with engine.begin() as conn:
            target = MetaData()
            target.reflect(conn)
            names = [entry["name"] for entry in manifest["tables"]]
            if unknown := [name for name in names if name not in target.tables]:
                raise BackupError(f"tables inconnues de la base restaurée : {', '.join(unknown)}")
            with _triggers_off(conn, names):
                for entry in manifest["tables"]:
                    _load_table(conn, archive, entry, target.tables[entry["name"]])
            _reset_sequences(conn, [target.tables[name] for name in names])
            for entry in manifest["tables"]:
                counts[entry["name"]] = conn.execute(
                    select(func.count()).select_from(target.tables[entry["name"]])
                ).scalar_one()
            if wrong := [e["name"] for e in manifest["tables"] if counts[e["name"]] != e["rows"]]:
                raise BackupError(f"comptes différents du manifeste après chargement : {', '.join(wrong)}")
        result = RestoreResult(manifest=manifest, counts=counts)
        for action, item, content in plan:
            if action == "write":
                _write_file(item.path, content, item.secret)
                result.restored_files.append(f"{item.label} → {item.path}")
            elif action == "same":
                result.restored_files.append(f"{item.label} : identique, déjà en place ({item.path})")
            elif action == "keep":
                result.kept_files.append(f"{item.label} : celle de cette instance est gardée ({item.path})")
            else:
                result.skipped_files.append(f"{item.label} : non restauré (aucun fichier configuré ici)")
        signing_restored = audit._key_path().exists()
        for name in manifest.get("public_keys", []):
            pem = archive.read(f"public_keys/{name}.pem")
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, Ed25519PublicKey):
                continue
            result.public_keys[name] = key
            if name not in audit.trusted_public_keys() and not signing_restored:
                # Not a secret: written so that the operator can declare it (see the command's output).
                public = Path(current_app.instance_path) / "audit_public_keys" / f"{name}.pem"
                if not public.exists():
                    _write_file(public, pem, secret=False)
                result.public_key_files.append(public)
    if revision != code_revision():
        alembic.upgrade()
        result.upgraded_to = code_revision()
    db.session.close()
    return result


def verify_journal(extra_keys: dict[str, Ed25519PublicKey]) -> list[audit.ChainVerdict]:
    """``flask audit verify``'s check, trusting also the public keys of the archive."""
    anchor_file = audit.configured_anchor_file()
    wanted = sorted(set(audit.chains()) | (anchor_file.chains() if anchor_file else set()))
    keys = {**extra_keys, **audit.trusted_public_keys()}
    erasures = audit.Erasures()
    return [audit.verify_chain(c, keys=keys, anchor_file=anchor_file, erasures=erasures) for c in wanted]


# --- the commands ------------------------------------------------------------------------------

backup_cli = AppGroup("backup", help="Sauvegarde : créer une archive, la vérifier, la restaurer.")

KEYS_WARNING = (
    "ATTENTION : cette archive contient les clés (clé secrète, clé de chiffrement, clé de signature "
    "du journal). Quiconque la détient lit les secrets TOTP et peut signer le journal : conservez-la "
    "chiffrée et hors ligne, à part des sauvegardes ordinaires."
)


@backup_cli.command("create")
@click.option("--output", "-o", metavar="FILE", type=click.Path(dir_okay=False), help="Fichier à écrire.")
@click.option(
    "--include-keys",
    is_flag=True,
    help="Inclure aussi les fichiers de clés (l'archive contient alors des secrets).",
)
def create_command(output: str | None, include_keys: bool) -> None:
    """Write one consistent archive of the database and of the instance files."""
    target = Path(output or default_backup_name())
    try:
        result = create_backup(target, include_keys=include_keys)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = result.manifest
    rows = sum(t["rows"] for t in manifest["tables"])
    click.echo(
        f"Sauvegarde écrite : {result.path} ({result.path.stat().st_size} octets, {len(manifest['tables'])} "
        f"tables, {rows} lignes, base {manifest['dialect']}, révision {manifest['alembic_revision']})."
    )
    for entry in manifest["instance_files"]:
        click.echo(f"  inclus : instance/{entry['role']}")
    if result.anchors_left_out:
        click.echo(
            f"  {result.anchors_left_out} ancre(s) signée(s) pendant la sauvegarde, après l'instantané de "
            "la base, laissée(s) hors du fichier d'ancres de l'archive (elles seront dans la suivante)."
        )
    if include_keys:
        click.echo(KEYS_WARNING, err=True)
    if result.missing_secrets or not include_keys:
        click.echo("Sans les clés, celui qui restaure doit apporter :")
        click.echo(
            "  - la clé de chiffrement (instance/encryption_keys ou EGIDE_ENCRYPTION_KEYS) : sans elle, "
            "les secrets TOTP et les autres colonnes chiffrées sont illisibles (les comptes devront "
            "réenrôler leur double authentification) ;"
        )
        click.echo(
            "  - la clé de signature du journal (audit_signing_key.pem) pour continuer à signer avec la "
            "même clé ; à défaut, les signatures existantes se vérifient avec la clé publique incluse "
            "(public_keys/, à déclarer dans AUDIT_TRUSTED_PUBLIC_KEY_FILES) ;"
        )
        click.echo(
            "  - la clé secrète Flask (instance/secret_key ou SECRET_KEY) : sans elle, les sessions tombent."
        )


@backup_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def verify_command(file: str) -> None:
    """Check an archive: manifest, checksums, every table readable with the announced row count."""
    result = verify_backup(Path(file))
    if not result.ok:
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(f"Sauvegarde {file} invalide ({len(result.problems)} problème(s)).")
    manifest = result.manifest or {}
    rows = sum(t["rows"] for t in manifest["tables"])
    click.echo(
        f"Sauvegarde {file} intègre : {len(manifest['tables'])} tables, {rows} lignes, créée le "
        f"{manifest['created_at']} (base {manifest['dialect']}, révision {manifest['alembic_revision']}, "
        f"clés {'incluses' if manifest.get('includes_keys') else 'non incluses'})."
    )


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--force-keys", is_flag=True, help="Remplacer les fichiers de clés existants par ceux de l'archive."
)
def restore_command(file: str, force_keys: bool) -> None:
    """Restore an archive into an empty database and instance folder, then verify the journal."""
    try:
        result = restore_backup(Path(file), force_keys=force_keys)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restauration de {file} (révision {result.manifest['alembic_revision']}) :")
    for entry in result.manifest["tables"]:
        got = result.counts[entry["name"]]
        mark = "ok" if got == entry["rows"] else "DIFFÉRENT"
        click.echo(f"  {entry['name']:<32} {got:>9} / {entry['rows']:>9}  {mark}")
    for line in result.restored_files + result.kept_files + result.skipped_files:
        click.echo(f"  {line}")
    if result.upgraded_to:
        click.echo(f"Base mise à jour vers la révision du code : {result.upgraded_to}.")
    if not result.manifest.get("includes_keys"):
        click.echo(
            "Archive sans clés : remettez la clé de chiffrement (EGIDE_ENCRYPTION_KEYS ou "
            "instance/encryption_keys) et la clé de signature du journal, ou déclarez les clés publiques "
            "de l'archive dans AUDIT_TRUSTED_PUBLIC_KEY_FILES."
        )
    if result.public_key_files:
        listed = json.dumps([str(path) for path in result.public_key_files])
        click.echo(
            "Clé(s) publique(s) du journal écrite(s) ; pour que `flask audit verify` les reconnaisse : "
            f"export EGIDE_AUDIT_TRUSTED_PUBLIC_KEY_FILES='{listed}'"
        )
    verdicts = verify_journal(result.public_keys)
    names = {row[0]: row[1] for row in db.session.execute(text("SELECT id, name FROM organisations"))}
    names[audit.PLATFORM_CHAIN] = "plateforme"
    click.echo("Vérification du journal :")
    for verdict in verdicts:
        click.echo(f"  Chaîne {verdict.chain} ({names.get(verdict.chain, '?')}) : {verdict.message()}")
    if not verdicts:
        click.echo("  Aucune chaîne : le journal est vide.")
    if any(not verdict.ok for verdict in verdicts):
        raise click.ClickException("Le journal restauré ne se vérifie pas.")
