"""The register PDF as a DPO hands it to an inspector: a summary that gives the page of each fiche,
references never cut, drafts left out or marked (the choice of whoever generates it), who validated
each fiche and when, dates in the document's language, French elision ("d'Ivry")."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from accounts.models import Organisation, User
from core.extensions import db
from core.security import Role
from core.text import de, of
from registers.documents import data as registers
from registers.documents import pdf as pdf_registers
from registers.services import activities as acts
from reports import pdf
from reports.models import GeneratedReport
from tests import factories as f
from tests.conftest import World, acting_as

AT = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)
VALIDATED_AT = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)  # 10 h 30 in Paris
VALIDATOR = "Camille Dubois"
LONG_REFERENCE = "SIIM94-TRT-2024-0012"
DRAFT_NAME = "Fiche encore en rédaction"
LONG_TEXT = " ".join(f"mot{i}" for i in range(700))  # several pages of one fiche

FICHE = {
    "purpose": "Gestion du service",
    "legal_basis": "6.1.e",
    "data_subjects": ["usagers"],
    "data_categories": [{"category": "etat_civil", "details": "nom, prénom", "active": "1 an"}],
}


def _pages(data: bytes) -> list[str]:
    """The text of each page, no-break spaces as plain spaces."""
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text().replace("\u00a0", " ").replace("\u202f", " ") for page in reader.pages]


def _flat(data: bytes) -> str:
    return " ".join(" ".join(_pages(data)).split())


@pytest.fixture
def ivry(app: Flask, world: World, session: Any) -> Iterator[Organisation]:
    """Ivry-sur-Seine, whose DPO validated five fiches (one long, two with long references) on
    24 November 2026; a sixth fiche is a draft. Yields inside a request acting as the DPO."""
    org = f.OrganisationFactory(name="Ivry-sur-Seine", syndicate=world.a.syndicate)
    dpo = f.UserFactory(full_name=VALIDATOR, email="dpo@ivry.example.org")
    f.MembershipFactory(user=dpo, organisation=org, role=Role.DPO)
    session.flush()
    with app.test_request_context(), acting_as(dpo, org):
        org, dpo = db.session.merge(org), db.session.merge(dpo)
        with time_machine.travel(VALIDATED_AT, tick=False):
            for reference, name, extra in (
                ("TRT-001", "Accueil du public", {}),
                ("TRT-002", "Très longue fiche", {"purpose": LONG_TEXT, "dpia_justification": LONG_TEXT}),
                (LONG_REFERENCE, "Inscriptions scolaires", {}),
                ("SIIM94-TRT-2024-0013", "Restauration scolaire", {}),
                ("TRT-005", "État civil", {}),
            ):
                acts.create_activity(
                    org, dpo, {**FICHE, **extra, "reference": reference, "name": name, "status": "validated"}
                )
            acts.create_activity(
                org, dpo, {**FICHE, "reference": "TRT-006", "name": DRAFT_NAME, "status": "draft"}
            )
        db.session.commit()
        yield org


def _register(org: Organisation, **kwargs: Any) -> tuple[registers.RegisterDoc, bytes]:
    doc = registers.register_data(org, generated_at=AT, **kwargs)
    return doc, pdf_registers.register_pdf(doc)


def _summary_rows(page_text: str, references: list[str]) -> dict[str, int]:
    """The page the summary gives for each reference: the first number alone on a line after the
    line that holds the reference (the page is the last column of its row)."""
    lines = [line.strip() for line in page_text.splitlines()]
    rows = {}
    for reference in references:
        start = lines.index(reference)
        rows[reference] = int(next(line for line in lines[start + 1 :] if line.isdigit()))
    return rows


def _heading_page(pages: list[str], reference: str, name: str) -> int:
    """The page (numbered from 1) whose text holds the fiche's heading "reference — name"."""
    heading = f"{reference} — {name}"
    found = [number for number, text in enumerate(pages, start=1) if heading in " ".join(text.split())]
    assert found, heading
    return found[0]


# --- the summary ----------------------------------------------------------------------------------


