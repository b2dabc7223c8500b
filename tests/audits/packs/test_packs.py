"""Evidence packs (issue 14): built by the job queue, unzipped and checked with the real tools —
``sha256sum -c``, ``openssl pkeyutl -verify``, ``pdfsig``, ``qpdf --check`` —, tampering detected,
an evidence file that no longer matches its recorded hash fails the pack, cross-organisation 404s,
expiry purge, bad input refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import Flask
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from audits.packs import services
from audits.packs.models import EvidencePack, PackStatus
from audits.packs.sources import EvidenceForPack, register_evidence_source, unregister_evidence_source
from core.audit import AuditEvent
from core.config import TestConfig
from core.jobs import current_huey
from core.security import Role
from reports import signing
from risks.models import Treatment, risk_actions
from tests.audits.packs.factories import EvidencePackFactory
from tests.conftest import World, csrf_token_from
from tests.risks.factories import RiskFactory
from tests.smsi.factories import ActionFactory

CHUNK = 64 * 1024


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603


class FileSource:
    """Evidence read from real files on disk (the evidence store registers its own at merge)."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, Path, str, str]] = []  # org id, org name, path, title, sha256

    def add(self, org: Any, path: Path, content: bytes, *, title: str, sha256: str | None = None) -> None:
        path.write_bytes(content)
        self.items.append((org.id, org.name, path, title, sha256 or hashlib.sha256(content).hexdigest()))

    def __call__(self, org_ids: Any, objects: Any) -> Iterator[EvidenceForPack]:
        wanted = set(org_ids)
        for number, (org_id, org_name, path, title, digest) in enumerate(self.items, start=1):
            if org_id not in wanted:
                continue

            def chunks(path: Path = path) -> Iterator[bytes]:
                with open(path, "rb") as handle:
                    while block := handle.read(CHUNK):
                        yield block

            yield EvidenceForPack(
                evidence_id=number,
                version=1,
                title=title,
                filename=path.name,
                size=path.stat().st_size,
                sha256=digest,
                media_type="application/octet-stream",
                organisation_id=org_id,
                organisation_name=org_name,
                owner="Responsable des preuves",
                valid_from=dt.date(2026, 1, 1),
                valid_until=dt.date(2027, 1, 1),
                links=("control:A.5.1",),
                chunks=chunks,
            )


@pytest.fixture
def keys(app: Flask) -> None:
    with app.app_context():
        signing.init_keys("Syndicat de test")


@pytest.fixture
def source(app: Flask) -> Iterator[FileSource]:
    found = FileSource()
    register_evidence_source(found)
    yield found
    unregister_evidence_source(found)
    with app.app_context():
        current_huey().storage.flush_all()


@pytest.fixture
def evidence(world: World, source: FileSource, tmp_path: Path) -> FileSource:
    files = tmp_path / "evidence"
    files.mkdir()
    source.add(
        world.a.syndicate, files / "politique sécurité.pdf", b"%PDF-1.4 politique\n" * 500, title="PSSI"
    )
    source.add(world.a.syndicate, files / "sauvegardes.csv", b"date;resultat\n2026-01-01;ok\n", title="Tests")
    source.add(world.a.member, files / "charte.txt", b"Charte de la ville\n", title="Charte")
    source.add(world.b.syndicate, files / "canary-b.txt", b"CANARY-B secret\n", title="Preuve B")
    return source


def _ask(client: Any, data: dict[str, Any]) -> Any:
    token = csrf_token_from(client.get("/audits/packs/").get_data(as_text=True))
    return client.post("/audits/packs/", data={"csrf_token": token, **data})


def _ready_pack(session: Any, org: Any) -> EvidencePack:
    session.expire_all()
    return session.scalar(
        select(EvidencePack).where(EvidencePack.organisation_id == org.id).order_by(EvidencePack.id.desc())
    )


