"""The Statement of Applicability: the rules (an exclusion is justified and "not applicable", an
applicable control has a reason and a real status), rows created only on save (a page writes
nothing), the form (re-display, conflict), approval freezing a snapshot, the diff, the PDF (93
controls, approval line, counts, the bar chart, the approval and signature block or the draft's
notice; qpdf --check) and the XLSX (93 rows, formulas neutralised), permissions and another
organisation's 404."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.graphics.shapes import Drawing, Rect, String
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.concurrency import EditConflict
from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from reports import pdf
from reports.models import GeneratedReport
from smsi import reference as ref
from smsi.documents import soa as soa_document
from smsi.models import ImplementationStatus, SoaEntry, SoaVersion
from smsi.services import soa
from tests.conftest import World, acting_as

A51 = "A.5.1"


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> dict[str, str]:
    errors = getattr(exc.value, "errors", [exc.value])
    return {e.field: e.message for e in errors}


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _input_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    return match.group(1) if match else ""


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "applicable": "yes",
        "reasons": ["risk", "legal"],
        "status": "partial",
        "owner_id": "",
        "implementation": "Politique adoptée en comité syndical.",
        "evidence": "",
        "exclusion_justification": "",
        "version": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def rssi(world: World, app_ctx: Flask) -> Any:
    with acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        yield db.session.merge(world.a.users[Role.RSSI])


def _org(world: World) -> Any:
    return db.session.merge(world.a.syndicate)


# --- rules ----------------------------------------------------------------------------------------


def test_there_are_93_controls_in_four_themes() -> None:
    counts = {t.id: sum(1 for c in ref.controls() if c.theme == t.id) for t in ref.themes()}
    assert counts == {"5": 37, "6": 8, "7": 14, "8": 34}


def test_an_exclusion_needs_its_justification_and_is_not_applicable(world: World, rssi: Any) -> None:
    org, control = _org(world), ref.control("A.7.6")
    with pytest.raises(FieldError) as exc:
        soa.save_entry(org, rssi, control, _form(applicable="no", status="implemented"))
    assert set(_errors(exc)) == {"exclusion_justification"}
    db.session.rollback()

    entry = soa.save_entry(
        org,
        rssi,
        control,
        _form(applicable="no", status="implemented", exclusion_justification="Pas de zone."),
    )
    assert entry.applicable is False
    assert entry.status is ImplementationStatus.NOT_APPLICABLE  # whatever the form said
    assert entry.reasons == []


def test_an_applicable_control_needs_a_reason_and_cannot_be_not_applicable(world: World, rssi: Any) -> None:
    org, control = _org(world), ref.control(A51)
    with pytest.raises(FieldError) as exc:
        soa.save_entry(org, rssi, control, _form(reasons=[], status="not_applicable"))
    assert set(_errors(exc)) == {"reasons", "status"}


def test_the_owner_is_a_person_of_the_organisation(world: World, rssi: Any) -> None:
    org = _org(world)
    outsider = world.b.users[Role.RSSI].id
    with pytest.raises(FieldError) as exc:
        soa.save_entry(org, rssi, ref.control(A51), _form(owner_id=str(outsider)))
    assert set(_errors(exc)) == {"owner_id"}
    db.session.rollback()
    entry = soa.save_entry(org, rssi, ref.control(A51), _form(owner_id=str(rssi.id)))
    assert entry.owner_id == rssi.id


# --- lazy rows --------------------------------------------------------------------------------------


def test_pages_write_nothing_and_unsaved_controls_are_not_assessed(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    for url in (
        "/smsi/soa/",
        f"/smsi/soa/control?id={A51}",
        "/smsi/soa/versions/",
        "/smsi/soa/?status=partial",
    ):
        assert client.get(url).status_code == 200, url
    assert session.scalar(select(func.count()).select_from(SoaEntry)) == 0
    page = _html(client.get("/smsi/soa/"))
    assert page.count("Non évaluée") >= 93
    assert "A.8.34" in page


def test_the_list_filters_by_theme_status_applicability_and_text(world: World, rssi: Any) -> None:
    org = _org(world)
    soa.save_entry(org, rssi, ref.control(A51), _form(status="implemented"))
    soa.save_entry(
        org, rssi, ref.control("A.7.6"), _form(applicable="no", exclusion_justification="Hébergé.")
    )
    rows = soa.rows(org)
    assert len(rows) == 93

    def ids(**args: str) -> list[str]:
        return [r.control.id for r in soa.filtered(rows, soa.SoaFilters.from_args(args))]

    assert len(ids(theme="6")) == 8
    assert ids(status="implemented") == [A51]
    assert ids(applicable="no") == ["A.7.6"]
    assert len(ids(status="not_assessed")) == 91
    assert ids(q="politiques de securite") == [A51]
    figures = soa.summary(rows).total
    assert (figures.not_assessed, figures.excluded, figures.rate) == (91, 1, 1)  # 1 of 92 → 1 %


# --- the form ----------------------------------------------------------------------------------------


def test_edit_redisplays_what_was_typed_then_saves_then_detects_a_conflict(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    url = f"/smsi/soa/control?id={A51}"
    bad = client.post(url, data=_form(applicable="no", implementation="Texte tapé à garder"))
    assert bad.status_code == 422
    assert "Texte tapé à garder" in _html(bad)
    assert "Une mesure exclue doit être justifiée" in _html(bad)

    assert client.post(url, data=_form()).status_code == 302
    entry = session.scalar(select(SoaEntry).where(SoaEntry.control_id == A51))
    assert entry.status is ImplementationStatus.PARTIAL
    version = _input_value(_html(client.get(url)), "version")
    assert version == str(entry.version)

    assert client.post(url, data=_form(version=version, status="implemented")).status_code == 302
    stale = client.post(url, data=_form(version=version, implementation="Ma version"))
    assert stale.status_code == 409
    assert "Modification concurrente" in _html(stale)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "SoaEntry")).all()
    assert actions == ["soa.create", "soa.update"]


def test_a_control_saved_by_somebody_else_first_is_a_conflict(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    url = f"/smsi/soa/control?id={A51}"
    assert _input_value(_html(client.get(url)), "version") == ""
    from tests.smsi.soa_factories import SoaEntryFactory  # noqa: PLC0415

    SoaEntryFactory(organisation=world.a.syndicate, control_id=A51)
    session.flush()
    assert client.post(url, data=_form(version="")).status_code == 409


def test_an_unknown_control_is_not_found(world: World, app: Flask, login_as: Any) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert client.get("/smsi/soa/control?id=A.9.99").status_code == 404
    assert client.get("/smsi/soa/control").status_code == 404


# --- versions ---------------------------------------------------------------------------------------


def test_approval_freezes_a_snapshot_that_later_edits_do_not_change(world: World, rssi: Any) -> None:
    org = _org(world)
    soa.save_entry(org, rssi, ref.control(A51), _form(owner_id=str(rssi.id)))
    version = soa.approve(org, rssi, "Revue de direction")
    assert (version.number, version.approved_by_name, version.comment) == (
        1,
        rssi.full_name,
        "Revue de direction",
    )
    assert len(version.snapshot) == 93
    assert version.snapshot[A51]["status"] == "partial"
    assert version.snapshot[A51]["owner_name"] == rssi.full_name
    db.session.commit()

    entry = soa.entry_of(org.id, A51)
    soa.save_entry(
        org,
        rssi,
        ref.control(A51),
        _form(status="implemented", owner_id=str(rssi.id), version=str(entry.version)),
    )
    db.session.commit()
    db.session.expire_all()
    frozen = db.session.get(SoaVersion, version.id)
    assert frozen.snapshot[A51]["status"] == "partial"
    assert soa.approve(org, rssi, None).number == 2

    changes = soa.diff(frozen.snapshot, soa.current_snapshot(org))
    assert [c.control.id for c in changes] == [A51]
    assert [(c.label, c.before, c.after) for c in changes[0].changes] == [
        ("État de mise en œuvre", "Partiellement mise en œuvre", "Mise en œuvre")
    ]


def test_approve_and_compare_pages(world: World, app: Flask, login_as: Any, session: Any) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    url = f"/smsi/soa/control?id={A51}"
    assert client.post(url, data=_form()).status_code == 302
    refused = client.post("/smsi/soa/approve", data={"comment": "sans case"})
    assert refused.status_code == 422
    approved = client.post("/smsi/soa/approve", data={"confirm": "y", "comment": "Comité du 3 décembre"})
    assert approved.status_code == 302
    version = session.scalar(select(SoaVersion))
    assert approved.location.endswith(f"/smsi/soa/versions/{version.id}")
    page = _html(client.get(approved.location))
    assert "Comité du 3 décembre" in page
    assert "Partiellement mise en œuvre" in page

    entry_version = _input_value(_html(client.get(url)), "version")
    client.post(url, data=_form(version=entry_version, implementation="Politique révisée"))
    diff = _html(client.get(f"/smsi/soa/versions/{version.id}/diff"))
    assert "1 mesure a changé." in diff
    assert "Politique révisée" in diff
    assert "Politique adoptée en comité syndical." in diff
    journal = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "SoaVersion")).all()
    assert journal == ["soa.approve"]


# --- documents ---------------------------------------------------------------------------------------


def test_pdf_lists_the_93_controls_with_the_approval_line_and_counts(
    world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    client.post(f"/smsi/soa/control?id={A51}", data=_form(status="implemented"))
    client.post("/smsi/soa/control?id=A.7.6", data=_form(applicable="no", exclusion_justification="Hébergé."))

    working = client.post("/smsi/soa/pdf")
    assert working.status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "soa"))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages)
    assert "Version de travail non approuvée" in text
    assert all(c.id in text for c in ref.controls()), [c.id for c in ref.controls() if c.id not in text]
    assert "Hébergé." in text
    assert re.search(r"Total\s+93\s+91", text)  # 93 controls, 91 not assessed
    assert re.search(r"page 1 / \d+", text)

    client.post("/smsi/soa/approve", data={"confirm": "y"})
    version = session.scalar(select(SoaVersion))
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    assert client.post(f"/smsi/soa/versions/{version.id}/pdf").status_code == 302
    approved = session.scalars(select(GeneratedReport).order_by(GeneratedReport.id.desc())).first()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(approved.content)).pages)
    assert f"Approuvée par {world.a.users[Role.RSSI].full_name}" in text
    path = tmp_path / "soa.pdf"
    path.write_bytes(approved.content)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr


def test_english_pdf_is_in_english(world: World, app: Flask, login_as: Any, session: Any) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    client.post("/language", data={"lang": "en"})
    assert client.post("/smsi/soa/pdf").status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "soa"))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(report.content)).pages)
    assert "Statement of Applicability" in text
    assert re.search(r"Policies\s+for\s+information\s+security", text)
    assert "Déclaration" not in text
    assert "Draft — document not approved." in text  # the closing section, in English too
    assert "Approval" in text


def _pages(content: bytes) -> list[str]:
    """Each page's text, no-break spaces as plain ones."""
    return [
        p.extract_text().replace(pdf.NBSP, " ").replace(pdf.NNBSP, " ")
        for p in PdfReader(io.BytesIO(content)).pages
    ]


