"""The pack of an audit (the audit page's button and panel): its organisations over its dates, with
its findings PDF, signed; its invited auditor downloads it from their audit's page, and sees no other
pack of the organisation. The evidence store's "Preuves" panel is on a finding's page."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select

from audits.packs.models import EvidencePack
from core.jobs import current_huey
from core.security import Role
from reports import signing
from tests.audits.packs.factories import EvidencePackFactory
from tests.audits.test_auditor_access import _setup
from tests.conftest import World, csrf_token_from


@pytest.fixture
def keys(app: Flask, evidence_dirs: dict[str, Path]) -> Iterator[None]:
    with app.app_context():
        signing.init_keys("Syndicat de test")
    yield
    with app.app_context():
        current_huey().storage.flush_all()


@pytest.mark.usefixtures("keys")
def test_the_audits_pack_holds_its_findings_and_its_auditor_downloads_it(
    app: Flask, world: World, session: Any, login_as: Any, tmp_path: Path
) -> None:
    s = _setup(app, world, session)
    unrelated = EvidencePackFactory(
        organisation_id=world.a.syndicate.id, scope_org_ids=[world.a.syndicate.id]
    )
    session.flush()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get(f"/audits/{s['audit']}").get_data(as_text=True)
    assert 'id="h-audit-packs"' in page  # the packs' panel (core.panels)
    assert "Aucun dossier de preuves pour cet audit." in page
    asked = rssi.post(f"/audits/packs/audit/{s['audit']}", data={"csrf_token": csrf_token_from(page)})
    assert asked.status_code == 302
    session.expire_all()
    pack = session.scalar(select(EvidencePack).where(EvidencePack.audit_id == s["audit"]))
    assert pack.status == "ready", pack.error
    assert sorted(pack.scope_org_ids) == sorted([world.a.syndicate.id, world.a.member.id])
    assert pack.title.startswith("Dossier de preuves de l'audit AUD-")
    shown = str(escape(pack.title))  # as the page writes it
    assert shown in rssi.get(f"/audits/{s['audit']}").get_data(as_text=True)  # the panel lists it

    # The invited auditor: the pack on their audit's page, downloadable; the other pack: 404.
    auditor = login_as(s["auditor"], world.a.syndicate)
    audit_page = auditor.get(f"/audits/{s['audit']}").get_data(as_text=True)
    assert shown in audit_page
    assert "Constituer le dossier" not in audit_page  # read-only: no button
    listing = auditor.get("/audits/packs/").get_data(as_text=True)
    assert shown in listing
    assert str(escape(unrelated.title)) not in listing
    assert auditor.get(f"/audits/packs/{unrelated.id}").status_code == 404
    token = csrf_token_from(auditor.get(f"/audits/packs/{pack.id}").get_data(as_text=True))
    assert (
        auditor.post(f"/audits/packs/{unrelated.id}/download", data={"csrf_token": token}).status_code == 404
    )
    assert auditor.post(f"/audits/packs/audit/{s['audit']}", data={"csrf_token": token}).status_code == 403
    downloaded = auditor.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token})
    assert downloaded.status_code == 200
    with zipfile.ZipFile(io.BytesIO(downloaded.get_data())) as zf:
        zf.extractall(tmp_path / "pack")
        names = zf.namelist()
    findings = [n for n in names if n.startswith("reports/audit_findings-AUD-")]
    assert len(findings) == 1
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "pack" / findings[0]).pages)
    assert "Sauvegardes" in text  # the audit's finding, built by the job without a request
    assert "Secret" not in text  # the other audit's finding
    signature = subprocess.run(  # noqa: S603 — the system's pdfsig, as VERIFIER.txt says
        ["pdfsig", findings[0]],  # noqa: S607
        cwd=tmp_path / "pack",
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Signature is Valid" in signature.stdout, signature.stdout + signature.stderr


def test_a_finding_page_shows_its_evidence_panel(
    app: Flask, world: World, session: Any, login_as: Any, evidence_dirs: dict[str, Path]
) -> None:
    s = _setup(app, world, session)
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get(f"/audits/findings/{s['finding']}").get_data(as_text=True)
    assert "Aucune preuve liée." in page
    assert f"object_type=Finding&amp;object_id={s['finding']}" in page  # "Ajouter une preuve", pre-linked
    upload = rssi.post(
        "/audits/evidence/new",
        data={
            "title": "Rapport de restauration",
            "file": (io.BytesIO(b"restauration OK\n"), "restauration.txt"),
            "object_type": "Finding",
            "object_id": str(s["finding"]),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302, upload.get_data(as_text=True)[:500]
    assert "Rapport de restauration" in rssi.get(f"/audits/findings/{s['finding']}").get_data(as_text=True)
