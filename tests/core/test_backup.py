"""``flask backup``: create, verify and restore give back every row, the documents' bytes, the JSON
values and the journal, on SQLite and PostgreSQL and from one to the other; a tampered archive, a
non-empty database, a newer archive and a different key file are refused with nothing written.

These tests build their own throwaway databases beside the suite's (SQLite files in a temporary folder;
databases on the suite's PostgreSQL server), each with its own instance folder and keys.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, Text, cast, create_engine, func, insert, make_url, null, select, text, update

from core import audit, backup, create_app, crypto
from core.cli import run_demo_loaders
from core.config import TestConfig
from core.db import Base
from core.extensions import alembic, db

pytestmark = pytest.mark.no_isolation

SUITE_URL = make_url(TestConfig.DATABASE_URL)
ON_POSTGRES = SUITE_URL.get_backend_name() == "postgresql"
_numbers = count(1)
KEY_FILES = ("instance/secret_key", "instance/encryption_keys", "instance/audit_signing_key.pem")
PDF_BYTES = b"%PDF-1.7\x00\xff\xfe binary \x80 content\n" * 50


# --- throwaway databases and instances ---------------------------------------------------------


class Scratch:
    """Databases created for one test module and dropped at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[str] = []

    def url(self, kind: str) -> str:
        number = next(_numbers)
        if kind == "sqlite":
            return f"sqlite:///{self.folder}/base-{number}.sqlite3"
        name = f"{SUITE_URL.database}_backup_{os.getpid()}_{number}"
        _admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return SUITE_URL.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.created:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    """Run a statement on the suite's PostgreSQL server, outside any database of ours."""
    engine = create_engine(SUITE_URL.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    made = Scratch(tmp_path_factory.mktemp("backup"))
    yield made
    if made.created:
        made.drop_all()


def instance_app(url: str, folder: Path) -> Flask:
    """An app on ``url`` whose instance folder (keys, anchor file) is ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {name: getattr(TestConfig, name) for name in dir(TestConfig) if name.isupper()}
    config |= {
        "DATABASE_URL": url,
        "AUDIT_SIGNING_KEY_FILE": "audit_signing_key.pem",
        "AUDIT_ANCHOR_FILE": "audit_anchors.jsonl",
        "ENCRYPTION_KEYS": None,  # the instance's encryption_keys file, as in production
    }
    app = create_app(config)
    app.instance_path = str(folder)
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.close()
        for engine in db.engines.values():
            engine.dispose()


def fill(app: Flask) -> None:
    """The demo data, plus what the demo lacks: a generated document and a pending import (bytes),
    JSON null beside SQL NULL, a TOTP secret under the instance's key, an organisation merged into a
    later one (a self-reference to a row further on), and signed anchors."""
    with app.app_context():
        alembic.upgrade()
        run_demo_loaders()
        db.session.commit()
        tables = Base.metadata.tables
        orgs, users = tables["organisations"], tables["users"]
        first_org, last_org = db.session.execute(select(func.min(orgs.c.id), func.max(orgs.c.id))).one()
        user_id = db.session.scalar(select(func.min(users.c.id)))
        now = datetime(2026, 12, 3, 10, 30, 15, 123456, tzinfo=UTC)
        db.session.execute(update(orgs).where(orgs.c.id == first_org).values(merged_into_id=last_org))
        db.session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(totp_secret_enc=crypto.encrypt("JBSWY3DPEHPK3PXP"))
        )
        db.session.execute(
            insert(tables["generated_reports"]).values(
                kind="register",
                title="Registre « test » — été",
                filename="registre.pdf",
                media_type="application/pdf",
                sha256="0" * 64,
                size=len(PDF_BYTES),
                content=PDF_BYTES,
                created_at=now,
                created_by_id=user_id,
                organisation_id=first_org,
            )
        )
        imports = tables["register_imports"]
        common = {
            "user_id": user_id,
            "status": "pending",
            "created_at": now,
            "expires_at": now + timedelta(days=1),
            "fmt": "csv",
            "sha256": "1" * 64,
            "row_count": 2,
            "organisation_id": first_org,
            "version": 1,
        }
        db.session.execute(
            insert(imports).values(
                filename="avec.csv",
                headers=["Nom", "Finalité"],
                mapping=JSON.NULL,
                payload=b"\x00\x01nom;finalit\xc3\xa9\n",
                result={"created": 2, "dates": ["2026-12-03"], "nested": {"x": None}},
                **common,
            )
        )
        db.session.execute(
            insert(imports).values(
                filename="sans.csv", headers=[], mapping=null(), payload=None, result=None, **common
            )
        )
        db.session.commit()
        audit.anchor_heads()
        db.session.commit()


def contents(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, through the models' column types, in primary-key order."""
    with app.app_context():
        return {
            table.name: [
                tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def json_texts(app: Flask) -> list[tuple[str, str | None]]:
    """The register imports' mapping as stored: JSON null ('null') apart from SQL NULL (None)."""
    with app.app_context():
        imports = Base.metadata.tables["register_imports"]
        rows = db.session.execute(
            select(imports.c.filename, cast(imports.c.mapping, Text)).order_by(imports.c.id)
        )
        return [(name, None if value is None else value.replace(" ", "")) for name, value in rows]


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def source(scratch: Scratch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A filled database of the suite's kind, and its archives with and without the keys."""
    folder = tmp_path_factory.mktemp("source")
    app = instance_app(scratch.url("postgresql" if ON_POSTGRES else "sqlite"), folder / "instance")
    fill(app)
    (folder / "instance" / "secret_key").write_text("a-flask-secret-key-kept-in-its-file")
    with_keys, without_keys = folder / "avec-cles.zip", folder / "sans-cles.zip"
    created = run(app, "backup", "create", "--output", str(with_keys), "--include-keys")
    assert created.exit_code == 0, created.output
    plain = run(app, "backup", "create", "-o", str(without_keys))
    assert plain.exit_code == 0, plain.output
    yield {
        "app": app,
        "instance": folder / "instance",
        "with_keys": with_keys,
        "without_keys": without_keys,
        "created_output": created.output,
        "plain_output": plain.output,
        "contents": contents(app),
    }
    dispose(app)


def empty_target(scratch: Scratch, tmp_path: Path, kind: str) -> tuple[Flask, Path]:
    folder = tmp_path / f"instance-{kind}"
    return instance_app(scratch.url(kind), folder), folder


def assert_same_database(source: dict[str, Any], target: Flask) -> None:
    restored = contents(target)
    assert {name: len(rows) for name, rows in restored.items()} == {
        name: len(rows) for name, rows in source["contents"].items()
    }
    assert restored == source["contents"]
    assert json_texts(target) == json_texts(source["app"]) == [("avec.csv", "null"), ("sans.csv", None)]


# --- round trips -------------------------------------------------------------------------------


def test_round_trip_gives_identical_rows_keys_and_a_verified_journal(
    source: dict[str, Any], scratch: Scratch, tmp_path: Path
) -> None:
    assert "ATTENTION" in source["created_output"]
    assert "chiffrée et hors ligne" in source["created_output"]
    checked = run(source["app"], "backup", "verify", str(source["with_keys"]))
    assert checked.exit_code == 0, checked.output
    assert "intègre" in checked.output
    assert "clés incluses" in checked.output

    kind = "postgresql" if ON_POSTGRES else "sqlite"
    target, folder = empty_target(scratch, tmp_path, kind)
    try:
        restored = run(target, "backup", "restore", str(source["with_keys"]))
        assert restored.exit_code == 0, restored.output
        assert "DIFFÉRENT" not in restored.output
        assert "Journal intègre" in restored.output
        assert_same_database(source, target)
        # The bytes of documents and pending imports, JSON null apart from SQL NULL, dates and times.
        with target.app_context():
            tables = Base.metadata.tables
            assert db.session.scalar(select(tables["generated_reports"].c.content)) == PDF_BYTES
            imports = tables["register_imports"]
            payloads = db.session.execute(
                select(imports.c.payload, imports.c.result).order_by(imports.c.id)
            ).all()
            assert payloads[0] == (
                b"\x00\x01nom;finalit\xc3\xa9\n",
                {"created": 2, "dates": ["2026-12-03"], "nested": {"x": None}},
            )
            assert payloads[1] == (None, None)
            texts = (
                db.session.execute(select(cast(imports.c.mapping, Text)).order_by(imports.c.id))
                .scalars()
                .all()
            )
            assert texts[0] is not None
            assert json.loads(texts[0]) is None
            assert texts[1] is None  # SQL NULL stays SQL NULL
            # The TOTP secret reads with the restored key.
            users = tables["users"]
            secret = db.session.scalar(
                select(users.c.totp_secret_enc).where(users.c.totp_secret_enc.is_not(None))
            )
            assert crypto.decrypt(secret) == "JBSWY3DPEHPK3PXP"
            if ON_POSTGRES:  # sequences continue after the restored ids
                orgs = tables["organisations"]
                top = db.session.scalar(select(func.max(orgs.c.id)))
                assert (
                    db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('organisations', 'id'))"))
                    > top
                )
        for name in ("audit_signing_key.pem", "encryption_keys", "audit_anchors.jsonl"):
            assert (folder / name).read_bytes() == (source["instance"] / name).read_bytes()
        assert oct((folder / "audit_signing_key.pem").stat().st_mode & 0o777) == "0o600"
        verified = run(target, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert "altéré" not in verified.output
        assert "Journal intègre" in verified.output
    finally:
        dispose(target)


@pytest.mark.skipif(not ON_POSTGRES, reason="the suite's PostgreSQL server is needed (TEST_DATABASE_URL)")
@pytest.mark.parametrize(("source_kind", "target_kind"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_round_trip_across_sqlite_and_postgresql(
    scratch: Scratch, tmp_path: Path, source_kind: str, target_kind: str
) -> None:
    origin = instance_app(scratch.url(source_kind), tmp_path / "origin")
    target, _folder = empty_target(scratch, tmp_path, target_kind)
    try:
        fill(origin)
        archive = tmp_path / "sauvegarde.zip"
        assert run(origin, "backup", "create", "-o", str(archive), "--include-keys").exit_code == 0
        restored = run(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert_same_database({"app": origin, "contents": contents(origin)}, target)
        with target.app_context():
            manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
            assert manifest["dialect"] == source_kind
            assert db.engine.dialect.name == target_kind
        verified = run(target, "audit", "verify")
        assert verified.exit_code == 0, verified.output
    finally:
        dispose(origin)
        dispose(target)


def test_archive_without_keys_holds_no_key_and_says_what_to_bring(
    source: dict[str, Any], scratch: Scratch, tmp_path: Path
) -> None:
    archive = zipfile.ZipFile(source["without_keys"])
    names = set(archive.namelist())
    assert not names & set(KEY_FILES)
    assert "instance/audit_anchors.jsonl" in names
    secrets = [
        (source["instance"] / name).read_bytes()
        for name in ("secret_key", "encryption_keys", "audit_signing_key.pem")
    ]
    for name in names:
        content = archive.read(name)
        assert not any(secret.strip() in content for secret in secrets), name
    assert "ATTENTION" not in source["plain_output"]
    assert "doit apporter" in source["plain_output"]
    assert "clé de chiffrement" in source["plain_output"]
    with_keys = set(zipfile.ZipFile(source["with_keys"]).namelist())
    assert set(KEY_FILES) <= with_keys

    # Restored without keys: the rows are all there and the journal verifies with the archive's public key.
    target, folder = empty_target(scratch, tmp_path, "sqlite")
    try:
        restored = run(target, "backup", "restore", str(source["without_keys"]))
        assert restored.exit_code == 0, restored.output
        assert "Archive sans clés" in restored.output
        assert "Journal intègre" in restored.output
        assert not (folder / "audit_signing_key.pem").exists()
        assert not (folder / "encryption_keys").exists()
        (public_key,) = (folder / "audit_public_keys").iterdir()
        assert "EGIDE_AUDIT_TRUSTED_PUBLIC_KEY_FILES" in restored.output
        assert "PRIVATE" not in public_key.read_text()
        # Declared as the output says, the public key makes `flask audit verify` pass.
        target.config["AUDIT_TRUSTED_PUBLIC_KEY_FILES"] = [str(public_key)]
        verified = run(target, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert_same_database(source, target)
    finally:
        dispose(target)


# --- refusals ----------------------------------------------------------------------------------


def _rewrite(archive: Path, output: Path, change: Any) -> Path:
    """A copy of ``archive`` whose members go through ``change(name, bytes) -> bytes``."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return output


def _no_rows(app: Flask) -> bool:
    with app.app_context():
        return backup._rows_in(db.session.connection()) == []


def test_tampered_archive_fails_verify_and_restore_writes_nothing(
    source: dict[str, Any], scratch: Scratch, tmp_path: Path
) -> None:
    def tamper(name: str, data: bytes) -> bytes:
        return data.replace(b"Syndicat", b"Syndikat", 1) if name == "data/organisations.jsonl" else data

    tampered = _rewrite(source["without_keys"], tmp_path / "altere.zip", tamper)
    result = run(source["app"], "backup", "verify", str(tampered))
    assert result.exit_code == 1
    assert "data/organisations.jsonl : empreinte SHA-256 différente du manifeste" in result.output
    assert "invalide" in result.output

    truncated = tmp_path / "tronque.zip"
    truncated.write_bytes(source["without_keys"].read_bytes()[:-2000])
    result = run(source["app"], "backup", "verify", str(truncated))
    assert result.exit_code == 1
    assert "illisible" in result.output

    def miscount(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["tables"][0]["rows"] += 1
        return json.dumps(manifest).encode()

    result = run(
        source["app"], "backup", "verify", str(_rewrite(source["without_keys"], tmp_path / "n.zip", miscount))
    )
    assert result.exit_code == 1
    assert "annoncée(s)" in result.output

    def escaping(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps(json.loads(data) | {"public_keys": ["../../../etc/evil"]}).encode()

    escaped = _rewrite(source["without_keys"], tmp_path / "e.zip", escaping)
    result = run(source["app"], "backup", "verify", str(escaped))
    assert result.exit_code == 1
    assert "clé publique mal décrite" in result.output

    target, folder = empty_target(scratch, tmp_path, "sqlite")
    try:
        refused = run(target, "backup", "restore", str(tampered))
        assert refused.exit_code == 1
        assert "rien n'a été écrit" in refused.output
        assert _no_rows(target)
        assert not any(folder.iterdir())
    finally:
        dispose(target)


def test_restore_into_a_non_empty_database_is_refused_with_nothing_written(source: dict[str, Any]) -> None:
    before = contents(source["app"])
    anchors = (source["instance"] / "audit_anchors.jsonl").read_bytes()
    refused = run(source["app"], "backup", "restore", str(source["with_keys"]))
    assert refused.exit_code == 1
    assert "La base n'est pas vide" in refused.output
    assert "Rien n'a été écrit" in refused.output
    assert contents(source["app"]) == before
    assert (source["instance"] / "audit_anchors.jsonl").read_bytes() == anchors


def test_archive_from_a_newer_revision_is_refused(
    source: dict[str, Any], scratch: Scratch, tmp_path: Path
) -> None:
    def newer(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps(json.loads(data) | {"alembic_revision": "29991231z"}).encode()

    archive = _rewrite(source["without_keys"], tmp_path / "future.zip", newer)
    target, _folder = empty_target(scratch, tmp_path, "sqlite")
    try:
        refused = run(target, "backup", "restore", str(archive))
        assert refused.exit_code == 1
        assert "version plus récente" in refused.output
        assert _no_rows(target)
    finally:
        dispose(target)


def test_a_different_key_file_is_replaced_only_with_force_keys(
    source: dict[str, Any], scratch: Scratch, tmp_path: Path
) -> None:
    target, folder = empty_target(scratch, tmp_path, "sqlite")
    folder.joinpath("encryption_keys").write_text("another-key\n")
    try:
        refused = run(target, "backup", "restore", str(source["with_keys"]))
        assert refused.exit_code == 1
        assert "clé de chiffrement" in refused.output
        assert "--force-keys" in refused.output
        assert _no_rows(target)
        assert folder.joinpath("encryption_keys").read_text() == "another-key\n"

        forced = run(target, "backup", "restore", str(source["with_keys"]), "--force-keys")
        assert forced.exit_code == 0, forced.output
        assert (
            folder.joinpath("encryption_keys").read_bytes()
            == (source["instance"] / "encryption_keys").read_bytes()
        )
    finally:
        dispose(target)


def test_create_refuses_to_overwrite_an_existing_file(source: dict[str, Any]) -> None:
    result = run(source["app"], "backup", "create", "-o", str(source["with_keys"]))
    assert result.exit_code == 1
    assert "existe déjà" in result.output


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("int", 2**40),
        ("str", "Hôtel de ville ; « cité » \u2028 \x01"),
        ("bool", False),
        ("float", 0.1),
        ("decimal", Decimal("12345.678900")),
        ("date", date(2026, 2, 28)),
        ("time", time(23, 59, 58, 999999)),
        ("datetime", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("naive_datetime", datetime(2026, 3, 29, 2, 30)),
        ("bytes", bytes(range(256))),
    ],
)
def test_every_kind_of_value_survives_its_json_form(kind: str, value: Any) -> None:
    line = json.dumps([backup.encode(kind, value)])
    assert backup.decode(kind, json.loads(line)[0]) == value


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("int", "12"),
        ("int", True),
        ("bool", 1),
        ("datetime", "2026-12-03T10:00:00"),
        ("bytes", "pas du base64!"),
    ],
)
def test_a_value_that_does_not_fit_its_column_is_refused(kind: str, value: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 — the message is made by verify_backup
        backup.decode(kind, value)


def test_every_column_of_the_schema_has_a_portable_kind() -> None:
    create_app(TestConfig)  # every domain's models
    kinds = {
        backup.column_kind(column.type) for table in Base.metadata.tables.values() for column in table.columns
    }
    assert kinds <= set(backup.KINDS)
    assert {"datetime", "bytes", "json", "date", "bool"} <= kinds
    shutil.disk_usage("/")  # nothing else: the mapping is what is checked


def test_anchors_signed_after_the_snapshot_stay_out_of_the_archive(
    source: dict[str, Any], tmp_path: Path
) -> None:
    """The anchor file is written after each commit: a line of a transaction the snapshot did not see
    is left out (file and database then agree once restored); an older line missing from the
    database is evidence, kept as it is."""
    anchors = source["instance"] / "audit_anchors.jsonl"
    original = anchors.read_bytes()

    def line(signed_at: datetime) -> bytes:
        fields = {"chain": 999, "seq": 1, "hash": "f" * 64, "key_id": "0" * 16, "signature": "AAAA"}
        return (json.dumps(fields | {"signed_at": signed_at.isoformat()}) + "\n").encode()

    in_flight, old = line(datetime.now(UTC)), line(datetime.now(UTC) - timedelta(days=2))
    anchors.write_bytes(original + old + in_flight)
    try:
        archive = tmp_path / "pendant.zip"
        result = run(source["app"], "backup", "create", "-o", str(archive))
        assert result.exit_code == 0, result.output
        assert "1 ancre(s) signée(s) pendant la sauvegarde" in result.output
        assert zipfile.ZipFile(archive).read("instance/audit_anchors.jsonl") == original + old
    finally:
        anchors.write_bytes(original)