def _qpdf_check(content: bytes, tmp_path: Any) -> None:
    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "soa.pdf"
    path.write_bytes(content)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_approved_pdf_ends_with_its_approval_and_signature_block(
    world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any
) -> None:
    org = world.a.syndicate
    org.head_title, org.head_name = "Président", "Paul Durand"
    session.flush()
    client = login_as(world.a.users[Role.RSSI], org)
    client.post(f"/smsi/soa/control?id={A51}", data=_form(status="implemented"))
    client.post("/smsi/soa/approve", data={"confirm": "y", "comment": "Comité du 3 décembre"})
    version = session.scalar(select(SoaVersion))
    assert client.post(f"/smsi/soa/versions/{version.id}/pdf").status_code == 302
    report = session.scalars(select(GeneratedReport).order_by(GeneratedReport.id.desc())).first()

    pages = _pages(report.content)
    last, total = pages[-1], len(pages)
    assert f"page {total} / {total}" in last  # the block closes the document, on its last page
    block = last[last.index("Approbation") :]
    rssi = world.a.users[Role.RSSI].full_name
    approved_on = pdf.fr_date(version.approved_at).replace(pdf.NBSP, " ")
    for expected in (
        "Version approuvée",
        "Version 1",
        f"Approuvée par\n{rssi}",
        "Fonction\nRSSI",
        f"Date d'approbation\n{approved_on} à ",
        "Commentaire d'approbation\nComité du 3 décembre",
        "Le RSSI",  # the two boxes: the RSSI's, printed from the approval…
        f"Nom : {rssi}",
        f"Date : {approved_on}",
        "La direction : Président",  # … and the head of the organisation's, the date left to fill in
        "Nom : Paul Durand",
        f"Date : {pdf.BLANK}",
        f"Version 1 approuvée dans Égide le {approved_on}",
    ):
        assert expected in block, (expected, block)
    assert block.count("Visa / signature :") == 2
    assert "non approuvé" not in block
    assert all(f"page {n} / {total}" in page for n, page in enumerate(pages, 1))
    _qpdf_check(report.content, tmp_path)


