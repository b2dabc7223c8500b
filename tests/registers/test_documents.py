"""PDF documents of the registers: contents (pypdf), structure (qpdf --check), SHA-256 shown equal
to the downloaded bytes, journal entry, permissions and tenant isolation, French typography."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import event, select

from catalogue.models import Hosting
from core.audit import AuditEvent, AuditPayload
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from registers.documents import data as registers
from registers.documents import pdf as pdf_registers
from registers.models import ActivityStatus, ProcessingActivity
from registers.services import activities as acts
from reports import pdf
from reports.models import GeneratedReport
from tests.conftest import World, acting_as

AT = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)  # 14 h 05 in Paris
TRICKY = "Vidéo <b>& protection</b> « test » : oui ; non !"

SCHOOL = {
    "name": "Inscriptions scolaires",
    "purpose": "Gestion des inscriptions scolaires et de la facturation",
    "sub_purposes": ["Inscription", "Facturation"],
    "legal_basis": "6.1.e",
    "legal_basis_text": "Code de l'éducation, art. L131-5",
    "data_subjects": ["usagers"],
    "data_categories": [
        {
            "category": "etat_civil",
            "details": "nom, prénom",
            "active": "durée de la scolarité",
            "intermediate": "deux ans en archive",
            "final": "destruction sécurisée",
        }
    ],
    "sensitive_data": ["sante"],
    "art9_exception": "9.2.b",
    "transfers": [
        {"recipient": "Éditeur", "country": "Canada", "safeguard": "adequation", "documentation": "DPA v2"}
    ],
    "security_measures": [{"measure": "sauvegarde", "details": "quotidienne, chiffrée"}],
    "dpia_criteria": ["donnees_sensibles", "personnes_vulnerables"],
}


def _text(data: bytes) -> tuple[str, int]:
    """All the text of a PDF with white space collapsed, and its number of pages."""
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split()), len(reader.pages)


def _qpdf_check(data: bytes, tmp_path: Any) -> None:
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed (Debian package qpdf; CI installs it)")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


@pytest.fixture
def fiches(app: Flask, world: World) -> dict[str, int]:
    """Tenant A: a model on the syndicate's application (so Ville A inherits an entry, with one
    field overridden), a full fiche, a fiche with markup-like text and an archived one."""
    a = world.a
    with app.test_request_context():
        syndicate, member = db.session.merge(a.syndicate), db.session.merge(a.member)
        with acting_as(a.users[Role.DPO], syndicate):
            model = acts.create_activity(
                syndicate,
                None,
                {**SCHOOL, "name": "Portail famille", "application_ids": [a.application.id]},
                is_model=True,
            )
        with acting_as(a.member_referent, member):
            entry = db.session.scalar(
                select(ProcessingActivity)
                .where(ProcessingActivity.model_id == model.id)
                .execution_options(**UNSCOPED)
            )
            acts.update_activity(entry, None, {"purpose": "Notre finalité locale", "version": entry.version})
            full = acts.create_activity(
                member,
                None,
                {
                    **SCHOOL,
                    "recipients": [
                        {"type": "sous_traitant", "name": "Hébergeur", "organisation_id": syndicate.id}
                    ],
                },
            )
            tricky = acts.create_activity(member, None, {"name": TRICKY, "purpose": TRICKY + " <i>x</i>"})
            archived = acts.create_activity(
                member, None, {"name": "Ancien fichier des électeurs", "status": ActivityStatus.ARCHIVED}
            )
        db.session.commit()
        return {
            "model": model.id,
            "entry": entry.id,
            "full": full.id,
            "tricky": tricky.id,
            "archived": archived.id,
        }


@pytest.fixture
def in_member_a(app: Flask, world: World) -> Any:
    """An app context acting as Ville A's referent (for building documents from the services)."""
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        yield db.session.merge(world.a.member)


# --- French typography ---------------------------------------------------------------------------


def test_french_dates_and_spacing(app: Flask) -> None:
    with app.test_request_context():
        assert pdf.fr_date(dt.date(2026, 11, 24)) == "24\u00a0novembre 2026"
        assert pdf.fr_date(dt.date(2026, 5, 1)) == "1er\u00a0mai 2026"
        assert pdf.fr_date(None) == "—"
        assert pdf.fr_datetime(AT) == "24\u00a0novembre 2026 à 14\u00a0h\u00a005"  # Paris time
        assert pdf.fr_datetime(dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)).startswith("2\u00a0juillet")
    assert pdf.typo("Note : oui ; non ! « cité »") == "Note\u00a0: oui\u202f; non\u202f! «\u202fcité\u202f»"
    assert pdf.typo("https://cnil.fr à 10:30") == "https://cnil.fr à 10:30"  # no space is added
    assert pdf.quote("x") == "«\u202fx\u202f»"


