"""Register export (XLSX, CSV) and import: round trip, formula neutralisation, all-or-nothing import
with errors by line and column, permissions and tenant isolation."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from defusedxml import ElementTree
from flask import Flask
from python_calamine import CalamineWorkbook
from sqlalchemy import func, or_, select

from accounts.models import Organisation
from core.audit import AuditEvent, AuditPayload
from core.cli import run_demo_loaders
from core.exports import neutralise, unneutralise
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from core.tenancy import UNSCOPED, bind_session
from registers.models import ActivityVersion, ImportStatus, ProcessingActivity, RegisterImport
from registers.services import activities as acts
from registers.services import exchange
from tests.conftest import acting_as

TRT_001 = {
    "reference": "TRT-001",
    "name": "=Inscriptions scolaires",
    "status": "validated",
    "joint_controllers": "Commune de Villejuif\nCCAS de Villejuif",
    "representative": "+33 1 23 45 67 89",
    "purpose": "Inscrire les enfants\r\net facturer les familles",
    "sub_purposes": ["Facturation", "Statistiques\nannuelles (anonymes)"],
    "legal_basis": "6.1.e",
    "legal_basis_text": "Code de l'éducation, art. L131-5",
    "data_subjects": ["enfants_mineurs", "representants_legaux"],
    "data_subjects_other": "-agents du service enfance",
    "data_categories": [
        {
            "category": "etat_civil",
            "details": "nom, prénom : date de naissance",
            "active": "durée de la scolarité",
            "intermediate": "1 an",
            "final": "destruction",
        },
        {"category": "connexion", "details": None, "active": None, "intermediate": None, "final": None},
    ],
    "sensitive_data": ["sante"],
    "art9_exception": "9.2.h",
    "sensitive_details": "@PAI : allergies",
    "recipients": [
        {"type": "interne", "name": "Service enfance", "organisation_id": None},
        {"type": "sous_traitant", "name": "SIIM94 : hébergement\n  et infogérance", "organisation_id": None},
        {"type": "tiers_autorise", "name": None, "organisation_id": None},
    ],
    "transfers": [
        {
            "recipient": "Éditeur SaaS",
            "country": "États-Unis",
            "safeguard": "derogation_consentement",
            "documentation": "DPA signé\nannexe 2",
        },
        {"recipient": "Support", "country": "Canada", "safeguard": None, "documentation": None},
    ],
    "security_measures": [
        {"measure": "controle_acces", "details": "comptes nominatifs"},
        {"measure": "sauvegarde", "details": None},
    ],
    "dpia_criteria": ["donnees_sensibles", "personnes_vulnerables"],
    "dpia_justification": "Deux critères remplis.",
    "dpia_status": "done",
    "dpia_done_on": "2026-03-15",
    "next_review_on": "2027-01-31",
}
TRT_002 = {
    "reference": "TRT-002",
    "name": "Gestion du personnel",
    "purpose": "Paie et carrière",
    "legal_basis": "6.1.c",
    "data_subjects": ["agents"],
    "dpia_cnil_exempt": "E01",
}
TRT_003 = {"reference": "TRT-003", "name": "Ancienne vidéoprotection", "status": "archived"}


@pytest.fixture
def register(world: Any, app: Flask) -> dict[str, int]:
    """Tenant A's syndicate register: three fiches covering every kind of field (reference → id)."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        org = db.session.merge(a.syndicate)
        linked = db.session.merge(a.member)
        data = {**TRT_001, "application_ids": [a.application.id]}
        data["recipients"] = [dict(row) for row in TRT_001["recipients"]]
        data["recipients"][1]["organisation_id"] = linked.id  # a processor that is a known organisation
        fiches = {
            "TRT-001": acts.create_activity(org, None, data),
            "TRT-002": acts.create_activity(org, None, TRT_002),
            "TRT-003": acts.create_activity(org, None, TRT_003),
        }
        db.session.commit()
        return {reference: fiche.id for reference, fiche in fiches.items()}


@pytest.fixture
def as_dpo(world: Any, app: Flask, register: Any) -> Iterator[Any]:
    """A request context where tenant A's DPO works on the syndicate's register."""
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        yield db.session.merge(world.a.syndicate)


def counts(session: Any = None) -> tuple[int, int]:
    """Versions of fiches and journal entries (exports aside): what an import may write."""
    session = session or db.session
    versions = session.scalar(select(func.count(ActivityVersion.id)).execution_options(**UNSCOPED))
    events = session.scalar(
        select(func.count(AuditEvent.id)).where(
            or_(AuditEvent.action.startswith("activity."), AuditEvent.action == "register.import")
        )
    )
    return int(versions or 0), int(events or 0)