def test_a_working_pdf_says_it_is_a_draft_that_nobody_signs(
    world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert client.post("/smsi/soa/pdf").status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "soa"))
    pages = _pages(report.content)
    last = pages[-1]
    assert f"page {len(pages)} / {len(pages)}" in last
    block = last[last.index("Approbation") :]
    assert "Projet — document non approuvé." in block
    assert "ne doit pas être signée" in block
    assert "Statut\nNon approuvée" in block
    assert "Version de travail (état au" in block
    assert not any("Visa / signature" in page for page in pages)  # nothing to sign on a draft
    _qpdf_check(report.content, tmp_path)


def test_the_pdf_summary_is_drawn_as_a_bar_chart(world: World, rssi: Any) -> None:
    org = _org(world)
    soa.save_entry(org, rssi, ref.control(A51), _form(status="implemented"))
    soa.save_entry(
        org, rssi, ref.control("A.7.6"), _form(applicable="no", exclusion_justification="Hébergé.")
    )
    story, info = soa_document.soa_story(org, soa.current_snapshot(org), None, generated_at=utcnow())

    charts = [flowable for flowable in story if isinstance(flowable, Drawing)]
    assert len(charts) == 1
    chart = charts[0]
    strings = [shape.text for shape in chart.contents if isinstance(shape, String)]
    themes = [f"{t.id}. {t.name}" for t in ref.themes()]
    totals = [str(sum(1 for c in ref.controls() if c.theme == t.id)) for t in ref.themes()]
    legend = [
        "Mise en œuvre",
        "Partiellement mise en œuvre",
        "Non commencée",
        "Sans objet (exclue)",
        "Non évaluée",
    ]
    assert strings == [x for pair in zip(themes, totals, strict=True) for x in pair] + legend
    # One bar per theme, split by status: theme 5 has an implemented control and 36 not assessed,
    # theme 7 an excluded one and 13 not assessed, themes 6 and 8 are all not assessed; and the legend.
    bars = [shape for shape in chart.contents if isinstance(shape, Rect)]
    assert len(bars) == 2 + 1 + 2 + 1 + len(legend)
    # … and the PDF prints it: the chart's words, in the chart's order, on the summary's page.
    summary_page = _pages(pdf.build(story, info))[1]
    assert "\n".join(strings) in summary_page


