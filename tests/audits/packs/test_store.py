"""The packs and the evidence store together: a file uploaded through the store's page comes out of
a pack byte for byte (decrypted on the fly, its SHA-256 checked by the real ``sha256sum -c``), and a
file altered in the store fails the pack with a readable reason instead of shipping it."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from audits.evidence import keyring
from audits.evidence.models import EvidenceVersion
from audits.packs.models import EvidencePack
from core.jobs import current_huey
from core.security import Role
from reports import signing
from tests.conftest import World, csrf_token_from


@pytest.fixture
def rssi(app: Flask, world: World, login_as: Any, evidence_dirs: dict[str, Path]) -> Any:
    with app.app_context():
        signing.init_keys("Syndicat de test")
    yield login_as(world.a.users[Role.RSSI], world.a.syndicate)
    with app.app_context():
        current_huey().storage.flush_all()


def _upload(client: Any, name: str, content: bytes) -> None:
    data = {"title": "Procès-verbal de test de restauration", "file": (io.BytesIO(content), name)}
    assert (
        client.post("/audits/evidence/new", data=data, content_type="multipart/form-data").status_code == 302
    )


def _pack(client: Any, session: Any, world: World) -> EvidencePack:
    token = csrf_token_from(client.get("/audits/packs/").get_data(as_text=True))
    asked = client.post(
        "/audits/packs/", data={"csrf_token": token, "period_start": "2026-01-01", "period_end": "2026-12-31"}
    )
    assert asked.status_code == 302
    session.expire_all()
    return session.scalar(
        select(EvidencePack)
        .where(EvidencePack.organisation_id == world.a.syndicate.id)
        .order_by(EvidencePack.id.desc())
    )


def test_an_uploaded_file_comes_out_of_the_pack_byte_for_byte(
    rssi: Any, session: Any, world: World, tmp_path: Path
) -> None:
    content = ("Restauration du 12/11 : réussie\n" * 5000).encode()  # several chunks of the store
    _upload(rssi, "pv restauration.txt", content)
    pack = _pack(rssi, session, world)
    assert pack.status == "ready", pack.error
    assert pack.evidence_count == 1
    token = csrf_token_from(rssi.get(f"/audits/packs/{pack.id}").get_data(as_text=True))
    archive = rssi.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token}).get_data()
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        zf.extractall(tmp_path / "pack")
        names = zf.namelist()
    inside = [n for n in names if n.startswith("evidence/") and n.endswith("pv restauration.txt")]
    assert len(inside) == 1
    assert (tmp_path / "pack" / inside[0]).read_bytes() == content
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],  # noqa: S607 — the system tool VERIFIER.txt names
        cwd=tmp_path / "pack",
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{inside[0]}: OK" in checked.stdout
    assert hashlib.sha256(content).hexdigest() in (tmp_path / "pack" / "SHA256SUMS").read_text()


def test_a_file_altered_in_the_store_fails_the_pack_with_its_reason(
    rssi: Any, session: Any, world: World, evidence_dirs: dict[str, Path]
) -> None:
    _upload(rssi, "journal.txt", ("ligne\n" * 30_000).encode())
    version = session.scalars(select(EvidenceVersion).order_by(EvidenceVersion.id.desc())).first()
    stored = evidence_dirs["EVIDENCE_DIR"] / version.storage_id
    data = bytearray(stored.read_bytes())
    data[keyring.HEADER + 100] ^= 0x01
    stored.write_bytes(bytes(data))
    pack = _pack(rssi, session, world)
    assert pack.status == "failed"
    assert "altérée dans le coffre" in pack.error
    assert "Procès-verbal de test de restauration" in pack.error
    page = rssi.get(f"/audits/packs/{pack.id}").get_data(as_text=True)
    assert "altérée dans le coffre" in page