def test_markup_escapes_user_text() -> None:
    assert pdf.markup("a <b>& c\nd") == "a &lt;b&gt;&amp; c<br/>d"


def test_plain_cells_wrap_and_cut_words_wider_than_the_column() -> None:
    font = pdf.fonts().regular
    assert pdf.wrap_plain("un deux trois", font, 1000) == "un deux trois"
    lines = pdf.wrap_plain("mot " * 50, font, 100).split("\n")
    assert len(lines) > 5
    assert all(pdf.pdfmetrics.stringWidth(line, font, pdf.CELL_SIZE) <= 100 for line in lines)
    cut = pdf.wrap_plain("x" * 300, font, 60).split("\n")
    assert "".join(cut) == "x" * 300
    assert len(cut) > 3


def test_bundled_fonts_print_french_spacing() -> None:
    f = pdf.fonts()
    assert f.is_unicode, "reports/fonts/ must hold the DejaVu Sans files"
    face = pdf.pdfmetrics.getFont(f.regular).face
    assert all(ord(c) in face.charToGlyph for c in "\u202f\u00a0«»—’œ€")


# --- register data -------------------------------------------------------------------------------


def test_register_data_leaves_out_models_and_archived_fiches(
    world: World, fiches: dict[str, int], in_member_a: Any
) -> None:
    doc = registers.register_data(in_member_a, generated_at=AT, include_drafts=True)
    assert {a.id for a in doc.activities} == {fiches["entry"], fiches["full"], fiches["tricky"]}
    assert doc.archived_count == 1
    assert doc.organisation.name == "Ville A"
    entry = next(a for a in doc.activities if a.id == fiches["entry"])
    assert entry.inheritance is not None
    assert entry.inheritance.syndicate == "Syndicat A"
    assert entry.inheritance.overridden == (str(acts.FIELD_LABELS["purpose"]),)
    full = next(a for a in doc.activities if a.id == fiches["full"])
    assert full.recipients[0].organisation == "Syndicat A"
    assert full.data_categories[0].intermediate == "deux ans en archive"
    assert full.dpia_required
    assert full.applications == ()


def test_register_data_runs_the_same_queries_whatever_the_number_of_fiches(
    world: World, fiches: dict[str, int], in_member_a: Any
) -> None:
    def count_queries() -> int:
        statements: list[str] = []

        def listener(*args: Any) -> None:
            statements.append(args[2])

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            registers.register_data(in_member_a, generated_at=AT)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    db.session.expire_all()
    before = count_queries()
    member = in_member_a
    for i in range(6):
        acts.create_activity(
            member,
            None,
            {
                **SCHOOL,
                "name": f"Fiche {i}",
                "application_ids": [world.a.application.id],
                "recipients": [{"type": "interne", "name": "Service", "organisation_id": member.id}],
            },
        )
    db.session.flush()
    db.session.expire_all()
    assert count_queries() == before


# --- the PDFs ------------------------------------------------------------------------------------


def test_register_pdf_prints_every_fiche_with_page_numbers(
    world: World, fiches: dict[str, int], in_member_a: Any, tmp_path: Any
) -> None:
    doc = registers.register_data(in_member_a, generated_at=AT, include_drafts=True)
    data = pdf_registers.register_pdf(doc)
    text, pages = _text(data)
    assert "Ville A" in text
    assert "Registre des activités de traitement — article 30.1 du RGPD" in text
    for activity in doc.activities:
        assert activity.reference in text
        assert " ".join(activity.name.split()) in text
    assert f"page 1 / {pages}" in text
    assert f"page {pages} / {pages}" in text
    assert f"page {pages + 1} /" not in text
    assert "24 novembre 2026 à 14 h 05" in text
    # retention of each data category, its three phases
    assert "durée de la scolarité" in text
    assert "deux ans en archive" in text
    assert "destruction sécurisée" in text
    # user text printed literally, not interpreted as markup
    assert "Vidéo <b>& protection</b> « test » : oui ; non !" in text
    assert "<i>x</i>" in text
    # inheritance, archived fiches, linked organisation, DPIA verdict
    assert "Hérité du modèle MOD-001 « Portail famille » (Syndicat A)" in text
    assert "Champs modifiés localement : Finalité principale" in text
    assert "Ancien fichier des électeurs" not in text
    assert "1 fiche(s) archivée(s)" in text
    assert "Syndicat A" in text
    assert "AIPD requise" in text
    _qpdf_check(data, tmp_path)

    meta = PdfReader(io.BytesIO(data)).metadata
    assert meta.title.startswith("Registre des activités de traitement")
    assert meta.author == "Ville A"
    assert "Registre RGPD de Ville A" in meta.subject