def test_the_summary_gives_the_page_each_fiche_starts_on(ivry: Organisation, tmp_path: Any) -> None:
    doc, data = _register(ivry)
    pages = _pages(data)
    summary = next(text for text in pages if "Synthèse des fiches" in text)
    references = [a.reference for a in doc.activities]
    given = _summary_rows(summary, references)
    actual = {a.reference: _heading_page(pages, a.reference, a.name) for a in doc.activities}
    assert given == actual
    # the long fiche takes several pages: the numbers are read from the layout, not counted
    assert actual["TRT-005"] - actual["TRT-002"] > 2
    assert sorted(given.values()) == list(given.values())


def test_a_reference_is_never_cut_across_two_lines(ivry: Organisation) -> None:
    doc, data = _register(ivry)
    pages = _pages(data)
    summary = next(text for text in pages if "Synthèse des fiches" in text)
    lines = [line.strip() for line in summary.splitlines()]
    for reference in (LONG_REFERENCE, "SIIM94-TRT-2024-0013"):
        assert reference in lines  # whole, on a line of its own (its cell)
        assert not any(line != reference and reference.startswith(line) for line in lines if len(line) > 3)
    for a in doc.activities:  # headings too
        assert any(
            line.strip().startswith(f"{a.reference} —") for text in pages for line in text.splitlines()
        )


# --- drafts ---------------------------------------------------------------------------------------


def test_drafts_are_left_out_by_default(ivry: Organisation) -> None:
    doc, data = _register(ivry)
    assert doc.drafts_left_out == 1
    assert [a.name for a in doc.activities if a.is_draft] == []
    text = _flat(data)
    assert DRAFT_NAME not in text
    assert "BROUILLON" not in text
    assert "Non repris (1 brouillon(s) écarté(s))" in text


def test_drafts_are_printed_and_marked_when_asked_for(ivry: Organisation) -> None:
    doc, data = _register(ivry, include_drafts=True)
    assert [a.name for a in doc.activities if a.is_draft] == [DRAFT_NAME]
    pages = _pages(data)
    text = _flat(data)
    summary = next(page for page in pages if "Synthèse des fiches" in page)
    lines = [line.strip() for line in summary.splitlines()]
    row = lines[lines.index("TRT-006") :]
    assert row[row.index(DRAFT_NAME.rsplit(" ", 1)[0]) :].index("BROUILLON") < 4  # its status cell
    assert lines.count("BROUILLON") == 1  # only the draft's row
    assert f"TRT-006 — {DRAFT_NAME} — BROUILLON" in text  # the fiche's heading
    assert "Brouillon : fiche en cours de rédaction, jamais validée." in text
    assert "Repris, marqués BROUILLON" in text


def test_the_documents_page_offers_the_choice_and_the_title_records_it(
    world: World, ivry: Organisation, login_as: Any, session: Any
) -> None:
    dpo = session.scalar(select(User).where(User.full_name == VALIDATOR))
    client = login_as(dpo, ivry)
    page = client.get("/reports/").get_data(as_text=True)
    assert 'name="drafts"' in page
    assert "Par défaut, le registre ne reprend pas les brouillons" in page

    def generate(**form: str) -> GeneratedReport | None:
        before = session.scalar(select(func.count(GeneratedReport.id)))
        response = client.post("/registers/documents/register", data=form)
        assert response.status_code == 302
        if session.scalar(select(func.count(GeneratedReport.id))) == before:
            return None
        return session.scalars(select(GeneratedReport).order_by(GeneratedReport.id.desc())).first()

    default = generate()
    assert default is not None
    assert default.title == "Registre des activités de traitement — Ivry-sur-Seine (sans les brouillons)"
    assert DRAFT_NAME not in _flat(default.content)
    with_drafts = generate(drafts="include")
    assert with_drafts is not None
    assert with_drafts.title.endswith("(brouillons inclus)")
    assert f"TRT-006 — {DRAFT_NAME} — BROUILLON" in _flat(with_drafts.content)
    assert generate(drafts="everything") is None  # an unknown choice generates nothing


# --- validation -----------------------------------------------------------------------------------