def _download(client: Any, pack: EvidencePack, into: Path) -> Path:
    token = csrf_token_from(client.get(f"/audits/packs/{pack.id}").get_data(as_text=True))
    response = client.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    content = response.get_data()
    response.close()
    assert hashlib.sha256(content).hexdigest() == pack.sha256 == response.headers["X-Content-SHA256"]
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        zf.extractall(into)
    return into


@pytest.mark.usefixtures("keys")
def test_a_pack_is_built_signed_and_verified_with_the_real_tools(
    world: World, evidence: FileSource, login_as: Any, session: Any, tmp_path: Path
) -> None:
    rssi = world.a.users[Role.RSSI]
    risk = RiskFactory(
        organisation=world.a.syndicate, title="Inondation CANARY-RISK", treatment=Treatment.REDUCE
    )
    action = ActionFactory(organisation=world.a.syndicate, title="Rehausser les baies CANARY-ACTION")
    session.execute(risk_actions.insert().values(risk_id=risk.id, action_id=action.id))
    RiskFactory(organisation=world.b.syndicate, title="Risque CANARY-B")
    session.flush()
    client = login_as(rssi, world.a.syndicate)
    response = _ask(client, {"period_start": "2026-01-01", "period_end": "2026-11-30"})
    assert response.status_code == 302
    pack = _ready_pack(session, world.a.syndicate)
    assert (pack.status, pack.progress, pack.error) == ("ready", 100, None)
    assert pack.scope_org_ids == [world.a.syndicate.id]
    assert pack.evidence_count == 2
    assert pack.report_count >= 4  # registers (RGPD, processor: a syndicate), SoA, risk register
    assert pack.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=29)
    page = client.get(f"/audits/packs/{pack.id}").get_data(as_text=True)
    assert pack.sha256 in page
    assert pack.manifest_sha256 in page
    assert "SHA256SUMS.sig" in page  # the archive's contents, read from its central directory

    folder = _download(client, pack, tmp_path / "pack")
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    sid = world.a.syndicate.id
    assert f"evidence/{sid}/1-v1-politique sécurité.pdf" in names
    assert f"evidence/{sid}/2-v1-sauvegardes.csv" in names
    assert not any("canary" in n or "charte" in n for n in names)  # B's and the member's evidence stay out
    documents = {"register", "soa", "processor_register", "risk_register"}
    assert {f"reports/{kind}-{sid}.pdf" for kind in documents} <= set(names)
    for fixed in (
        "manifest.json",
        "SHA256SUMS",
        "SHA256SUMS.sig",
        "pack-public-key.pem",
        "signing-certificate.pem",
    ):
        assert fixed in names
    verifier = (folder / "VERIFIER.txt").read_text()
    assert "sha256sum -c SHA256SUMS" in verifier
    command = "openssl pkeyutl -verify -pubin -inkey pack-public-key.pem -rawin -in SHA256SUMS"
    assert f"{command} -sigfile SHA256SUMS.sig" in verifier
    assert "pdfsig reports/*.pdf" in verifier
    assert "ENGLISH" in verifier
    assert "FRANÇAIS" in verifier

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["scope"] == [{"id": sid, "name": world.a.syndicate.name}]
    assert manifest["period"] == {"start": "2026-01-01", "end": "2026-11-30"}
    assert manifest["generated_by"] == rssi.full_name
    by_path = {f["path"]: f for f in manifest["files"]}
    pssi = by_path[f"evidence/{sid}/1-v1-politique sécurité.pdf"]
    assert pssi["sha256"] == hashlib.sha256((folder / pssi["path"]).read_bytes()).hexdigest()
    assert pssi["owner"] == "Responsable des preuves"
    assert pssi["validity"] == {"from": "2026-01-01", "until": "2027-01-01"}
    assert pssi["source"]["links"] == ["control:A.5.1"]
    assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == pack.manifest_sha256

    sums = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(names) - 2  # every file but SHA256SUMS and its signature
    checked = _run("sha256sum", "-c", "SHA256SUMS", cwd=folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(sums)
    verify = ("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pack-public-key.pem", "-rawin")
    verified = _run(*verify, "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig", cwd=folder)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Signature Verified Successfully" in verified.stdout

    # The documents are built by the job, without a request: each for its organisation, named.
    risks_text = _run("pdftotext", "-layout", f"reports/risk_register-{sid}.pdf", "-", cwd=folder).stdout
    assert "CANARY-RISK" in risks_text  # the risk, and its corrective action in the treatment plan
    assert f"{action.reference} Rehausser" in risks_text
    assert "CANARY-ACTION" in risks_text
    assert "CANARY-B" not in risks_text
    pdfs = sorted((folder / "reports").glob("*.pdf"))
    assert len(pdfs) == pack.report_count
    for pdf in pdfs:
        signature = _run("pdfsig", str(pdf), cwd=folder)
        assert "Signature is Valid" in signature.stdout, signature.stdout + signature.stderr
        assert "Total document signed" in signature.stdout
        assert _run("qpdf", "--check", str(pdf), cwd=folder).returncode == 0

    # One byte of one evidence file changed: sha256sum says which and fails.
    target = folder / "evidence" / str(sid) / "2-v1-sauvegardes.csv"
    original = target.read_bytes()
    target.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    tampered = _run("sha256sum", "-c", "SHA256SUMS", cwd=folder)
    assert tampered.returncode != 0
    assert "2-v1-sauvegardes.csv: FAILED" in tampered.stdout
    target.write_bytes(original)
    # One byte of SHA256SUMS changed: its signature no longer verifies.
    sums_file = folder / "SHA256SUMS"
    data = bytearray(sums_file.read_bytes())
    data[0] = ord("0") if data[0] != ord("0") else ord("1")
    sums_file.write_bytes(bytes(data))
    refused = _run(*verify, "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig", cwd=folder)
    assert refused.returncode != 0
    assert "Signature Verified Successfully" not in refused.stdout

    actions = set(
        session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "EvidencePack", AuditEvent.object_id == pack.id
            )
        )
    )
    assert {"pack.request", "pack.generate", "pack.download"} <= actions
    journal = client.get("/journal/").get_data(as_text=True)
    assert "Dossier de preuves généré" in journal
    assert "Dossier de preuves téléchargé" in journal
    assert f"/audits/packs/{pack.id}" in journal