def plan_of(org: Any, body: bytes, filename: str, *, may_validate: bool = True, mapping: Any = None) -> Any:
    """Read a file and plan it with the mapping Égide proposes (what the mapping page preselects)."""
    table = exchange.read_table(body, filename)
    return exchange.plan_import(
        org,
        table,
        mapping if mapping is not None else exchange.propose(table.header),
        filename=filename,
        sha256=hashlib.sha256(body).hexdigest(),
        may_validate=may_validate,
    )


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def csv_body(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def cell(rows: list[list[str]], reference: str, header: str) -> str:
    index = rows[0].index(header)
    return next(row for row in rows[1:] if row[0] == reference)[index]


# --- cell encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+33 1 23", "-x", "@SUM(A1)", "\tx", "\rx", "'=x", "'abc", "''", "abc", "", "a'b"],
)
def test_reversible_neutralisation_gives_back_every_value(value: str) -> None:
    written = neutralise(value, reversible=True)
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unneutralise(written) == value


def test_multi_line_values_survive_the_list_encodings(app_ctx: Any) -> None:
    values = ["Facturation", "Statistiques\nannuelles\n\n  indentées", "Fin"]
    assert exchange.decode_list(exchange.encode_list(values)) == values
    pairs = [("Sous-traitants", "SIIM94 : hébergement\nsuite"), ("Tiers autorisés", "")]
    assert exchange.decode_pairs(exchange.encode_pairs(pairs)) == pairs
    transfers = TRT_001["transfers"]
    decoded = exchange.decode_transfers(exchange.encode_transfers(transfers))
    assert decoded == transfers
    assert (
        "Destinataire : Éditeur SaaS\n  Pays : États-Unis\n  Garantie : Dérogation : consentement explicite"
        in (exchange.encode_transfers(transfers))
    )


# --- export --------------------------------------------------------------------------------------


def test_csv_export_follows_the_cnil_layout_with_readable_labels(as_dpo: Any, register: Any) -> None:
    export = exchange.export_register(as_dpo, None, "csv")
    rows = csv_rows(export.body)
    header = rows[0]
    assert header[:13] == [
        "Référence",
        "Nom du traitement",
        "Statut",
        "Date de création",
        "Dernière mise à jour",
        "Responsables conjoints",
        "Représentant",
        "Finalité principale",
        "Sous-finalités",
        "Base légale",
        "Texte de référence",
        "Personnes concernées",
        "Autres personnes concernées",
    ]
    assert header[-4:] == ["AIPD requise", "État AIPD", "AIPD réalisée le", "Prochaine révision"]
    assert "État civil, identité, données d'identification, images — Base active" in header
    assert "Données de connexion — Sort final" in header
    assert [row[0] for row in rows[1:]] == ["TRT-001", "TRT-002", "TRT-003"]  # archived included
    assert cell(rows, "TRT-003", "Statut") == "Archivée"
    assert cell(rows, "TRT-001", "Base légale") == "Mission d'intérêt public"
    assert cell(rows, "TRT-001", "Personnes concernées") == (
        "Enfants / mineurs (scolaire, périscolaire, petite enfance)\nParents et représentants légaux"
    )
    assert cell(rows, "TRT-001", "Destinataires") == (
        "Destinataires internes : Service enfance\n"
        "Sous-traitants : SIIM94 : hébergement\n      et infogérance\n"
        "Tiers autorisés"
    )
    assert cell(rows, "TRT-001", "Mesures de sécurité") == (
        "Contrôle d'accès des utilisateurs : comptes nominatifs\nSauvegarde des données"
    )
    assert cell(rows, "TRT-001", "Catégories de données") == (
        "État civil, identité, données d'identification, images\nDonnées de connexion"
    )
    assert cell(rows, "TRT-001", "Applications") == "Application A"
    assert cell(rows, "TRT-001", "AIPD requise") == "Oui"
    assert cell(rows, "TRT-001", "AIPD réalisée le") == "15/03/2026"
    assert cell(rows, "TRT-001", "Finalité principale") == "Inscrire les enfants\net facturer les familles"
    assert export.rows == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "register.export"))
    assert event is not None
    assert event.object_type == "Register"
    assert event.organisation_id == as_dpo.id