def test_register_pdf_is_deterministic_apart_from_the_generation_date(
    world: World, fiches: dict[str, int], in_member_a: Any
) -> None:
    first = pdf_registers.register_pdf(registers.register_data(in_member_a, generated_at=AT))
    again = pdf_registers.register_pdf(registers.register_data(in_member_a, generated_at=AT))
    later = pdf_registers.register_pdf(
        registers.register_data(in_member_a, generated_at=AT + dt.timedelta(minutes=1))
    )
    assert first == again
    assert first != later


def test_empty_register_still_makes_a_valid_pdf(app: Flask, world: World, tmp_path: Any) -> None:
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        data = pdf_registers.register_pdf(registers.register_data(db.session.merge(world.a.member)))
    text, pages = _text(data)
    assert "Ce registre ne contient aucune fiche." in text
    assert f"page {pages} / {pages}" in text
    _qpdf_check(data, tmp_path)


def test_long_texts_wrap_and_split_across_pages(world: World, in_member_a: Any, tmp_path: Any) -> None:
    long = " ".join(f"mot{i} <&>" for i in range(400)) + " " + "x" * 500  # close to the 5,000 limit
    acts.create_activity(
        in_member_a,
        None,
        {
            **SCHOOL,
            "name": "Très long",
            "purpose": long[:5000],
            "dpia_justification": long[:5000],
            "sensitive_details": long[:5000],
            "data_categories": [
                {
                    "category": "etat_civil",
                    "details": long[:1000],
                    "active": "1 an",
                    "intermediate": "",
                    "final": "",
                }
            ]
            * 40,
        },
    )
    data = pdf_registers.register_pdf(
        registers.register_data(in_member_a, generated_at=AT, include_drafts=True)
    )
    text, pages = _text(data)
    assert pages >= 6
    assert "mot399 <&>" in text
    assert "x" * 100 in text.replace(" ", "")
    _qpdf_check(data, tmp_path)


def test_single_fiche_pdf(world: World, fiches: dict[str, int], in_member_a: Any, tmp_path: Any) -> None:
    activity = db.session.get(ProcessingActivity, fiches["full"])
    data = pdf_registers.activity_pdf(registers.activity_data(activity, generated_at=AT))
    text, pages = _text(data)
    assert "Fiche de traitement — extrait du registre" in text
    assert f"{activity.reference} — Inscriptions scolaires" in text
    assert "Ville A" in text
    assert "Canada" in text  # transfers
    assert "Sauvegarde" in text or "sauvegarde" in text.lower()
    assert f"page 1 / {pages}" in text
    _qpdf_check(data, tmp_path)


def test_processor_register_pdf_lists_each_controller_served(
    app: Flask, world: World, fiches: dict[str, int], tmp_path: Any
) -> None:
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        db.session.merge(a.application).hosting = Hosting.SAAS
        db.session.flush()
        doc = registers.processor_register_data(syndicate, generated_at=AT)
        data = pdf_registers.processor_register_pdf(doc)
    text, pages = _text(data)
    assert "article 30.2 du RGPD" in text
    assert "Syndicat A" in text
    assert [c.name for c in doc.controllers] == ["Ville A"]
    assert "Ville A" in text
    assert "MOD-001 — Portail famille" in text
    assert "Application A" in text
    assert "CANARY-A" in text  # the SaaS editor, a sub-processor
    assert "Ville B" not in text
    assert f"page {pages} / {pages}" in text
    _qpdf_check(data, tmp_path)


# --- pages and downloads -------------------------------------------------------------------------