@pytest.mark.usefixtures("keys")
def test_the_syndicate_rssi_chooses_members(
    world: World, evidence: FileSource, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    refused = _ask(
        client,
        {"period_start": "2026-01-01", "period_end": "2026-11-30", "organisations": [world.b.member.id]},
    )
    assert refused.status_code == 422
    assert "que pour les organisations proposées" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(EvidencePack)) == 0
    response = _ask(
        client,
        {
            "period_start": "2026-01-01",
            "period_end": "2026-11-30",
            "organisations": [world.a.syndicate.id, world.a.member.id],
        },
    )
    assert response.status_code == 302
    pack = _ready_pack(session, world.a.syndicate)
    assert pack.status == "ready", pack.error
    assert pack.scope_org_ids == [world.a.syndicate.id, world.a.member.id]
    assert pack.evidence_count == 3


@pytest.mark.usefixtures("keys")
def test_bad_input_is_refused_with_the_form_kept(
    world: World, source: FileSource, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    backwards = _ask(
        client, {"title": "Mon dossier CANARY", "period_start": "2026-06-01", "period_end": "2026-01-01"}
    )
    assert backwards.status_code == 422
    html = backwards.get_data(as_text=True)
    assert "La fin de la période précède son début." in html
    assert 'value="Mon dossier CANARY"' in html
    missing = _ask(client, {"period_start": "", "period_end": "pas une date"})
    assert missing.status_code == 422
    assert "Indiquez le début de la période." in missing.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(EvidencePack)) == 0
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get("/audits/packs/").status_code == 200
    assert (
        reader.post(
            "/audits/packs/", data={"period_start": "2026-01-01", "period_end": "2026-02-01"}
        ).status_code
        == 403
    )