def test_formulas_are_neutralised_in_csv(as_dpo: Any) -> None:
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    assert cell(rows, "TRT-001", "Nom du traitement") == "'=Inscriptions scolaires"
    assert cell(rows, "TRT-001", "Représentant") == "'+33 1 23 45 67 89"
    assert cell(rows, "TRT-001", "Autres personnes concernées") == "'-agents du service enfance"
    assert cell(rows, "TRT-001", "Précisions données sensibles") == "'@PAI : allergies"
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_formulas_are_neutralised_in_xlsx(as_dpo: Any) -> None:
    as_dpo.dpo_phone = "+33 1 45 00 00 00"
    db.session.flush()
    book = openpyxl.load_workbook(io.BytesIO(exchange.export_register(as_dpo, None, "xlsx").body))
    assert book.sheetnames == ["Organisation", "Registre"]
    sheet = book["Registre"]
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[0] == "TRT-001"
    assert row[header.index("Nom du traitement")] == "'=Inscriptions scolaires"
    assert row[header.index("Représentant")] == "'+33 1 23 45 67 89"
    assert sheet.cell(2, header.index("Nom du traitement") + 1).data_type == "s"  # text, not a formula
    organisation = dict(book["Organisation"].iter_rows(values_only=True))
    assert organisation["Organisme"] == as_dpo.name
    assert organisation["DPO : téléphone"] == "'+33 1 45 00 00 00"
    for line in sheet.iter_rows(values_only=True):
        for value in line:
            assert not str(value or "").startswith(("=", "+", "-", "@")), value


def test_xlsx_export_holds_every_cell_of_the_csv_export(as_dpo: Any) -> None:
    """Both formats write the same cells (core.exports' XLSX writer, read back by openpyxl and by
    python-calamine, which the import uses), the header bold, the column widths set."""
    as_dpo.dpo_phone = "+33 1 45 00 00 00"
    db.session.flush()
    expected = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    body = exchange.export_register(as_dpo, None, "xlsx").body
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book["Registre"]
    assert [[value or "" for value in row] for row in sheet.iter_rows(values_only=True)] == expected
    assert all(cell.font.b for cell in sheet[1])
    assert not any(cell.font.b for cell in sheet[2])
    assert sheet.column_dimensions["A"].width == 28
    assert sheet.freeze_panes == "C2"
    assert book["Organisation"].column_dimensions["B"].width == 60
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(body))
    assert calamine.get_sheet_by_name("Registre").to_python() == expected
    organisation = calamine.get_sheet_by_name("Organisation").to_python()
    assert organisation[0] == ["Rubrique", "Valeur"]
    assert dict(map(tuple, organisation[1:]))["DPO : téléphone"] == "'+33 1 45 00 00 00"


def test_xlsx_export_is_the_same_bytes_whenever_it_is_made(
    as_dpo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = exchange.export_register(as_dpo, None, "xlsx").body
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3 * 86400)  # zip entries take "now"
    second = exchange.export_register(as_dpo, None, "xlsx").body
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        stamps = {info.date_time for info in archive.infolist()}
        core = archive.read("docProps/core.xml").decode()
    # The workbook's time is the latest change of what it shows (zip times have 2-second steps).
    latest = max([f.updated_at for f in db.session.scalars(select(ProcessingActivity))] + [as_dpo.updated_at])
    assert stamps == {(*latest.timetuple()[:5], latest.second - latest.second % 2)}
    properties = ElementTree.fromstring(core)
    dc, dcterms = "{http://purl.org/dc/elements/1.1/}", "{http://purl.org/dc/terms/}"
    assert properties.findtext(f"{dcterms}modified") == f"{latest:%Y-%m-%dT%H:%M:%S}Z"
    assert properties.findtext(f"{dcterms}created") == f"{latest:%Y-%m-%dT%H:%M:%S}Z"
    assert properties.findtext(f"{dc}creator") == "Égide"


def test_export_of_tenant_a_never_holds_tenant_b_fiches(
    world: Any, app: Flask, login_as: Any, register: Any
) -> None:
    b = world.b
    with app.test_request_context(), acting_as(b.users[Role.DPO], b.syndicate):
        acts.create_activity(
            db.session.merge(b.syndicate), None, {"reference": "TRT-B01", "name": "Fiche secrète B"}
        )
        db.session.commit()
    client = login_as(world.a.users[Role.DPO])
    for url in ("/registers/export.csv", "/registers/export.xlsx"):
        response = client.post(url)
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        text = _export_text(response.data, url)
        assert "TRT-001" in text
        assert "TRT-B01" not in text
        assert "Fiche secrète B" not in text
    client_b = login_as(b.users[Role.DPO])
    text = _export_text(client_b.post("/registers/export.csv").data, ".csv")
    assert "TRT-B01" in text
    assert "TRT-001" not in text


def _export_text(body: bytes, url: str) -> str:
    if url.endswith(".csv"):
        return body.decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(body))
    return "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v)


