"""The mapping step of the register import, on the files DPOs keep: the CNIL register model kept in
columns (CSV in Windows-1252 with ";", the same rows as XLSX and ODS), a Madis treatments export
(UTF-8 with a BOM, ","), and Égide's own export imported into another organisation. Then every kind
of bad cell reported in one pass, nothing cut, dates kept, applications matched by name, presets.
Fixtures: tests/registers/fixtures/ (written for these tests from the public models)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from core.db import PARIS
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from core.tenancy import UNSCOPED, bind_session
from registers.models import ImportPreset, ProcessingActivity
from registers.services import activities as acts
from registers.services import exchange
from registers.services.exchange import cells, targets
from tests.conftest import World, acting_as
from tests.registers import test_exchange as ex

FIXTURES = Path(__file__).parent / "fixtures"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _rows_of_csv(body: bytes, encoding: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(encoding), newline=""), delimiter=delimiter))


def _xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Registre des traitements"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _ods(rows: list[list[str]]) -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice writes, reduced to its cells)."""
    body = "".join(
        "<table:table-row>"
        + "".join(
            '<table:table-cell office:value-type="string"><text:p>'
            + "</text:p><text:p>".join(escape(line) for line in value.split("\n"))
            + "</text:p></table:table-cell>"
            if value
            else "<table:table-cell/>"
            for value in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="Registre">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _plan(org: Any, body: bytes, filename: str, mapping: list[str] | None = None) -> Any:
    table = exchange.read_table(body, filename)
    return table, exchange.plan_import(
        org,
        table,
        mapping if mapping is not None else exchange.propose(table.header),
        filename=filename,
        sha256=hashlib.sha256(body).hexdigest(),
        may_validate=True,
    )


def _fiche(reference: str) -> ProcessingActivity:
    return db.session.scalar(
        select(ProcessingActivity)
        .where(ProcessingActivity.reference == reference)
        .execution_options(**UNSCOPED, populate_existing=True)
    )


@pytest.fixture
def syndicate(world: World, app: Flask) -> Any:
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        yield db.session.merge(world.a.syndicate)


# --- the CNIL register model, kept in columns ---------------------------------------------------


def test_the_cnil_layout_is_mapped_by_its_headers(syndicate: Any) -> None:
    table = exchange.read_table(_read("cnil_registre.csv"), "cnil_registre.csv")
    assert (table.encoding, table.delimiter) == ("cp1252", ";")
    proposal = dict(zip(table.header, exchange.propose(table.header), strict=True))
    assert proposal == {
        "N° / REF": "reference",
        "Nom / sigle": "name",
        "Date de création": "declared_created_on",
        "Mise à jour": "declared_updated_on",
        "Responsable(s) conjoint(s)": "joint_controllers",
        "Finalité principale": "purpose",
        "Sous-finalité 1": "sub_purposes",
        "Sous-finalité 2": "sub_purposes",
        "Base légale": "legal_basis",
        "Catégories de personnes concernées": "data_subjects",
        "État civil, identité, données d'identification, images": "category:etat_civil:details",
        "Vie personnelle": "category:vie_personnelle:details",
        "Données de connexion": "category:connexion:details",
        "Durée de conservation": "retention:active",
        "Données sensibles": "sensitive_data",
        "Destinataires internes": "recipient:interne",
        "Organismes externes": "recipient:organisme_externe",
        "Sous-traitants": "recipient:sous_traitant",
        "Transferts hors UE": "transfers",
        "Contrôle d'accès des utilisateurs": "measure:controle_acces",
        "Mesures de traçabilité": "measure:tracabilite",
        "Sauvegarde des données": "measure:sauvegarde",
        "Chiffrement des données": "measure:chiffrement",
        "Logiciels": "applications",
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_a_cnil_layout_register_imports_with_every_value_read(syndicate: Any, fmt: str) -> None:
    body = _read("cnil_registre.csv")
    if fmt != "csv":
        rows = _rows_of_csv(body, "cp1252", ";")
        body = _xlsx(rows) if fmt == "xlsx" else _ods(rows)
    _table, plan = _plan(syndicate, body, f"cnil_registre.{fmt}")
    assert plan.errors == []
    assert (plan.created, plan.updated, plan.unchanged) == (3, 0, 0)
    exchange.apply_import(syndicate, None, plan)
    db.session.flush()
    paie, ecole, lettre = _fiche("RH-01"), _fiche("EDU-02"), _fiche("COM-03")
    assert paie.name == "Gestion de la paie"
    assert paie.legal_basis == "6.1.c"  # "Obligation légale"
    assert ecole.legal_basis == "6.1.e"  # "Art. 6(1)(e)"
    assert lettre.legal_basis == "6.1.f"  # "Intérêt légitime" (the reference list says "Intérêts légitimes")
    assert paie.sub_purposes == ["Bulletins de paie", "Déclarations sociales"]
    assert paie.data_subjects == ["agents"]
    assert ecole.data_subjects == ["enfants_mineurs", "representants_legaux"]
    assert paie.data_categories == [
        {
            "category": "etat_civil",
            "details": "nom, prénom, adresse",
            "active": "5 ans",
            "intermediate": None,
            "final": None,
        },
        {
            "category": "vie_personnelle",
            "details": "situation familiale",
            "active": "5 ans",
            "intermediate": None,
            "final": None,
        },
    ]
    assert paie.recipients == [
        {
            "type": "interne",
            "name": "Service des ressources humaines",
            "organisation_id": None,
            "processor_id": None,
        },
        {"type": "organisme_externe", "name": "URSSAF", "organisation_id": None, "processor_id": None},
        {"type": "organisme_externe", "name": "Trésor public", "organisation_id": None, "processor_id": None},
        {
            "type": "sous_traitant",
            "name": "Éditeur du logiciel de paie",
            "organisation_id": None,
            "processor_id": None,
        },
    ]
    assert paie.transfers == []  # "Non": no transfer
    assert paie.security_measures == [
        {"measure": "controle_acces", "details": None},  # "Oui"
        {"measure": "tracabilite", "details": None},  # "x"
        {"measure": "sauvegarde", "details": "Sauvegarde quotidienne chiffrée"},  # text: the precisions
    ]  # "Chiffrement des données": "non"
    assert [a.name for a in paie.applications] == ["Application A"]
    # The register's own dates are kept as declared (JJ/MM/AAAA, ISO, an Excel serial number).
    assert (paie.declared_created_on, paie.declared_updated_on) == (date(2019, 3, 12), date(2024, 1, 5))
    assert ecole.declared_created_on == date(2020, 9, 1)
    assert lettre.declared_created_on == date(2023, 1, 1)  # Excel's day 44927
    assert paie.created_at.date() != date(2019, 3, 12)  # Égide's own history is its own


def test_a_bulk_import_keeps_the_register_figures(syndicate: Any) -> None:
    """The fiches of an import go in by one Core INSERT: the figures the database keeps follow."""
    from tests.registers.test_register_figures import _from_fiches, _kept  # noqa: PLC0415

    _table, plan = _plan(syndicate, _read("cnil_registre.csv"), "cnil_registre.csv")
    before = _kept(db.session).get(syndicate.id, (0,))[0]
    exchange.apply_import(syndicate, None, plan)
    db.session.flush()
    assert _kept(db.session)[syndicate.id][0] == before + 3
    assert _kept(db.session) == _from_fiches(db.session)


def test_the_mapping_page_shows_each_columns_examples_once(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO])
    response = ex._upload(client, _read("cnil_registre.csv"), "cnil_registre.csv")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    helps = re.findall(r'<div id="col_\d+-help" class="form-text text-break">(.*?)</div>', page, re.S)
    assert len(helps) == 24
    assert helps[0] == 'Exemples : <span lang="fr">RH-01 ; EDU-02 ; COM-03</span>'
    assert "Colonne vide" in helps  # "Responsable(s) conjoint(s)" is empty in the file
    assert all(h.count("Exemples") == 1 for h in helps if h != "Colonne vide"), helps


def test_the_declared_dates_are_shown_on_the_fiche_beside_egides_history(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    response, import_id = ex.upload_and_map(client, session, _read("cnil_registre.csv"), "cnil_registre.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert ex.confirm(client, import_id, response.get_data(as_text=True)).status_code == 302
    fiche = ex._fiche(session, "RH-01")
    page = client.get(f"/registers/activities/{fiche.id}").get_data(as_text=True)
    assert "Dates déclarées par le registre importé" in page
    assert "12 mars 2019" in page
    assert "dans Égide : créée le" in page


# --- a Madis export --------------------------------------------------------------------------


def test_a_madis_export_is_mapped_and_imported(syndicate: Any) -> None:
    body = _read("madis_traitements.csv")
    table, plan = _plan(syndicate, body, "madis_traitements.csv")
    assert (table.encoding, table.delimiter) == ("utf-8-sig", ",")
    proposal = dict(zip(table.header, plan.mapping, strict=True))
    assert proposal["Nom"] == "name"
    assert proposal["Finalités"] == "purpose"
    assert proposal["Base légale"] == "legal_basis"
    assert proposal["Historique - Date de création"] == "declared_created_on"
    assert proposal["Historique - Date de modification"] == "declared_updated_on"
    assert proposal["Détails - Personnes concernées - Salariés"] == "subject:agents"
    assert proposal["Mesures de sécurité et confidentialité - Contrôle d'accès - Commentaire"] == (
        "measure:controle_acces"
    )
    assert proposal["Organisation - Nom"] == ""  # nothing of the fiche: ignored, and said so
    assert plan.errors == []
    ignored = {w.column for w in plan.warnings if w.line == 1}
    assert {"Organisation - Nom", "Gestionnaire", "Destination - Catégorie de destinataires"} <= ignored
    exchange.apply_import(syndicate, None, plan)
    db.session.flush()
    listes = db.session.scalar(
        select(ProcessingActivity).where(ProcessingActivity.name == "Gestion des listes électorales")
    )
    assert listes.reference.startswith("TRT-")  # no reference column: the next ones
    assert listes.legal_basis == "6.1.c"  # "L'obligation légale"
    assert listes.legal_basis_text == "Code électoral, art. L16"
    assert listes.data_subjects == ["usagers"]
    assert listes.data_subjects_other == "électeurs inscrits"
    assert listes.security_measures == [
        {"measure": "controle_acces", "details": "Comptes nominatifs"},
        {"measure": "sauvegarde", "details": None},
    ]
    assert listes.data_categories == [
        {
            "category": "autres",
            "details": "Identité - Adresse postale",
            "active": "6 ans",
            "intermediate": None,
            "final": "Destruction",
        }
    ]
    assert (listes.declared_created_on, listes.declared_updated_on) == (date(2021, 4, 3), date(2023, 10, 10))
    video = db.session.scalar(select(ProcessingActivity).where(ProcessingActivity.name == "Vidéoprotection"))
    assert video.legal_basis == "6.1.e"  # "L'exécution d'une mission d'intérêt public"
    assert video.data_subjects == ["agents", "usagers"]
    assert video.recipients == [
        {
            "type": "sous_traitant",
            "name": "Installateur des caméras",
            "organisation_id": None,
            "processor_id": None,
        }
    ]


# --- Égide's own export, into another organisation -----------------------------------------------


def test_an_export_imported_into_another_organisation_keeps_dates_and_matches_applications(
    world: World, app: Flask
) -> None:
    a, b = world.a, world.b
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        org_a = db.session.merge(a.syndicate)
        acts.create_activity(
            org_a, None, {"reference": "TRT-001", "name": "Paie", "application_ids": [a.application.id]}
        )
        acts.create_activity(org_a, None, {"reference": "TRT-002", "name": "État civil"})
        body = exchange.export_register(org_a, None, "xlsx").body
        created_on = _fiche("TRT-001").created_at
    # B's catalogue has its own "Application B"; its member subscribes to it.
    with app.test_request_context(), acting_as(b.users[Role.DPO], b.syndicate):
        bind_session(b.member.id)
        member = db.session.merge(b.member)
        table = exchange.read_table(body, "registre.xlsx")
        assert set(exchange.propose(table.header)) - {""} <= set(targets.by_key())
        plan = exchange.plan_import(
            member, table, exchange.propose(table.header), filename="r.xlsx", sha256="0", may_validate=True
        )
        assert plan.errors == []
        assert (plan.created, plan.updated) == (2, 0)
        # "Application A" is not in B's subscriptions: a warning at its cell, the fiche imports without it.
        assert [(w.line, w.column, w.value) for w in plan.warnings] == [(2, "Applications", "Application A")]
        exchange.apply_import(member, None, plan)
        db.session.flush()
        paie = db.session.scalar(
            select(ProcessingActivity).where(
                ProcessingActivity.organisation_id == member.id, ProcessingActivity.reference == "TRT-001"
            )
        )
        assert paie.applications == []
        # The export writes the day in France, not in UTC (they differ from 23:00 or 22:00 UTC).
        assert paie.declared_created_on == created_on.astimezone(PARIS).date()
        # The same name as B's subscribed application is linked.
        header = list(exchange.headers())
        row = [""] * len(header)
        row[header.index("Nom du traitement")] = "Cantine"
        row[header.index("Applications")] = "application b"
        _table, plan = _plan(member, ex.csv_body([header, row]), "r.csv")
        assert plan.warnings == []
        assert plan.errors == []
        exchange.apply_import(member, None, plan)
        cantine = db.session.scalar(select(ProcessingActivity).where(ProcessingActivity.name == "Cantine"))
        assert [app_.name for app_ in cantine.applications] == ["Application B"]


def test_an_update_never_empties_the_applications_of_a_fiche(syndicate: Any, world: World) -> None:
    acts.create_activity(
        syndicate, None, {"reference": "TRT-009", "name": "Paie", "application_ids": [world.a.application.id]}
    )
    body = ex.csv_body([["Référence", "Applications"], ["TRT-009", "Logiciel inconnu"]])
    table = exchange.read_table(body, "r.csv")
    plan = exchange.plan_import(
        syndicate, table, ["reference", "applications"], filename="r.csv", sha256="0", may_validate=True
    )
    assert [w.value for w in plan.warnings] == ["Logiciel inconnu"]
    assert "Les applications déjà reliées à la fiche sont conservées." in plan.warnings[0].message
    assert (plan.updated, plan.unchanged) == (0, 1)
    assert [a.name for a in _fiche("TRT-009").applications] == ["Application A"]


# --- one pass: every problem, nothing cut ---------------------------------------------------------


def test_every_kind_of_bad_cell_is_reported_in_one_pass_with_line_column_and_value(syndicate: Any) -> None:
    header = [
        "Nom / sigle",
        "Base légale",
        "Base juridique",
        "Mise à jour",
        "Durée de conservation",
        "Données de connexion",
        "Agents",
        "Statut",
        "Finalité principale",
        "Catégories de personnes concernées",
    ]
    good = [
        "Fiche correcte",
        "6.1.c",
        "",
        "01/02/2024",
        "5 ans",
        "journaux",
        "oui",
        "Brouillon",
        "Texte",
        "Élus",
    ]
    rows = [
        header,
        good,
        ["Date impossible", "6.1.c", "", "31/02/2024", "", "", "", "", "", ""],
        ["Durée négative", "6.1.c", "", "", "-3 ans", "journaux", "", "", "", ""],
        ["Durée sans unité", "6.1.c", "", "", "3", "journaux", "", "", "", ""],
        ["Base inconnue", "Bon vouloir du maire", "", "", "", "", "", "", "", ""],
        ["Oui ou non", "6.1.c", "", "", "", "", "peut-être", "", "", ""],
        ["Statut inconnu", "6.1.c", "", "", "", "", "", "Terminé", "", ""],
        ["N" * 201, "6.1.c", "", "", "", "", "", "", "", ""],
        ["Finalité trop longue", "6.1.c", "", "", "", "", "", "", "x" * (acts.MAX_TEXT + 1), ""],
        ["Personnes inconnues", "6.1.c", "", "", "", "", "", "", "", "Martiens"],
        ["", "6.1.c", "", "", "", "", "", "", "", ""],
        ["Durée sans catégorie", "6.1.c", "", "", "2 ans", "", "", "", "", ""],
    ]
    mapping = exchange.propose(header)
    assert mapping[2] == ""  # Égide proposes one column per single field…
    mapping[2] = "legal_basis"  # …a DPO choosing two is told so, with the rows' errors
    _table, plan = _plan(syndicate, ex.csv_body(rows), "r.csv", mapping)
    found = [(e.line, e.column, e.value[:30]) for e in plan.errors]
    assert found == [
        (1, "Base juridique", "Base juridique"),  # a header problem, reported with the rows'
        (3, "Mise à jour", "31/02/2024"),
        (4, "Durée de conservation", "-3 ans"),
        (5, "Durée de conservation", "3"),
        (6, "Base légale", "Bon vouloir du maire"),
        (7, "Agents", "peut-être"),
        (8, "Statut", "Terminé"),
        (9, "Nom / sigle", "N" * 30),
        (10, "Finalité principale", "x" * 30),
        (11, "Catégories de personnes concernées", "Martiens"),
        (12, "Nom / sigle", ""),
        (13, "Durée de conservation", "2 ans"),
    ]
    messages = {e.line: e.message for e in plan.errors}
    assert "n'existe pas dans le calendrier" in messages[3]
    assert "une durée est positive" in messages[4]
    assert "précisez l'unité" in messages[5]
    assert "201 caractères, au-delà de la limite de 200" in messages[9]
    assert "Rien n'est coupé" in messages[10]
    assert plan.errors[8].value_shown.endswith(
        f"({acts.MAX_TEXT + 1} caractères)"
    )  # shown shortened, said so
    assert not plan.can_confirm


def test_nothing_is_cut_a_long_security_measure_is_kept_whole(syndicate: Any) -> None:
    long = "Mesure détaillée. " * 127  # 2,286 characters, as in the register
    too_long = "y" * (acts.MAX_ITEM_TEXT + 1)
    body = ex.csv_body(
        [
            ["Nom / sigle", "Sauvegarde des données"],
            ["Avec mesure longue", long],
            ["Avec mesure trop longue", too_long],
        ]
    )
    _table, plan = _plan(syndicate, body, "r.csv")
    assert [(e.line, e.column) for e in plan.errors] == [(3, "Sauvegarde des données")]
    assert "au-delà de la limite de 10000" in plan.errors[0].message
    _table, plan = _plan(
        syndicate,
        ex.csv_body([["Nom / sigle", "Sauvegarde des données"], ["Avec mesure longue", long]]),
        "r.csv",
    )
    exchange.apply_import(syndicate, None, plan)
    fiche = db.session.scalar(
        select(ProcessingActivity).where(ProcessingActivity.name == "Avec mesure longue")
    )
    assert fiche.security_measures == [{"measure": "sauvegarde", "details": long.strip()}]
    assert len(fiche.security_measures[0]["details"]) == len(long.strip()) > 2000


def test_the_form_path_no_longer_cuts_either(syndicate: Any) -> None:
    with pytest.raises(FieldError, match="201 caractères"):
        acts.create_activity(syndicate, None, {"name": "x" * 201})
    fiche = acts.create_activity(
        syndicate, None, {"name": "Sous-finalité longue", "sub_purposes": ["s" * 1500]}
    )
    assert fiche.sub_purposes == ["s" * 1500]  # was cut at 500


def test_a_bulk_import_writes_what_the_single_writer_writes(syndicate: Any, world: World) -> None:
    """Same content, status rule, version 1, published version and journal entry as create_activity."""
    data = {
        "reference": "ONE-1",
        "name": "Fiche",
        "status": "validated",
        "purpose": "P",
        "legal_basis": "6.1.e",
        "application_ids": [world.a.application.id],
    }
    single = acts.create_activity(syndicate, None, data)
    row = exchange.importing.PlannedRow(
        2, "BULK-1", "Fiche", "create", data={**acts.normalise(data), "reference": "BULK-1"}
    )
    (bulk_id,) = exchange.importing.create_many(syndicate, None, [row])
    bulk = db.session.get(ProcessingActivity, bulk_id)
    skip = {"reference"}
    assert {k: v for k, v in acts.snapshot_json(bulk, acts.ALL_FIELDS).items() if k not in skip} == {
        k: v for k, v in acts.snapshot_json(single, acts.ALL_FIELDS).items() if k not in skip
    }
    for name in ("status", "completeness", "is_dpia_required", "has_sensitive_data", "sort_name", "version"):
        assert getattr(bulk, name) == getattr(single, name), name
    assert [a.id for a in bulk.applications] == [world.a.application.id]
    assert acts.validated_version_id(bulk) is not None
    assert [v.number for v in acts.versions_of(bulk)] == [1]
    from core.audit import AuditEvent, verify  # noqa: PLC0415

    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "ProcessingActivity", AuditEvent.object_id.in_([single.id, bulk_id])
        )
    ).all()
    assert sorted(e.action for e in events) == ["activity.create", "activity.create"]
    assert all(verdict.ok for verdict in verify())  # the chain holds with the bulk entries


# --- presets ---------------------------------------------------------------------------------


def test_a_mapping_saved_as_a_preset_is_proposed_for_the_next_file(
    world: World, login_as: Any, session: Any
) -> None:
    client = login_as(world.a.users[Role.DPO])
    body = ex.csv_body([["Intitulé maison", "Texte maison"], ["Paie", "Payer"]])
    response = ex._upload(client, body, "maison.csv")
    import_id = int(response.location.rsplit("/", 1)[1])
    record = ex._import_of(session, import_id)
    assert record.mapping == ["", ""]  # unknown headers: ignored until the DPO chooses
    data = {
        "col_0": "name",
        "col_1": "purpose",
        "version": str(record.version),
        "preset_name": "Tableur maison",
    }
    preview = client.post(f"/registers/import/{import_id}/preview", data=data)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    preset = session.scalar(select(ImportPreset).execution_options(**UNSCOPED))
    assert preset.name == "Tableur maison"
    assert preset.mapping == {"intitule maison": "name", "texte maison": "purpose"}
    second = ex._upload(client, ex.csv_body([["Texte maison", "INTITULÉ MAISON"], ["x", "y"]]), "maison2.csv")
    page = client.get(f"{second.location}?preset={preset.id}").get_data(as_text=True)
    assert '<option selected value="purpose">' in page
    assert '<option selected value="name">' in page
    assert "Tableur maison" in client.get("/registers/import").get_data(as_text=True)
    # Another organisation's DPO does not see it, and cannot apply or delete it.
    other = login_as(world.b.users[Role.DPO])
    assert "Tableur maison" not in other.get("/registers/import").get_data(as_text=True)
    assert (
        other.post(f"/registers/import/presets/{preset.id}/delete", data={"version": "1"}).status_code == 404
    )
    assert (
        client.post(
            f"/registers/import/presets/{preset.id}/delete", data={"version": str(preset.version)}
        ).status_code
        == 302
    )
    assert session.scalar(select(ImportPreset).execution_options(**UNSCOPED)) is None


# --- values read where their meaning is certain ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "basis"),
    [
        ("Intérêt légitime", "6.1.f"),
        ("intérêts légitimes", "6.1.f"),
        ("L'intérêt légitime", "6.1.f"),
        ("6.1.f", "6.1.f"),
        ("Art. 6(1)(f)", "6.1.f"),
        ("article 6-1-f du RGPD", "6.1.f"),
        ("6.1.e - Mission d'intérêt public", "6.1.e"),
        ("Mission d'intérêt public", "6.1.e"),
        ("L'exécution d'une mission d'intérêt public", "6.1.e"),
        ("obligation legale", "6.1.c"),
        ("Le consentement", "6.1.a"),
        ("L'exécution d'un contrat", "6.1.b"),
        ("L'intérêt vital", "6.1.d"),
        ("Legitimate interests", "6.1.f"),
        ("À déterminer", None),
    ],
)
def test_legal_basis_wordings(app_ctx: Flask, text: str, basis: str | None) -> None:
    assert cells.decode_legal_basis(text) == basis


@pytest.mark.parametrize("text", ["Intérêt du maire", "6.1.g", "Article 9", "Mission"])
def test_an_uncertain_legal_basis_is_an_error(app_ctx: Flask, text: str) -> None:
    with pytest.raises(cells.CellError):
        cells.decode_legal_basis(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("oui", True),
        ("Non", False),
        ("x", True),
        ("X", True),
        ("yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("", None),
    ],
)
def test_yes_no(app_ctx: Flask, text: str, value: bool | None) -> None:
    assert cells.decode_yes_no(text) is value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("05/01/2024", date(2024, 1, 5)),
        ("5/1/2024", date(2024, 1, 5)),
        ("05.01.2024", date(2024, 1, 5)),
        ("2024-01-05", date(2024, 1, 5)),
        ("2024-01-05T10:30:00", date(2024, 1, 5)),
        ("05/01/2024 10:30", date(2024, 1, 5)),
        ("45296", date(2024, 1, 5)),
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_dates(app_ctx: Flask, text: str, value: date) -> None:
    assert cells.decode_date(text) == value


@pytest.mark.parametrize("text", ["31/02/2024", "29/02/2023", "2024-13-01", "demain", "05/01/24", "0"])
def test_impossible_or_unreadable_dates_are_errors(app_ctx: Flask, text: str) -> None:
    with pytest.raises(cells.CellError):
        cells.decode_date(text)


@pytest.mark.parametrize(
    "text", ["5 ans", "6 mois", "durée de la scolarité", "30 jours après la clôture", "1 an"]
)
def test_readable_durations(app_ctx: Flask, text: str) -> None:
    assert cells.check_duration(text) == text


@pytest.mark.parametrize("text", ["-3 ans", "0 an", "3", "- 2 mois", "12,5"])
def test_negative_or_unitless_durations_are_errors(app_ctx: Flask, text: str) -> None:
    with pytest.raises(cells.CellError):
        cells.check_duration(text)


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")]
)
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_csv_encodings_and_separators(app_ctx: Flask, encoding: str, bom: bytes, delimiter: str) -> None:
    text = (
        delimiter.join(["Nom / sigle", "Finalité principale"])
        + "\r\n"
        + delimiter.join(["Élections", "Œuvres €"])
        + "\r\n"
    )
    if encoding == "latin-1":
        text = text.replace("Œuvres €", "Ça va")  # what Latin-1 can hold
    table = exchange.read_table(bom + text.encode(encoding), "r.csv")
    assert table.delimiter == delimiter
    assert table.header == ["Nom / sigle", "Finalité principale"]
    assert table.rows[0][1][0] == "Élections"