@pytest.mark.usefixtures("keys")
def test_an_altered_evidence_file_fails_the_pack(
    world: World, source: FileSource, login_as: Any, session: Any, tmp_path: Path, app: Flask
) -> None:
    good = b"contenu d'origine\n"
    source.add(
        world.a.syndicate,
        tmp_path / "modifie.txt",
        b"contenu modifie!\n",
        title="Preuve modifiée",
        sha256=hashlib.sha256(good).hexdigest(),
    )
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    with app.app_context():
        directory = services.pack_dir()
    before = set(directory.rglob("*"))
    assert _ask(client, {"period_start": "2026-01-01", "period_end": "2026-11-30"}).status_code == 302
    pack = _ready_pack(session, world.a.syndicate)
    assert pack.status == "failed"
    assert "ne correspond plus à l'empreinte enregistrée" in pack.error
    assert pack.file_path is None
    assert {p for p in directory.rglob("*") if p.is_file()} - before == set()  # nothing half-written left
    page = client.get(f"/audits/packs/{pack.id}").get_data(as_text=True)
    assert "ne correspond plus" in page
    assert f"/audits/packs/{pack.id}/download" not in page
    assert "pack.fail" in set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == pack.id))
    )


@pytest.mark.usefixtures("keys")
def test_another_organisation_gets_404(
    world: World, evidence: FileSource, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert _ask(client, {"period_start": "2026-01-01", "period_end": "2026-11-30"}).status_code == 302
    pack = _ready_pack(session, world.a.syndicate)
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/audits/packs/{pack.id}").status_code == 404
    token = csrf_token_from(other.get("/audits/packs/").get_data(as_text=True))
    assert other.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token}).status_code == 404
    assert pack.title not in other.get("/audits/packs/").get_data(as_text=True)
    member = login_as(world.a.member_referent, world.a.member)
    assert member.get(f"/audits/packs/{pack.id}").status_code in (403, 404)


@pytest.mark.usefixtures("keys")
def test_expired_packs_are_purged_and_kept_as_expired(
    world: World, evidence: FileSource, login_as: Any, session: Any, app: Flask
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert _ask(client, {"period_start": "2026-01-01", "period_end": "2026-11-30"}).status_code == 302
    pack = _ready_pack(session, world.a.syndicate)
    with app.app_context():
        path = services.pack_dir() / pack.file_path
    assert path.is_file()
    with app.app_context():
        assert services.purge_expired() == 0  # not expired yet
    pack.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    session.flush()
    result = app.test_cli_runner().invoke(args=["packs", "purge"])
    assert result.exit_code == 0, result.output
    assert "purgés : 1" in result.output
    session.expire_all()
    pack = session.get(EvidencePack, pack.id)
    assert (pack.status, pack.file_path) == (PackStatus.EXPIRED.value, None)
    assert not path.exists()
    token = csrf_token_from(client.get(f"/audits/packs/{pack.id}").get_data(as_text=True))
    assert client.post(f"/audits/packs/{pack.id}/download", data={"csrf_token": token}).status_code == 404
    assert "a expiré" in client.get(f"/audits/packs/{pack.id}").get_data(as_text=True)
    assert "pack.expire" in set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == pack.id))
    )


def test_signing_init_is_idempotent_and_private(app: Flask, tmp_path: Path) -> None:
    app.config["SIGNING_DIR"] = str(tmp_path / "signing")
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["signing", "init", "--name", "Syndicat CANARY"])
        assert first.exit_code == 0, first.output
        assert "certificat créé" in first.output
        key = (tmp_path / "signing" / signing.KEY_FILE).read_bytes()
        second = runner.invoke(args=["signing", "init"])
        assert "déjà présent" in second.output
        assert (tmp_path / "signing" / signing.KEY_FILE).read_bytes() == key
        for name in (signing.KEY_FILE, signing.CERT_FILE, signing.PACK_KEY_FILE):
            assert (tmp_path / "signing" / name).stat().st_mode & 0o777 == 0o600
        with app.app_context():
            assert "O=Syndicat CANARY" in _subject(signing.certificate_pem())
            assert len(signing.sign_manifest(b"SHA256SUMS")) == 64
    finally:
        app.config["SIGNING_DIR"] = TestConfig.SIGNING_DIR
        signing._cache.clear()


