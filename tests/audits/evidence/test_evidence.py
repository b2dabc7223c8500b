"""The evidence store: uploads kept encrypted and byte-identical on download, bad files refused
with their reason and nothing stored, tampering and truncation detected, key rotation and
retirement, the Preuves panel, the packs' reader, streaming with bounded memory."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from audits.evidence import keyring
from audits.evidence import services as svc
from audits.evidence.models import Evidence, EvidenceLink, EvidenceVersion
from core.audit.models import AuditEvent
from core.extensions import db
from core.security import Role
from tests.audits.evidence import samples
from tests.audits.evidence.factories import EvidenceFactory
from tests.conftest import World
from tests.registers.factories import ProcessingActivityFactory
from tests.smsi.factories import ActionFactory, IncidentFactory
from tests.smsi.soa_factories import SoaEntryFactory


@pytest.fixture
def rssi(world: World, login_as: Any) -> FlaskClient:
    return login_as(world.a.users[Role.RSSI], world.a.syndicate)


def upload(client: FlaskClient, name: str, content: bytes, **extra: Any) -> Any:
    data = {"title": extra.pop("title", "Preuve de test"), "file": (io.BytesIO(content), name), **extra}
    return client.post("/audits/evidence/new", data=data, content_type="multipart/form-data")


def download(client: FlaskClient, version_id: int) -> Any:
    return client.post(f"/audits/evidence/versions/{version_id}/download")


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def stored_files(dirs: dict[str, Path]) -> list[Path]:
    root = dirs["EVIDENCE_DIR"]
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def latest_version(app: Flask) -> EvidenceVersion:
    with app.app_context():
        version = db.session.scalars(select(EvidenceVersion).order_by(EvidenceVersion.id.desc())).first()
        assert version is not None
        db.session.expunge(version)
        return version


# --- good files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "media_type"), samples.good_files(), ids=lambda v: str(v)[:20])
def test_a_good_file_is_stored_encrypted_and_comes_back_byte_identical(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path], name: str, content: bytes, media_type: str
) -> None:
    response = upload(rssi, name, content)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    version = latest_version(app)
    assert version.filename == name  # accents and spaces kept
    assert version.media_type == media_type
    assert version.size == len(content)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    # on disk: one file, named by a random id, holding no plaintext
    files = stored_files(evidence_dirs)
    assert [p.name for p in files] == [version.storage_id]
    ciphertext = files[0].read_bytes()
    assert content[:64] not in ciphertext
    assert name.encode() not in ciphertext
    assert ciphertext.startswith(keyring.MAGIC)

    response = download(rssi, version.id)
    assert response.status_code == 200
    assert response.get_data() == content
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "text/html" not in response.headers["Content-Type"]
    assert response.headers["Content-Type"].startswith(media_type)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    with app.app_context():
        actions = list(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "EvidenceVersion"))
        )
    assert "evidence.version_upload" in actions
    assert "evidence.download" in actions


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x.txt", "chemin"),
        ("a\\b.txt", "chemin"),
        ("a\x00b.txt", "nul"),
        ("", "pas de nom"),
        ("  ", "pas de nom"),
        (".htaccess", "point"),
        ("a\x07.txt", "contrôle"),
    ],
)
def test_names_with_paths_nul_backslashes_or_control_characters_are_refused(
    app_ctx: Any, name: str, reason: str
) -> None:
    from audits.evidence.inspection import Refused, sanitise_filename  # noqa: PLC0415

    with pytest.raises(Refused) as refused:
        sanitise_filename(name)
    assert reason in refused.value.reason


def test_names_keep_their_accents_and_spaces(app_ctx: Any) -> None:
    from audits.evidence.inspection import sanitise_filename  # noqa: PLC0415

    assert sanitise_filename(" Procès-verbal été 2026.pdf ") == "Procès-verbal été 2026.pdf"
    assert sanitise_filename("e\u0301te\u0301.txt") == "été.txt"  # NFC


def test_download_is_a_post_and_a_get_is_not_allowed(app: Flask, rssi: FlaskClient) -> None:
    assert upload(rssi, "note.txt", b"bonjour\n").status_code == 302
    version = latest_version(app)
    assert rssi.get(f"/audits/evidence/versions/{version.id}/download").status_code == 405


# --- bad files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "name", "content", "reason"), samples.bad_files(), ids=lambda v: str(v)[:24]
)
def test_a_bad_file_is_refused_with_its_reason_and_nothing_is_stored(
    app: Flask,
    rssi: FlaskClient,
    evidence_dirs: dict[str, Path],
    case: str,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    before = (count(app, Evidence), count(app, EvidenceVersion))
    response = upload(rssi, name, content, title="Titre tapé")
    assert response.status_code == 422, case
    page = response.get_data(as_text=True)
    import html  # noqa: PLC0415

    assert reason in html.unescape(page), (case, page[page.find("invalid-feedback") - 200 :][:800])
    assert 'value="Titre tapé"' in page  # the form comes back with what was typed
    assert (count(app, Evidence), count(app, EvidenceVersion)) == before
    assert stored_files(evidence_dirs) == []


def test_a_file_over_the_limit_is_refused_with_the_limit_and_nothing_is_stored(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path]
) -> None:
    app.config["EVIDENCE_MAX_BYTES"] = 200 * 1024
    try:
        response = upload(rssi, "gros.txt", b"a" * (300 * 1024))
    finally:
        app.config["EVIDENCE_MAX_BYTES"] = 50 * 1024 * 1024
    assert response.status_code == 422
    assert "dépasse la taille maximale (0 Mo)" in response.get_data(
        as_text=True
    ) or "taille maximale" in response.get_data(as_text=True)
    assert count(app, Evidence) == 0
    assert stored_files(evidence_dirs) == []


def test_an_upload_abandoned_by_a_failing_form_leaves_no_file(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path]
) -> None:
    response = upload(rssi, "note.txt", b"bonjour\n", title="")  # the title is missing
    assert response.status_code == 422
    assert stored_files(evidence_dirs) == []


# --- tampering, truncation --------------------------------------------------------------------------


def _stored(app: Flask, version: EvidenceVersion, dirs: dict[str, Path]) -> Path:
    return dirs["EVIDENCE_DIR"] / version.storage_id


@pytest.mark.parametrize(
    "damage", ["flip a byte", "truncate at a chunk boundary", "cut the tail", "swap two chunks"]
)
def test_a_tampered_or_truncated_file_is_refused_not_served(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path], damage: str
) -> None:
    content = ("ligne de journal\n" * 20_000).encode()  # ~340 KB: six chunks
    assert upload(rssi, "journal.txt", content).status_code == 302
    version = latest_version(app)
    path = _stored(app, version, evidence_dirs)
    data = bytearray(path.read_bytes())
    if damage == "flip a byte":
        data[keyring.HEADER + keyring.SEALED_CHUNK + 100] ^= 0x01
    elif damage == "truncate at a chunk boundary":
        data = data[: keyring.HEADER + 2 * keyring.SEALED_CHUNK]
    elif damage == "cut the tail":
        data = data[:-10]
    else:
        first = slice(keyring.HEADER, keyring.HEADER + keyring.SEALED_CHUNK)
        second = slice(keyring.HEADER + keyring.SEALED_CHUNK, keyring.HEADER + 2 * keyring.SEALED_CHUNK)
        data[first], data[second] = data[second], data[first]
    path.write_bytes(bytes(data))
    response = download(rssi, version.id)
    assert response.status_code == 303
    assert content[:100] not in response.get_data()
    page = rssi.get(response.location).get_data(as_text=True)
    assert "altéré ou tronqué" in page


def test_a_chunk_from_another_file_is_refused(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path]
) -> None:
    assert upload(rssi, "a.txt", b"premier fichier\n" * 10).status_code == 302
    first = latest_version(app)
    assert upload(rssi, "b.txt", b"second fichier!\n" * 10).status_code == 302
    second = latest_version(app)
    a, b = _stored(app, first, evidence_dirs), _stored(app, second, evidence_dirs)
    b.write_bytes(a.read_bytes())  # same layout, other storage id and key
    assert download(rssi, second.id).status_code == 303


# --- hashes, versions, edits ---------------------------------------------------------------------


def test_a_new_version_keeps_the_previous_one_readable(app: Flask, rssi: FlaskClient) -> None:
    assert upload(rssi, "politique.txt", b"version 1\n").status_code == 302
    first = latest_version(app)
    with app.app_context():
        evidence = db.session.get(Evidence, first.evidence_id)
        version_col = evidence.version
    response = rssi.post(
        f"/audits/evidence/{first.evidence_id}/versions/new",
        data={"version": version_col, "file": (io.BytesIO(b"version 2\n"), "politique v2.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    second = latest_version(app)
    assert second.number == 2
    assert second.evidence_id == first.evidence_id
    assert download(rssi, first.id).get_data() == b"version 1\n"
    assert download(rssi, second.id).get_data() == b"version 2\n"
    # a stale form (version already moved on) is a conflict, and stores nothing
    response = rssi.post(
        f"/audits/evidence/{first.evidence_id}/versions/new",
        data={"version": version_col, "file": (io.BytesIO(b"version 3\n"), "v3.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 409
    assert count(app, EvidenceVersion) == 2


def test_editing_with_a_stale_version_shows_the_conflict_page(app: Flask, rssi: FlaskClient) -> None:
    assert upload(rssi, "note.txt", b"texte\n").status_code == 302
    evidence_id = latest_version(app).evidence_id
    with app.app_context():
        loaded = db.session.get(Evidence, evidence_id).version
    data = {"title": "Nouveau titre", "version": loaded}
    assert rssi.post(f"/audits/evidence/{evidence_id}/edit", data=data).status_code == 302
    response = rssi.post(
        f"/audits/evidence/{evidence_id}/edit", data={"title": "Autre titre", "version": loaded}
    )
    assert response.status_code == 409
    assert "Modification concurrente" in response.get_data(as_text=True)


def test_validity_flags_and_list_filters(app: Flask, world: World, rssi: FlaskClient) -> None:
    import datetime as dt  # noqa: PLC0415

    from core.db import today  # noqa: PLC0415

    EvidenceFactory(
        organisation=world.a.syndicate, title="Expired one", valid_until=today() - dt.timedelta(days=1)
    )
    EvidenceFactory(
        organisation=world.a.syndicate, title="Soon one", valid_until=today() + dt.timedelta(days=10)
    )
    EvidenceFactory(
        organisation=world.a.syndicate, title="Fine one", valid_until=today() + dt.timedelta(days=90)
    )
    page = rssi.get("/audits/evidence/?state=expired").get_data(as_text=True)
    assert "Expired one" in page
    assert "Soon one" not in page
    assert "périmée" in page
    page = rssi.get("/audits/evidence/?state=expiring").get_data(as_text=True)
    assert "Soon one" in page
    assert "Expired one" not in page
    assert "expire sous 30 jours" in page
    page = rssi.get("/audits/evidence/?q=fine").get_data(as_text=True)
    assert "Fine one" in page
    assert "Soon one" not in page
    home = rssi.get("/").get_data(as_text=True)
    assert "1 preuve périmée" in home
    assert "1 preuve expire sous 30 jours" in home


# --- key rotation --------------------------------------------------------------------------------


def test_rotation_rewraps_every_key_and_keeps_every_file_readable_then_retire(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path]
) -> None:
    contents = {f"fichier {i}.txt": f"contenu {i}\n".encode() * (i + 1) for i in range(5)}
    for name, content in contents.items():
        assert upload(rssi, name, content).status_code == 302
    files_before = {p.name: p.read_bytes() for p in stored_files(evidence_dirs)}
    with app.app_context():
        old = keyring.active_key_id()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code != 0
    assert "protège encore 5 fichier(s)" in result.output
    result = runner.invoke(args=["keys", "rotate", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "5 clé(s) de fichiers re-chiffrée(s)" in result.output
    with app.app_context():
        new = keyring.active_key_id()
        assert new != old
        assert set(db.session.scalars(select(EvidenceVersion.kek_id))) == {new}
        batches = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "evidence.keys_rewrap")
        )
    assert batches == 3  # 2 + 2 + 1
    # the files were not re-encrypted
    assert {p.name: p.read_bytes() for p in stored_files(evidence_dirs)} == files_before
    result = runner.invoke(args=["keys", "status"])
    assert new in result.output
    assert "active" in result.output
    result = runner.invoke(args=["keys", "retire", new])
    assert result.exit_code != 0  # the active key
    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code == 0, result.output
    assert not (evidence_dirs["KEY_DIR"] / f"{old}.key").exists()
    with app.app_context():
        versions = list(db.session.scalars(select(EvidenceVersion)))
        by_name = {v.filename: v.id for v in versions}
    for name, content in contents.items():
        assert download(rssi, by_name[name]).get_data() == content


def test_key_ring_files_are_private(app: Flask, evidence_dirs: dict[str, Path]) -> None:
    directory = evidence_dirs["KEY_DIR"]
    assert directory.stat().st_mode & 0o777 == 0o700
    for path in directory.glob("*.key"):
        assert path.stat().st_mode & 0o777 == 0o600
    result = app.test_cli_runner().invoke(args=["keys", "init"])
    assert result.exit_code == 0
    assert "déjà en place" in result.output


# --- the panel on other domains' pages --------------------------------------------------------------


def test_the_preuves_panel_on_actions_incidents_soa_controls_and_fiches(
    app: Flask, world: World, rssi: FlaskClient
) -> None:
    org = world.a.syndicate
    action = ActionFactory(organisation=org)
    incident = IncidentFactory(organisation=org)
    entry = SoaEntryFactory(organisation=org)
    activity = ProcessingActivityFactory(organisation=org)
    pages = {
        "Action": (action.id, f"/smsi/actions/{action.id}"),
        "Incident": (incident.id, f"/smsi/incidents/{incident.id}"),
        "SoaEntry": (entry.id, f"/smsi/soa/control?id={entry.control_id}"),
        "Activity": (activity.id, f"/registers/activities/{activity.id}"),
    }
    for object_type, (object_id, url) in pages.items():
        page = rssi.get(url).get_data(as_text=True)
        assert "Aucune preuve liée." in page, object_type
        add = f"/audits/evidence/new?object_type={object_type}&amp;object_id={object_id}"
        assert add in page, object_type
        form = rssi.get(add.replace("&amp;", "&")).get_data(as_text=True)
        assert "Elle sera liée à" in form, object_type
        response = upload(
            rssi,
            f"preuve {object_type}.txt",
            b"ok\n",
            title=f"Preuve pour {object_type}",
            object_type=object_type,
            object_id=object_id,
        )
        assert response.status_code == 302, (object_type, response.get_data(as_text=True)[:3000])
        page = rssi.get(url).get_data(as_text=True)
        assert f"Preuve pour {object_type}" in page, object_type
    with app.app_context():
        assert count(app, EvidenceLink) == 4
    # an object of another organisation cannot be linked
    other = ActionFactory(organisation=world.b.syndicate)
    response = upload(rssi, "x.txt", b"ok\n", object_type="Action", object_id=other.id)
    assert response.status_code == 422
    assert "introuvable dans cette organisation" in response.get_data(as_text=True)


def test_the_panel_is_hidden_from_who_may_not_read_evidence(world: World, login_as: Any) -> None:
    action = ActionFactory(organisation=world.a.syndicate)
    client = login_as(world.a.users[Role.ADMIN], world.a.syndicate)
    # the administrator reads no SMSI page either; a reader reads both
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    page = reader.get(f"/smsi/actions/{action.id}").get_data(as_text=True)
    assert "Aucune preuve liée." in page
    assert "Ajouter une preuve" not in page
    assert client.get("/audits/evidence/").status_code == 403


def test_cross_organisation_download_is_a_404(
    app: Flask, world: World, rssi: FlaskClient, login_as: Any
) -> None:
    assert upload(rssi, "secret.txt", b"secret A\n").status_code == 302
    version = latest_version(app)
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert download(other, version.id).status_code == 404
    assert other.get(f"/audits/evidence/{version.evidence_id}").status_code == 404


# --- for the packs ----------------------------------------------------------------------------------


def test_evidence_for_pack_streams_the_current_versions(app: Flask, world: World, rssi: FlaskClient) -> None:
    action = ActionFactory(organisation=world.a.syndicate)
    pdf = samples.pdf()
    assert upload(rssi, "plan été.pdf", pdf, object_type="Action", object_id=action.id).status_code == 302
    assert upload(rssi, "autre.txt", b"sans lien\n").status_code == 302
    with app.app_context():
        everything = list(svc.evidence_for_pack([world.a.syndicate.id]))
        linked = list(svc.evidence_for_pack([world.a.syndicate.id], linked_to=[("Action", action.id)]))
        nothing = list(svc.evidence_for_pack([world.b.syndicate.id]))
        assert len(everything) == 2
        assert nothing == []
        [item] = linked
        assert item.filename == "plan été.pdf"
        assert item.organisation_name == world.a.syndicate.name
        assert item.links == (f"Action {action.reference} — {action.title}",)
        content = b"".join(item.chunks())
    assert content == pdf
    assert hashlib.sha256(content).hexdigest() == item.sha256


# --- streaming -------------------------------------------------------------------------------------


class LazyBody(io.RawIOBase):
    """A multipart request body produced as it is read (never whole in memory)."""

    def __init__(self, head: bytes, size: int, tail: bytes) -> None:
        self.parts = [head]
        self.size = size
        self.tail = tail
        self.left = size
        self.block = b"0123456789abcdef" * 4096  # 64 KiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.parts:
            piece = self.parts.pop(0)
        elif self.left > 0:
            piece = self.block[: min(len(self.block), self.left, len(buffer))]
            self.left -= len(piece)
        elif self.tail:
            piece, self.tail = self.tail, b""
        else:
            return 0
        piece = piece[: len(buffer)] if len(piece) > len(buffer) else piece
        buffer[: len(piece)] = piece
        return len(piece)


def test_a_20_mb_upload_is_encrypted_as_it_streams_in_without_being_held_in_memory(
    app: Flask, world: World, evidence_dirs: dict[str, Path]
) -> None:
    size = 20 * 1024 * 1024
    boundary = "----egidetest"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nGros fichier\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="gros.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = LazyBody(head, size, tail)
    with app.test_request_context(
        "/audits/evidence/new",
        method="POST",
        environ_overrides={
            "wsgi.input": body,
            "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
            "CONTENT_LENGTH": str(len(head) + size + len(tail)),
        },
    ):
        from flask import request  # noqa: PLC0415
        from flask_login import login_user  # noqa: PLC0415

        from accounts.services import auth  # noqa: PLC0415

        user = db.session.merge(world.a.users[Role.RSSI])
        auth.start_session(user, mfa_verified=True)
        login_user(user)
        tracemalloc.start()
        try:
            upload_file = request.files["file"]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        sink = upload_file.stream
        assert isinstance(sink, svc.UploadSink)
        assert sink.size == size
        assert not sink.too_large
        assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while parsing a 20 MB upload"
        expected = hashlib.sha256()
        block = b"0123456789abcdef" * 4096
        for _ in range(size // len(block)):
            expected.update(block)
        assert sink.sha256 == expected.hexdigest()
        # what reached the disk is ciphertext only
        incoming = list((evidence_dirs["EVIDENCE_DIR"] / svc.INCOMING).iterdir())
        assert len(incoming) == 1
        with incoming[0].open("rb") as fh:
            assert block[:64] not in fh.read(1024 * 1024)
        reader = sink.reader()
        assert reader.read(32) == block[:32]
        reader.close()
        svc.discard_unclaimed()
    assert list((evidence_dirs["EVIDENCE_DIR"] / svc.INCOMING).iterdir()) == []


def test_the_evidence_routes_accept_more_than_the_app_wide_request_limit(
    app: Flask, rssi: FlaskClient, evidence_dirs: dict[str, Path]
) -> None:
    """MAX_CONTENT_LENGTH (21 MiB) stays for the rest of the app; the upload routes take
    EVIDENCE_MAX_BYTES (50 MB by default) plus the form."""
    assert app.config["MAX_CONTENT_LENGTH"] < 24 * 1024 * 1024
    content = b"ligne de releve de sauvegarde\n" * (24 * 1024 * 1024 // 30)
    # the body built in memory (the test client would spool it to a temporary file it never closes)
    boundary, body = encode_multipart(
        MultiDict({"title": "Relevés", "file": FileStorage(io.BytesIO(content), "releves.txt")})
    )
    response = rssi.post(
        "/audits/evidence/new",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    version = latest_version(app)
    assert version.size == len(content)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert rssi.post("/smsi/actions/new", data={"title": "x" * (22 * 1024 * 1024)}).status_code == 413


def test_an_anonymous_upload_stores_nothing(app: Flask, evidence_dirs: dict[str, Path]) -> None:
    client = app.test_client()
    response = upload(client, "note.txt", b"bonjour\n")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert stored_files(evidence_dirs) == []
    assert count(app, Evidence) == 0