def test_xlsx_has_93_rows_and_neutralises_formulas(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    client.post(f"/smsi/soa/control?id={A51}", data=_form(implementation='=HYPERLINK("http://x")'))
    response = client.post("/smsi/soa/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 94  # the header and 93 controls
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Mesure (annexe A)"] == A51
    assert first["Mise en œuvre (description)"] == '\'=HYPERLINK("http://x")'
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "soa.export")).all() == [
        "soa.export"
    ]


# --- permissions and tenancy --------------------------------------------------------------------------


def test_a_reader_sees_but_cannot_edit_or_approve(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert client.get("/smsi/soa/").status_code == 200
    assert client.get(f"/smsi/soa/control?id={A51}").status_code == 403
    assert client.post(f"/smsi/soa/control?id={A51}", data=_form()).status_code == 403
    assert client.post("/smsi/soa/approve", data={"confirm": "y"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(SoaEntry)) == 0
    assert session.scalar(select(func.count()).select_from(SoaVersion)) == 0


def test_another_organisations_version_is_not_found_and_its_entries_not_shown(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    from tests.smsi.soa_factories import SoaEntryFactory, SoaVersionFactory  # noqa: PLC0415

    SoaEntryFactory(organisation=world.a.syndicate, control_id=A51, implementation="SECRET-A")
    version = SoaVersionFactory(organisation=world.a.syndicate)
    session.flush()
    client = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    for url in (f"/smsi/soa/versions/{version.id}", f"/smsi/soa/versions/{version.id}/diff"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/smsi/soa/versions/{version.id}/pdf").status_code == 404
    assert "SECRET-A" not in _html(client.get("/smsi/soa/"))
    assert "SECRET-A" not in _html(client.get(f"/smsi/soa/control?id={A51}"))


def test_the_rssi_home_page_shows_the_implementation_rate_and_last_version(
    world: World, app: Flask, login_as: Any
) -> None:
    client = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    client.post(f"/smsi/soa/control?id={A51}", data=_form(status="implemented"))
    client.post("/smsi/soa/control?id=A.7.6", data=_form(applicable="no", exclusion_justification="Hébergé."))
    home = _html(client.get("/"))
    assert "1 %" in home  # 1 implemented of 92 not excluded
    assert "(1 sur 92)" in home
    assert "91 mesures non évaluées" in home
    assert "Aucune version approuvée" in home
    client.post("/smsi/soa/approve", data={"confirm": "y"})
    assert "Dernière version approuvée : version 1" in _html(client.get("/"))
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert "des mesures mises en œuvre" not in _html(reader.get("/"))


def test_a_lost_race_to_create_a_control_is_a_conflict(world: World, rssi: Any, monkeypatch: Any) -> None:
    org = _org(world)
    theirs = soa.save_entry(org, rssi, ref.control(A51), _form(implementation="La leur"))
    db.session.commit()
    real, calls = soa.entry_of, []

    def not_yet_seen(org_id: int, control_id: str) -> Any:  # the row appears between read and write
        calls.append(control_id)
        return None if len(calls) == 1 else real(org_id, control_id)

    monkeypatch.setattr(soa, "entry_of", not_yet_seen)
    with pytest.raises(EditConflict) as exc:
        soa.save_entry(org, rssi, ref.control(A51), _form(implementation="La mienne"))
    assert exc.value.obj.id == theirs.id
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SoaEntry)) == 1
    assert soa.entry_of(org.id, A51).implementation == "La leur"