def _subject(pem: bytes) -> str:
    return x509.load_pem_x509_certificate(pem).subject.rfc4514_string()


def test_the_page_polls_while_the_pack_is_built(world: World, login_as: Any, session: Any) -> None:
    pack = EvidencePackFactory(
        organisation_id=world.a.syndicate.id,
        scope_org_ids=[world.a.syndicate.id],
        status=PackStatus.BUILDING.value,
        progress=42,
    )
    session.flush()
    client = login_as(world.a.users[Role.AUDITOR], world.a.syndicate)
    page = client.get(f"/audits/packs/{pack.id}").get_data(as_text=True)
    assert f'hx-get="/audits/packs/{pack.id}"' in page
    assert 'value="42"' in page
    assert f"/audits/packs/{pack.id}/download" not in page
    polled = client.get(f"/audits/packs/{pack.id}", headers={"HX-Request": "true"})
    assert polled.get_data(as_text=True).lstrip().startswith(("{#", "<div"))
    assert "<html" not in polled.get_data(as_text=True)
    assert "HX-Refresh" not in polled.headers
    pack.status, pack.progress = PackStatus.FAILED.value, 0
    session.flush()
    done = client.get(f"/audits/packs/{pack.id}", headers={"HX-Request": "true"})
    assert done.headers["HX-Refresh"] == "true"


def test_without_signing_keys_the_pack_fails_with_a_clear_message(
    world: World, source: FileSource, login_as: Any, session: Any, app: Flask, tmp_path: Path
) -> None:
    app.config["SIGNING_DIR"] = str(tmp_path / "no-keys")
    signing._cache.clear()
    try:
        client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
        assert _ask(client, {"period_start": "2026-01-01", "period_end": "2026-11-30"}).status_code == 302
        pack = _ready_pack(session, world.a.syndicate)
        assert pack.status == "failed"
        assert "flask signing init" in pack.error
    finally:
        app.config["SIGNING_DIR"] = TestConfig.SIGNING_DIR
        signing._cache.clear()


def test_the_syndicates_own_pkcs12_certificate_signs_the_pdfs(app: Flask, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Certificat du syndicat CANARY-P12")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    p12 = tmp_path / "syndicat.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"syndicat", key, cert, None, serialization.BestAvailableEncryption(b"mot de passe")
        )
    )
    app.config.update(SIGNING_P12=str(p12), SIGNING_P12_PASSWORD="mot de passe")
    signing._cache.clear()
    try:
        with app.app_context():
            buffer = io.BytesIO()
            page = canvas.Canvas(buffer)
            page.drawString(72, 720, "Registre")
            page.save()
            signed = signing.sign_pdf(buffer.getvalue())
            assert "CANARY-P12" in _subject(signing.certificate_pem())
        (tmp_path / "doc.pdf").write_bytes(signed)
        result = _run("pdfsig", "doc.pdf", cwd=tmp_path)
        assert "Signature is Valid" in result.stdout, result.stdout
        assert "CANARY-P12" in result.stdout
    finally:
        app.config.update(SIGNING_P12=None, SIGNING_P12_PASSWORD=None)
        signing._cache.clear()


def test_signing_init_names_the_certificate_after_the_syndicate(
    app: Flask, world: World, session: Any, tmp_path: Path
) -> None:
    session.flush()  # the command reads the organisations in its own app context (same connection)
    app.config["SIGNING_DIR"] = str(tmp_path / "signing")
    try:
        result = app.test_cli_runner().invoke(args=["signing", "init"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            assert f"O={world.a.syndicate.name}" in _subject(signing.certificate_pem())
    finally:
        app.config["SIGNING_DIR"] = TestConfig.SIGNING_DIR
        signing._cache.clear()