def test_each_fiche_says_who_validated_it_and_when(ivry: Organisation) -> None:
    _doc, data = _register(ivry, include_drafts=True)
    text = _flat(data)
    line = f"Validée par {VALIDATOR} le 24 novembre 2026 à 10 h 30."
    assert text.count(line) == 5  # each validated fiche
    assert "Non validée par le DPO" in text  # the draft, plainly
    assert "[donnée" not in text


# --- language -------------------------------------------------------------------------------------

FRENCH_MONTHS = re.compile(r"\b(" + "|".join(pdf.MONTHS_FR) + r")\b")


def test_an_english_register_writes_english_dates(ivry: Organisation) -> None:
    with force_locale("en"):
        _doc, data = _register(ivry, include_drafts=True)
    text = _flat(data)
    assert "3 December 2026 at 16:00" in text  # generation date (cover, footer)
    assert f"Validated by {VALIDATOR} on 24 November 2026 at 10:30." in text
    assert "Record of processing activities of Ivry-sur-Seine" in text  # running title, no elision
    assert not FRENCH_MONTHS.search(text), FRENCH_MONTHS.search(text)
    assert " à " not in text
    # and French stays French
    _doc, data = _register(ivry)
    assert "3 décembre 2026 à 16 h 00" in _flat(data)
    assert "December" not in _flat(data)


def test_long_dates_follow_the_locale(app: Flask) -> None:
    with app.test_request_context():
        assert pdf.long_date(dt.date(2026, 5, 1)) == "1er\u00a0mai 2026"
        with force_locale("en"):
            assert pdf.long_date(dt.date(2026, 12, 3)) == "3\u00a0December 2026"
            assert (
                pdf.long_datetime(dt.datetime(2026, 12, 3, 9, 5, tzinfo=dt.UTC))
                == "3\u00a0December 2026 at 10:05"
            )
            assert pdf.long_date(None) == "—"


# --- elision --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ivry-sur-Seine", "d'Ivry-sur-Seine"),
        ("Arcueil", "d'Arcueil"),
        ("Élancourt", "d'Élancourt"),
        ("Orly", "d'Orly"),
        ("Yerres", "d'Yerres"),
        ("Vitry-sur-Seine", "de Vitry-sur-Seine"),
        ("Houilles", "de Houilles"),  # an initial h is left alone (aspirated here)
        ("L'Haÿ-les-Roses", "de L'Haÿ-les-Roses"),
        ("La Courneuve", "de La Courneuve"),
        ("Le Kremlin-Bicêtre", "du Kremlin-Bicêtre"),
        ("Les Lilas", "des Lilas"),
        ("  Ivry  ", "d'Ivry"),
        ("", "de"),
        (None, "de"),
    ],
)
def test_de_elides_before_a_vowel(name: str | None, expected: str) -> None:
    assert de(name) == expected


def test_of_is_french_de_in_french_and_translated_otherwise(app: Flask) -> None:
    with app.test_request_context():
        assert of("Arcueil") == "d'Arcueil"
        with force_locale("en"):
            assert of("Arcueil") == "of Arcueil"


def test_the_register_pdf_elides_de(ivry: Organisation) -> None:
    _doc, data = _register(ivry)
    text = _flat(data)
    assert "Registre des activités de traitement d'Ivry-sur-Seine" in text  # every page's header
    assert "de Ivry" not in text
    meta = PdfReader(io.BytesIO(data)).metadata
    assert meta.subject == "Registre RGPD d'Ivry-sur-Seine : 5 fiche(s)"


def test_the_referents_home_card_elides_de(world: World, login_as: Any, session: Any) -> None:
    arcueil = f.OrganisationFactory(name="Arcueil", syndicate=world.a.syndicate)
    referent = f.UserFactory(email="referent@arcueil.example.org")
    f.MembershipFactory(user=referent, organisation=arcueil, role=Role.REFERENT)
    session.flush()
    page = login_as(referent, arcueil).get("/").get_data(as_text=True)
    assert "Le registre d&#39;Arcueil." in page
    assert "de Arcueil" not in page