def _report_id(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    match = re.fullmatch(r"/reports/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def test_reader_generates_the_register_and_the_page_shows_the_sha256_of_the_download(
    world: World, fiches: dict[str, int], login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.READER], world.a.syndicate)
    report_id = _report_id(client.post("/registers/documents/register"))
    page = client.get(f"/reports/{report_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = re.search(r'<code[^>]*id="sha256"[^>]*>([0-9a-f]{64})</code>', html)
    assert shown, html[:2000]
    assert "sha256sum" in html

    download = client.get(f"/reports/{report_id}/download")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "registre-" in download.headers["Content-Disposition"]
    body = download.get_data()
    assert hashlib.sha256(body).hexdigest() == shown.group(1) == download.headers["X-Content-SHA256"]
    assert body.startswith(b"%PDF-")
    text, _pages = _text(body)
    assert "Syndicat A" in text

    listing = client.get("/reports/").get_data(as_text=True)
    assert shown.group(1) in listing
    assert f"/reports/{report_id}/download" in listing


def test_generating_a_document_is_journalled_with_its_sha256(
    world: World, fiches: dict[str, int], login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    report_id = _report_id(client.post("/registers/documents/register"))
    report = session.get(GeneratedReport, report_id)
    assert report.organisation_id == world.a.member.id
    assert report.kind == "register"
    assert report.size == len(report.content)
    assert report.sha256 == hashlib.sha256(report.content).hexdigest()
    assert report.created_by_id == world.a.member_referent.id
    entry = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "report.generate",
            AuditEvent.object_type == "GeneratedReport",
            AuditEvent.object_id == report_id,
        )
    )
    assert entry is not None
    assert entry.organisation_id == world.a.member.id
    payload = session.scalar(select(AuditPayload).where(AuditPayload.event_id == entry.id))
    changes = payload.data["changes"]
    assert changes["sha256"][1] == report.sha256
    assert changes["kind"][1] == "register"
    assert changes["filename"][1] == report.filename


def test_single_fiche_route_stores_the_fiche_pdf(
    world: World, fiches: dict[str, int], login_as: Any, session: Any
) -> None:
    client = login_as(world.a.member_referent, world.a.member)
    report_id = _report_id(client.post(f"/registers/activities/{fiches['tricky']}/pdf"))
    report = session.get(GeneratedReport, report_id)
    assert report.kind == "activity"
    assert report.object_id == fiches["tricky"]
    text, _pages = _text(report.content)
    assert TRICKY in text


def test_member_gets_404_on_the_processor_register(world: World, login_as: Any) -> None:
    # syndicate only (core.tenancy.syndicate_only): a page that does not exist from a member
    client = login_as(world.a.member_referent, world.a.member)
    assert client.post("/registers/documents/processor-register").status_code == 404
    assert "registre du sous-traitant" not in client.get("/reports/").get_data(as_text=True)


def test_syndicate_generates_its_processor_register(
    world: World, fiches: dict[str, int], login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    assert "registre du sous-traitant" in client.get("/reports/").get_data(as_text=True)
    report_id = _report_id(client.post("/registers/documents/processor-register"))
    report = session.get(GeneratedReport, report_id)
    assert report.kind == "processor_register"
    text, _pages = _text(report.content)
    assert "Ville A" in text


def test_another_tenants_documents_and_fiches_answer_404(
    world: World, fiches: dict[str, int], login_as: Any
) -> None:
    report_id = _report_id(
        login_as(world.a.users[Role.DPO], world.a.syndicate).post("/registers/documents/register")
    )
    other = login_as(world.b.users[Role.DPO], world.b.syndicate)
    assert other.get(f"/reports/{report_id}").status_code == 404
    assert other.get(f"/reports/{report_id}/download").status_code == 404
    assert other.post(f"/registers/activities/{fiches['full']}/pdf").status_code == 404
    assert f"/reports/{report_id}" not in other.get("/reports/").get_data(as_text=True)
    # and a member does not see its syndicate's documents either
    member = login_as(world.a.member_referent, world.a.member)
    assert member.get(f"/reports/{report_id}").status_code == 404


def test_anonymous_users_are_sent_to_login(app: Flask, world: World, fiches: dict[str, int]) -> None:
    client = app.test_client()
    response = client.post("/registers/documents/register")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_without_the_bundled_fonts_helvetica_prints_what_it_can(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(pdf, "FONT_DIR", tmp_path / "no-fonts")
    pdf.fonts.cache_clear()
    pdf.styles.cache_clear()
    try:
        assert pdf.fonts().regular == "Helvetica"
        with app.test_request_context():
            data = pdf.build(
                [pdf.para("Note : « oui » ; ≥ 2"), pdf.field_table([("Clé", "valeur : « x » ; ≥")])],
                pdf.DocInfo("Titre", "Sujet", "Auteur", AT),
            )
        text, pages = _text(data)
        assert "Note : « oui » ; ? 2" in text  # no narrow no-break space in WinAnsi, no "≥" either
        assert "valeur : « x » ; ?" in text
        assert f"page 1 / {pages}" in text
    finally:
        pdf.fonts.cache_clear()
        pdf.styles.cache_clear()