def test_models_are_not_part_of_the_exported_register(world: Any, as_dpo: Any) -> None:
    acts.create_activity(
        as_dpo, None, {"name": "Modèle familles", "application_ids": [world.a.application.id]}, is_model=True
    )
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    assert [row[0] for row in rows[1:]] == ["TRT-001", "TRT-002", "TRT-003"]


# --- round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_import_export_gives_identical_files_and_writes_nothing(as_dpo: Any, fmt: str) -> None:
    first = exchange.export_register(as_dpo, None, fmt).body
    before = counts()
    plan = plan_of(as_dpo, first, f"registre.{fmt}", may_validate=True)
    assert plan.errors == []
    assert (plan.created, plan.updated, plan.unchanged) == (0, 0, 3)
    exchange.apply_import(as_dpo, None, plan)
    db.session.flush()
    assert counts() == before  # no version, no journal entry
    assert exchange.export_register(as_dpo, None, fmt).body == first


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_restores_every_field_exactly(as_dpo: Any, register: Any, fmt: str) -> None:
    """Every field of TRT-001 is changed after the export; importing the export gives it back."""
    body = exchange.export_register(as_dpo, None, fmt).body
    fiche = _fiche(db.session, "TRT-001")
    original = acts.snapshot_json(fiche, acts.ALL_FIELDS)
    acts.update_activity(
        fiche,
        None,
        {
            "version": fiche.version,
            "name": "Autre nom",
            "status": "draft",
            "joint_controllers": "",
            "representative": "",
            "purpose": "Autre",
            "sub_purposes": [],
            "legal_basis": "6.1.a",
            "legal_basis_text": "",
            "data_subjects": ["agents"],
            "data_subjects_other": "",
            "data_categories": [{"category": "autres", "details": "x"}],
            "sensitive_data": [],
            "art9_exception": "",
            "sensitive_details": "",
            "recipients": [],
            "transfers": [],
            "security_measures": [],
            "dpia_criteria": [],
            "dpia_justification": "",
            "dpia_status": "not_started",
            "dpia_done_on": None,
            "next_review_on": None,
            "application_ids": [],
        },
    )
    plan = plan_of(as_dpo, body, f"registre.{fmt}", may_validate=True)
    assert plan.errors == []
    assert (plan.created, plan.updated, plan.unchanged) == (0, 1, 2)
    exchange.apply_import(as_dpo, None, plan)
    db.session.flush()
    db.session.refresh(fiche)
    restored = acts.snapshot_json(fiche, acts.ALL_FIELDS)
    # Line breaks are written as "\n" in both formats (XLSX cannot hold "\r").
    original["purpose"] = original["purpose"].replace("\r\n", "\n")
    # The link of a recipient to an organisation is not in the file: gone with the recipient.
    assert original["recipients"][1]["organisation_id"] is not None
    original["recipients"][1]["organisation_id"] = None
    assert restored == original
    assert [a.name for a in fiche.applications] == ["Application A"]
    again = exchange.export_register(as_dpo, None, fmt).body
    if fmt == "csv":  # same day: "Dernière mise à jour" is the same date
        assert again == body
    else:  # the same cells; the workbook's time is that of the restoring change
        assert _sheet(again) == _sheet(body)


def _sheet(body: bytes) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(io.BytesIO(body))["Registre"].iter_rows(values_only=True))


def test_an_unchanged_recipient_keeps_its_link_to_an_organisation(
    as_dpo: Any, register: Any, world: Any
) -> None:
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    index = rows[0].index("Finalité principale")
    rows[1][index] = "Nouvelle finalité"
    plan = plan_of(as_dpo, csv_body(rows), "registre.csv", may_validate=True)
    exchange.apply_import(as_dpo, None, plan)
    fiche = _fiche(db.session, "TRT-001")
    assert fiche.purpose == "Nouvelle finalité"
    assert fiche.recipients[1]["organisation_id"] == world.a.member.id
    # Another recipient added in the file: the existing link is still kept.
    index = rows[0].index("Destinataires")
    rows[1][index] += "\nOrganismes externes : CAF"
    exchange.apply_import(as_dpo, None, plan_of(as_dpo, csv_body(rows), "registre.csv", may_validate=True))
    assert [r["organisation_id"] for r in fiche.recipients] == [None, world.a.member.id, None, None]
    assert fiche.recipients[3] == {
        "type": "organisme_externe",
        "name": "CAF",
        "organisation_id": None,
        "processor_id": None,
    }


def test_a_processor_recipient_named_as_one_of_the_organisations_processors_points_to_it(
    as_dpo: Any, register: Any, world: Any
) -> None:
    from registers.models import activity_processors  # noqa: PLC0415
    from registers.services import processors  # noqa: PLC0415

    hosting = processors.create_processor(as_dpo, None, {"name": "Hébergeur Val-de-Marne"})
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    index = rows[0].index("Destinataires")
    rows[1][index] += (
        "\nSous-traitants (hébergeurs, éditeurs, prestataires de maintenance) : hebergeur val de marne"
    )
    rows[1][rows[0].index("Référence")] = "TRT-NEW"  # a new fiche: the one-INSERT path
    rows[2][index] += (
        "\nSous-traitants (hébergeurs, éditeurs, prestataires de maintenance) : Hébergeur Val-de-Marne"
    )
    plan = plan_of(as_dpo, csv_body(rows[:3]), "registre.csv", may_validate=True)
    assert plan.errors == []
    exchange.apply_import(as_dpo, None, plan)
    created, updated = _fiche(db.session, "TRT-NEW"), _fiche(db.session, rows[2][rows[0].index("Référence")])
    assert [r["processor_id"] for r in created.recipients if r["name"] == "hebergeur val de marne"] == [
        hosting.id
    ]
    assert [r["processor_id"] for r in updated.recipients if r["name"] == "Hébergeur Val-de-Marne"] == [
        hosting.id
    ]
    links = {(row.activity_id, row.processor_id) for row in db.session.execute(select(activity_processors))}
    assert links == {(created.id, hosting.id), (updated.id, hosting.id)}


# --- import: validation --------------------------------------------------------------------------


def test_unknown_legal_basis_and_bad_date_are_errors_named_by_line_and_column(as_dpo: Any) -> None:
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    header = rows[0]
    rows[2][header.index("Base légale")] = "Mission publique"
    rows[3][header.index("Prochaine révision")] = "31/02/2027"
    plan = plan_of(as_dpo, csv_body(rows), "registre.csv", may_validate=True)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Base légale"), (4, "Prochaine révision")]
    assert plan.errors[0].message == "Base légale inconnue : « Mission publique »."
    assert "JJ/MM/AAAA" in plan.errors[1].message
    assert not plan.can_confirm


@pytest.mark.parametrize("value", ["01/01/0001", "31/12/9999", "01/01/1899"])
def test_a_date_out_of_range_is_an_error_named_by_line_and_column(as_dpo: Any, value: str) -> None:
    """The same bounds as a date typed in a form (core.params): never a year-1 review date."""
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    rows[2][rows[0].index("Prochaine révision")] = value
    plan = plan_of(as_dpo, csv_body(rows), "registre.csv", may_validate=True)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Prochaine révision")]
    assert plan.errors[0].message.startswith("Date hors limites")
    assert not plan.can_confirm


def test_labels_are_read_in_any_case_or_as_ids_and_duplicate_references_are_refused(as_dpo: Any) -> None:
    header = list(exchange.headers())
    row = [""] * len(header)
    row[header.index("Référence")] = "NEW-1"
    row[header.index("Nom du traitement")] = "Nouvelle fiche"
    row[header.index("Base légale")] = "OBLIGATION LEGALE"
    row[header.index("Personnes concernées")] = "agents\nÉlus"
    row[header.index("Destinataires")] = "sous-traitants : Prestataire"
    duplicate = list(row)
    duplicate[header.index("Référence")] = "new-1"
    plan = plan_of(as_dpo, csv_body([header, row, duplicate]), "r.csv", may_validate=True)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Référence")]
    assert plan.rows[0].data["legal_basis"] == "6.1.c"
    assert plan.rows[0].data["data_subjects"] == ["agents", "elus"]
    assert plan.rows[0].data["recipients"] == [
        {"type": "sous_traitant", "name": "Prestataire", "organisation_id": None, "processor_id": None}
    ]


def test_a_referent_cannot_validate_a_fiche_through_an_import(as_dpo: Any) -> None:
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    rows[2][rows[0].index("Statut")] = "Validée"
    plan = plan_of(as_dpo, csv_body(rows), "r.csv", may_validate=False)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Statut")]


def test_a_category_written_but_not_listed_is_an_error(as_dpo: Any) -> None:
    rows = csv_rows(exchange.export_register(as_dpo, None, "csv").body)
    rows[2][rows[0].index("Données de localisation — Base active")] = "1 an"
    plan = plan_of(as_dpo, csv_body(rows), "r.csv", may_validate=True)
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Catégories de données")]


# --- import: the pages ---------------------------------------------------------------------------

HIDDEN_RE = r'<input[^>]*name="{name}"[^>]*value="([^"]+)"'


def _hidden(page: str, name: str) -> str:
    match = re.search(HIDDEN_RE.format(name=name), page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _upload(client: Any, body: bytes, name: str) -> Any:
    return client.post(
        "/registers/import", data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data"
    )


def _import_of(session: Any, import_id: int) -> RegisterImport:
    return session.scalar(
        select(RegisterImport)
        .where(RegisterImport.id == import_id)
        .execution_options(**UNSCOPED, populate_existing=True)
    )


def upload_and_map(
    client: Any, session: Any, body: bytes, name: str, mapping: dict[int, str] | None = None
) -> tuple[Any, int]:
    """Upload a file, take the mapping Égide proposes (changed at ``mapping``'s columns) and ask for
    the preview: (the preview's response, the import's id)."""
    response = _upload(client, body, name)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    import_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    page = client.get(response.location)
    assert page.status_code == 200
    record = _import_of(session, import_id)
    keys = list(record.mapping)
    for index, key in (mapping or {}).items():
        keys[index] = key
    data = {f"col_{i}": key for i, key in enumerate(keys)}
    data["version"] = str(record.version)
    return client.post(f"/registers/import/{import_id}/preview", data=data), import_id


def confirm(client: Any, import_id: int, page: str) -> Any:
    return client.post(
        f"/registers/import/{import_id}/confirm", data={"fingerprint": _hidden(page, "fingerprint")}
    )


def _export(client: Any) -> list[list[str]]:
    return csv_rows(client.post("/registers/export.csv").data)


def _fiche(session: Any, reference: str) -> ProcessingActivity | None:
    return session.scalar(
        select(ProcessingActivity)
        .where(ProcessingActivity.reference == reference)
        .execution_options(**UNSCOPED, populate_existing=True)
    )


def _versions(session: Any, reference: str) -> int:
    return int(
        session.scalar(
            select(func.count(ActivityVersion.id))
            .join(ProcessingActivity, ProcessingActivity.id == ActivityVersion.activity_id)
            .where(ProcessingActivity.reference == reference)
            .execution_options(**UNSCOPED)
        )
    )


def test_a_changed_cell_updates_exactly_that_fiche(
    world: Any, register: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    rows = _export(client)
    rows[2][rows[0].index("Finalité principale")] = "Paie, carrière et formation"
    references = ("TRT-001", "TRT-002", "TRT-003")
    before = {r: _versions(session, r) for r in references}
    response, import_id = upload_and_map(client, session, csv_body(rows), "registre.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "0 fiche(s) créée(s), 1 modifiée(s), 2 inchangée(s)." in page
    assert "<td>TRT-002</td>" in page
    assert "<td>TRT-001</td>" not in page
    assert _import_of(session, import_id).payload is not None  # kept (encrypted) for the confirmation
    response = confirm(client, import_id, page)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.location.endswith(f"/registers/import/{import_id}")
    assert {r: _versions(session, r) for r in references} == {**before, "TRT-002": before["TRT-002"] + 1}
    fiche = _fiche(session, "TRT-002")
    assert fiche is not None
    assert fiche.purpose == "Paie, carrière et formation"
    updates = session.scalars(
        select(AuditPayload.data)
        .join(AuditEvent, AuditEvent.id == AuditPayload.event_id)
        .where(AuditEvent.action == "activity.update", AuditEvent.object_id == fiche.id)
    ).all()
    assert [data["changes"] for data in updates] == [
        {"purpose": ["Paie et carrière", "Paie, carrière et formation"]}
    ]
    imports = session.scalars(
        select(AuditPayload.data)
        .join(AuditEvent, AuditEvent.id == AuditPayload.event_id)
        .where(AuditEvent.action == "register.import")
    ).all()
    assert [
        {k: v[1] for k, v in data["changes"].items() if k in ("format", "created", "updated", "unchanged")}
        for data in imports
    ] == [{"format": "csv", "created": 0, "updated": 1, "unchanged": 2}]
    record = _import_of(session, import_id)
    assert record.payload is None  # the kept cells are gone
    assert record.status == ImportStatus.IMPORTED
    assert _export(client) == rows  # same day: "Dernière mise à jour" shows the same date


def test_one_bad_row_among_valid_ones_writes_nothing(
    world: Any, register: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    header = list(exchange.headers())

    def new(reference: str, basis: str) -> list[str]:
        row = [""] * len(header)
        row[header.index("Référence")] = reference
        row[header.index("Nom du traitement")] = f"Fiche {reference}"
        row[header.index("Base légale")] = basis
        return row

    body = csv_body([header, new("NEW-1", "Contrat"), new("NEW-2", "Intérêt du maire"), new("NEW-3", "")])
    before = counts(session)
    response, _import_id = upload_and_map(client, session, body, "registre.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Base légale inconnue : « Intérêt du maire »." in page
    assert re.search(r'<td class="text-end">3</td><td lang="fr">Base légale</td>', page)
    assert "/confirm" not in page
    assert counts(session) == before
    assert _fiche(session, "NEW-1") is None


def test_a_failure_while_writing_rolls_every_row_back(as_dpo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    header = list(exchange.headers())
    rows = [header]
    for n in (1, 2):
        row = [""] * len(header)
        row[0], row[1] = f"NEW-{n}", f"Fiche {n}"
        rows.append(row)
    rows[2][header.index("Applications")] = "Application A"
    plan = plan_of(as_dpo, csv_body(rows), "r.csv", may_validate=True)
    assert plan.can_confirm
    real = exchange.importing._check_applications

    def failing(org: Any, ids: Any) -> Any:
        real(org, ids)
        raise FieldError("application_ids", "Panne simulée.")

    monkeypatch.setattr(exchange.importing, "_check_applications", failing)
    before = counts()
    savepoint = db.session.begin_nested()  # the view's transaction
    with pytest.raises(exchange.ImportFailed, match="Panne simulée"):
        exchange.apply_import(as_dpo, None, plan)
    assert _fiche(db.session, "NEW-1") is not None  # written before the failure…
    savepoint.rollback()  # …and gone with the rest, as the view rolls back
    assert _fiche(db.session, "NEW-1") is None
    assert counts() == before


def test_the_confirmation_writes_nothing_when_the_register_changed_after_the_preview(
    world: Any, register: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    rows = _export(client)
    rows[2][rows[0].index("Finalité principale")] = "Changée"
    response, import_id = upload_and_map(client, session, csv_body(rows), "registre.csv")
    page = response.get_data(as_text=True)
    fingerprint = _hidden(page, "fingerprint")
    before = counts(session)
    response = client.post(f"/registers/import/{import_id}/confirm", data={"fingerprint": "0" * 64})
    assert response.status_code == 409
    assert "Le registre a changé depuis l&#39;aperçu" in response.get_data(as_text=True)
    assert counts(session) == before
    # The import belongs to this user: another account of the organisation does not find it.
    other = login_as(world.a.users[Role.RSSI])
    assert (
        other.post(f"/registers/import/{import_id}/confirm", data={"fingerprint": fingerprint}).status_code
        == 403
    )
    referent = login_as(world.a.users[Role.REFERENT])
    assert (
        referent.post(f"/registers/import/{import_id}/confirm", data={"fingerprint": fingerprint}).status_code
        == 404
    )
    assert referent.get(f"/registers/import/{import_id}").status_code == 404
    assert counts(session) == before
    assert (
        client.post(f"/registers/import/{import_id}/confirm", data={"fingerprint": fingerprint}).status_code
        == 302
    )
    assert _fiche(session, "TRT-002").purpose == "Changée"


def test_confirming_twice_says_already_imported_with_a_link(
    world: Any, register: Any, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    rows = _export(client)
    rows[2][rows[0].index("Finalité principale")] = "Changée"
    response, import_id = upload_and_map(client, session, csv_body(rows), "registre.csv")
    page = response.get_data(as_text=True)
    assert confirm(client, import_id, page).status_code == 302
    before = counts(session)
    again = confirm(client, import_id, page)
    assert again.status_code == 302
    assert again.location.endswith(f"/registers/import/{import_id}")
    result = client.get(again.location).get_data(as_text=True)
    assert "Ce fichier a déjà été importé" in result
    assert "Déjà importé" in result
    assert "délai dépassé" not in result
    assert 'href="/registers/activities/"' in result  # the link to the result
    assert "1 modifiée(s)" in result
    assert counts(session) == before


def test_a_wrong_file_type_is_refused_with_a_message(world: Any, login_as: Any, session: Any) -> None:
    client = login_as(world.a.users[Role.DPO])
    response = _upload(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "registre.xlsx")
    assert response.status_code == 422
    assert "n&#39;est pas un tableur lisible" in response.get_data(as_text=True)
    response = _upload(client, b"%PDF-1.7\n", "registre.pdf")
    assert response.status_code == 422
    assert "Seuls les fichiers .csv, .xlsx et .ods sont acceptés." in response.get_data(as_text=True)
    response = _upload(client, b"PK\x03\x04" + b"\0" * 100, "registre.xlsx")
    assert response.status_code == 422
    assert "illisible" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(RegisterImport.id)).execution_options(**UNSCOPED)) == 0


def test_the_reader_cannot_import(world: Any, login_as: Any) -> None:
    client = login_as(world.a.users[Role.READER])
    assert client.get("/registers/import").status_code == 403
    assert _upload(client, b"x", "r.csv").status_code == 403
    assert client.post("/registers/import/1/confirm", data={"fingerprint": "y"}).status_code == 403
    assert client.post("/registers/export.csv").status_code == 200  # reading the register is allowed


def test_the_export_is_a_post_and_the_import_page_renders(world: Any, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO])
    assert client.get("/registers/export.csv").status_code == 405  # a GET never journals
    response = client.get("/registers/import")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert '<form method="post" action="/registers/export.xlsx"' in page
    assert "20 Mo et 10\u202f000 fiches au plus" in page  # the limits, stated on the form


def test_every_demo_register_round_trips_unchanged(app_ctx: Flask) -> None:
    """The demo's registers (models, inherited entries, every field) survive export → import → export."""
    import registers.demo  # noqa: F401, PLC0415 — its loader joins `flask demo load`

    run_demo_loaders()
    organisations = list(db.session.scalars(select(Organisation).execution_options(**UNSCOPED)))
    assert len(organisations) > 10
    rows = 0
    for index, org in enumerate(organisations):
        bind_session(org.id)
        for fmt in ("csv", "xlsx") if index < 3 else ("csv",):
            body = exchange.export_register(org, None, fmt).body
            plan = plan_of(org, body, f"registre.{fmt}", may_validate=True)
            assert plan.errors == [], (org.name, plan.errors[:3])
            assert (plan.created, plan.updated) == (0, 0), org.name
            assert exchange.export_register(org, None, fmt).body == body, org.name
            rows += plan.unchanged
    assert rows > 300


# --- Excel's cell limit ---------------------------------------------------------------------------


def test_xlsx_export_names_the_cells_too_long_for_excel_and_offers_csv(
    world: Any, app: Flask, login_as: Any, register: Any
) -> None:
    """Excel holds 32,767 characters (UTF-16 units) in a cell: never cut, the XLSX export answers
    with a page naming the fiches and fields, writes no journal entry, and the CSV holds everything."""
    long_purpose = "Finalité détaillée. " * 2_000  # 40,000 characters
    emoji = "🙂" * 16_384  # 16,384 characters, but 32,768 UTF-16 units: one too many for Excel
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        db.session.get(ProcessingActivity, register["TRT-002"]).purpose = long_purpose
        db.session.get(ProcessingActivity, register["TRT-001"]).sensitive_details = emoji
        db.session.commit()
    client = login_as(world.a.users[Role.DPO])
    exports_before = _export_events(app)
    response = client.post("/registers/export.xlsx")
    assert response.status_code == 422
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    page = response.get_data(as_text=True)
    assert "Export XLSX impossible" in page
    assert "2 textes dépassent ce qu'une cellule Excel peut contenir (32 767 caractères)." in page
    rows = re.findall(
        r"<tr>\s*<td><a href=\"([^\"]+)\">([^<]+)</a></td>\s*<td[^>]*>([^<]+)</td>\s*"
        r"<td[^>]*>([^<]+)</td>",
        page,
    )
    assert rows == [
        (f"/registers/activities/{register['TRT-001']}", "TRT-001", "Précisions données sensibles", "32 768"),
        (f"/registers/activities/{register['TRT-002']}", "TRT-002", "Finalité principale", "40 000"),
    ]
    # The CSV export offered: its own POST form, holding the button.
    assert re.search(
        r'action="/registers/export\.csv"[^>]*>\s*<input[^>]*csrf_token[^>]*>\s*<button[^>]*'
        r'id="export-csv-instead">Exporter en CSV</button>',
        page,
    )
    assert _export_events(app) == exports_before  # nothing journalled: nothing was exported
    # The CSV export has no limit: every character is there.
    csv_response = client.post("/registers/export.csv")
    assert csv_response.status_code == 200
    rows_csv = csv_rows(csv_response.data)
    assert cell(rows_csv, "TRT-002", "Finalité principale") == long_purpose
    assert cell(rows_csv, "TRT-001", "Précisions données sensibles") == emoji
    assert _export_events(app) == exports_before + 1


def test_a_cell_at_excels_limit_is_exported_whole(as_dpo: Any, register: Any) -> None:
    text = "x" * 32_767
    db.session.get(ProcessingActivity, register["TRT-002"]).purpose = text
    db.session.flush()
    rows = _sheet(exchange.export_register(as_dpo, None, "xlsx").body)
    header = list(rows[0])
    purposes = {row[0]: row[header.index("Finalité principale")] for row in rows[1:]}
    assert purposes["TRT-002"] == text


def _export_events(app: Flask) -> int:
    with app.app_context():
        query = select(func.count(AuditEvent.id)).where(AuditEvent.action == "register.export")
        return int(db.session.scalar(query.execution_options(**UNSCOPED)) or 0)
