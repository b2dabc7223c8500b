"""The guards of the register import, through the import pages where possible: a failure at
confirmation writes nothing (the view rolls back), the size limits (request, uploaded file,
decompressed workbook), the row limit (CSV and XLSX, 10,000 fiches read, 10,001 refused), and the
kept cells: encrypted in the database, bound to their user, deleted after confirmation, after
abandonment and after expiry (at the next upload, or by ``flask registers purge-imports``)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import openpyxl
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import RegisterImport
from registers.services import activities as acts
from registers.services import exchange
from registers.services.exchange import importing, reading
from tests.conftest import World, acting_as
from tests.registers import test_exchange as ex

GONE = "n&#39;est plus disponible (délai dépassé)"
TOO_BIG = "Le fichier dépasse 20 Mo."
TOO_MANY = "Le fichier compte plus de 10\u202f000 fiches"
BOMB = "Le classeur est trop volumineux une fois décompressé."
PURPOSE = "Paie et carrière"


@pytest.fixture
def fiche(world: World, app: Flask) -> None:
    """TRT-002 in tenant A's syndicate register."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        acts.create_activity(db.session.merge(a.syndicate), None, {**ex.TRT_002, "purpose": PURPOSE})
        db.session.commit()


@pytest.fixture
def dpo(world: World, login_as: Any, fiche: None) -> FlaskClient:
    return login_as(world.a.users[Role.DPO])


def _upload(client: FlaskClient, body: bytes, name: str) -> Any:
    """Post a file to the import page. The multipart body is built in memory: the test client would
    spool a large one to a temporary file that it never closes (a ResourceWarning)."""
    boundary, data = encode_multipart({"file": FileStorage(io.BytesIO(body), filename=name)})
    return client.post(
        "/registers/import", data=data, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _new_row(header: list[str], reference: str) -> list[str]:
    row = [""] * len(header)
    row[header.index("Référence")] = reference
    row[header.index("Nom du traitement")] = f"Fiche {reference}"
    return row


def _csv_of(count: int, **cells: str) -> bytes:
    """A register file creating ``count`` fiches; ``cells`` fill columns of the first one."""
    header = list(exchange.headers())
    rows = [_new_row(header, f"NEW-{n}") for n in range(1, count + 1)]
    for name, value in cells.items():
        rows[0][header.index(name)] = value
    return ex.csv_body([header, *rows])


def _short_csv(count: int) -> bytes:
    """``count`` fiches in two columns (the row limit does not depend on the width)."""
    return ex.csv_body(
        [["Référence", "Nom du traitement"], *([f"NEW-{n}", f"Fiche {n}"] for n in range(1, count + 1))]
    )


def _short_xlsx(count: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Registre")
    sheet.append(["Référence", "Nom du traitement"])
    for n in range(1, count + 1):
        sheet.append([f"NEW-{n}", f"Fiche {n}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _state(session: Any) -> dict[str, Any]:
    """What an import may write, read afresh: TRT-002's purpose, the new fiches, versions and journal."""
    trt = ex._fiche(session, "TRT-002")
    return {
        "purpose": trt.purpose,
        "new": [r for r in ("NEW-1", "NEW-2", "NEW-3") if ex._fiche(session, r) is not None],
        "counts": ex.counts(session),
    }


def _kept(session: Any) -> list[tuple[str, bool]]:
    """Every import row: its status and whether it still holds the file's cells."""
    rows = session.execute(
        select(RegisterImport.status, RegisterImport.payload)
        .order_by(RegisterImport.id)
        .execution_options(**UNSCOPED, populate_existing=True)
    ).all()
    return [(status.value, payload is not None) for status, payload in rows]


def _preview(client: FlaskClient, session: Any, body: bytes, name: str = "registre.csv") -> tuple[int, str]:
    response, import_id = ex.upload_and_map(client, session, body, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    return import_id, page


def _refused_upload(response: Any, message: str, session: Any) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:2000]
    assert message in page
    assert (
        session.scalar(select(func.count(RegisterImport.id)).execution_options(**UNSCOPED)) == 0
    )  # nothing kept


# --- a failure at confirmation writes nothing --------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        FieldError("name", "Panne simulée."),
        IntegrityError("INSERT …", {}, Exception("duplicate key")),
    ],
    ids=["invalid", "conflict"],
)
def test_a_failure_at_confirmation_rolls_back_every_row_written_before_it(
    dpo: FlaskClient, session: Any, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    rows = ex._export(dpo)
    header = rows[0]
    rows[1][header.index("Finalité principale")] = "Changée par l'import"  # TRT-002, updated first
    rows += [_new_row(header, "NEW-1"), _new_row(header, "NEW-2"), _new_row(header, "NEW-3")]
    import_id, page = _preview(dpo, session, ex.csv_body(rows))
    before = _state(session)
    assert before == {"purpose": PURPOSE, "new": [], "counts": before["counts"]}
    real = importing.create_many
    written = []

    def failing(org: Any, actor: Any, planned: Any) -> Any:
        written.extend(real(org, actor, planned))  # TRT-002 updated, the new fiches inserted…
        raise failure  # …then the failure

    monkeypatch.setattr(importing, "create_many", failing)
    response = ex.confirm(dpo, import_id, page)
    assert len(written) == 3
    assert response.status_code == 302
    assert response.location.endswith(f"/registers/import/{import_id}")
    assert "Rien n&#39;a été importé" in dpo.get(response.location).get_data(as_text=True)
    assert _state(session) == before
    assert _kept(session) == [("pending", True)]  # still there to try again


# --- size limits -------------------------------------------------------------------------------


def _oversized_csv() -> bytes:
    body = _csv_of(1, **{"Finalité principale": "x" * reading.MAX_UPLOAD_BYTES})
    assert len(body) > reading.MAX_UPLOAD_BYTES
    return body


def test_a_file_over_the_upload_limit_is_refused(dpo: FlaskClient, session: Any) -> None:
    assert reading.MAX_UPLOAD_BYTES == 20 * 1024 * 1024
    _refused_upload(_upload(dpo, _oversized_csv(), "registre.csv"), TOO_BIG, session)


def test_the_upload_form_refuses_an_oversized_file_by_itself(
    dpo: FlaskClient, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _oversized_csv()
    monkeypatch.setattr(reading, "MAX_UPLOAD_BYTES", 10**9)  # the reader's own check out of the way
    _refused_upload(_upload(dpo, body, "registre.csv"), TOO_BIG, session)


def test_the_reader_refuses_an_oversized_file_by_itself(app_ctx: Flask) -> None:
    # Whoever calls the service without the form (a script, another view) meets the same limit.
    with pytest.raises(exchange.ImportFileError, match=TOO_BIG):
        reading.read_table(_oversized_csv(), "registre.csv")


def test_a_request_over_the_request_limit_gets_the_413_page(
    app: Flask, dpo: FlaskClient, session: Any
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 21 * 1024 * 1024  # a 20 MB file and its form
    response = _upload(dpo, b"x" * (limit + 1), "registre.csv")
    assert response.status_code == 413
    assert "Fichier ou formulaire trop volumineux" in response.get_data(as_text=True)
    assert _kept(session) == []


def test_a_zip_bomb_is_refused_before_the_workbook_is_opened(dpo: FlaskClient, session: Any) -> None:
    body = io.BytesIO(dpo.post("/registers/export.xlsx").data)  # a genuine register workbook…
    with zipfile.ZipFile(body, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (reading.MAX_UNCOMPRESSED + 1))  # …inflated
    bomb = body.getvalue()
    assert len(bomb) < reading.MAX_UPLOAD_BYTES  # small on the wire
    _refused_upload(_upload(dpo, bomb, "registre.xlsx"), BOMB, session)


# --- row limit ---------------------------------------------------------------------------------


def test_a_csv_file_over_the_row_limit_is_refused(dpo: FlaskClient, session: Any) -> None:
    _refused_upload(_upload(dpo, _short_csv(reading.MAX_ROWS + 1), "registre.csv"), TOO_MANY, session)


def test_an_xlsx_file_over_the_row_limit_is_refused(dpo: FlaskClient, session: Any) -> None:
    _refused_upload(_upload(dpo, _short_xlsx(reading.MAX_ROWS + 1), "registre.xlsx"), TOO_MANY, session)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_at_the_row_limit_is_read(app_ctx: Flask, fmt: str) -> None:
    assert reading.MAX_ROWS == 10_000
    body = _short_csv(reading.MAX_ROWS) if fmt == "csv" else _short_xlsx(reading.MAX_ROWS)
    table = reading.read_table(body, f"registre.{fmt}")
    assert len(table.rows) == reading.MAX_ROWS
    assert table.rows[-1] == (reading.MAX_ROWS + 1, [f"NEW-{reading.MAX_ROWS}", f"Fiche {reading.MAX_ROWS}"])


# --- the kept cells: encrypted, bound to their user, deleted ------------------------------------


def test_the_kept_cells_are_encrypted(dpo: FlaskClient, session: Any) -> None:
    rows = ex._export(dpo)
    rows[1][rows[0].index("Finalité principale")] = "Secret de la commune"
    import_id, _page = _preview(dpo, session, ex.csv_body(rows))
    payload = ex._import_of(session, import_id).payload
    assert payload is not None
    assert b"Secret" not in payload
    assert b"TRT-002" not in payload


def test_the_kept_cells_are_gone_after_abandonment(dpo: FlaskClient, session: Any) -> None:
    import_id, _page = _preview(dpo, session, _csv_of(2))
    response = dpo.post(f"/registers/import/{import_id}/cancel")
    assert response.status_code == 302
    assert _kept(session) == [("cancelled", False)]
    assert dpo.post(f"/registers/import/{import_id}/preview", data={}).status_code == 302  # gone
    assert "a été supprimé" in dpo.get(f"/registers/import/{import_id}").get_data(as_text=True)


def test_a_new_upload_abandons_the_previous_pending_one(dpo: FlaskClient, session: Any) -> None:
    _preview(dpo, session, _csv_of(2))
    _preview(dpo, session, _csv_of(3))
    assert _kept(session) == [("cancelled", False), ("pending", True)]


def test_the_kept_cells_expire_and_are_cleared_at_the_next_upload(
    dpo: FlaskClient, session: Any, app: Flask
) -> None:
    assert app.config.get("REGISTER_IMPORT_TTL_MINUTES", 30) == 30
    rows = ex._export(dpo)
    rows[1][rows[0].index("Finalité principale")] = "Changée par l'import"
    import_id, page = _preview(dpo, session, ex.csv_body(rows))
    before = _state(session)
    start = utcnow()
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        # Still kept: read and planned again (a wrong fingerprint gets the new preview).
        assert (
            dpo.post(f"/registers/import/{import_id}/confirm", data={"fingerprint": "0" * 64}).status_code
            == 409
        )
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        # A page only reads: it says the file is gone, and the next upload (anyone's) clears it.
        assert "délai de confirmation est dépassé" in dpo.get(f"/registers/import/{import_id}").get_data(
            as_text=True
        )
        assert _kept(session) == [("pending", True)]
        other = ex.upload_and_map(dpo, session, _csv_of(1), "autre.csv")[1]
        assert _kept(session)[0] == ("expired", False)
        response = ex.confirm(dpo, import_id, page)
        assert response.status_code == 302
        assert response.location.endswith("/registers/import")
        assert GONE in dpo.get(response.location).get_data(as_text=True)
    assert _state(session) == before
    assert other != import_id


def test_the_confirmation_of_an_expired_import_clears_it(
    dpo: FlaskClient, session: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REGISTER_IMPORT_TTL_MINUTES", 1)
    import_id, page = _preview(dpo, session, _csv_of(1))
    with time_machine.travel(utcnow() + dt.timedelta(minutes=2), tick=False):
        response = ex.confirm(dpo, import_id, page)
    assert response.location.endswith("/registers/import")
    assert _kept(session) == [("expired", False)]
    assert ex._fiche(session, "NEW-1") is None


def test_the_purge_command_clears_expired_imports_of_every_organisation(
    dpo: FlaskClient, session: Any, app: Flask, world: World, login_as: Any
) -> None:
    _preview(dpo, session, _csv_of(1))
    _preview(login_as(world.b.users[Role.DPO]), session, _csv_of(1))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["registers", "purge-imports"])
    assert result.exit_code == 0, result.output
    assert _kept(session) == [("pending", True), ("pending", True)]  # not expired yet
    with time_machine.travel(utcnow() + dt.timedelta(minutes=31), tick=False):
        result = runner.invoke(args=["registers", "purge-imports"])
    assert result.exit_code == 0, result.output
    assert "2 import(s) expiré(s) supprimé(s)." in result.output
    assert _kept(session) == [("expired", False), ("expired", False)]


def test_the_purge_removes_files_left_by_the_old_import_folder(
    app: Flask, tmp_path: Any, monkeypatch: Any
) -> None:
    folder = tmp_path / "imports"
    folder.mkdir()
    (folder / "abc.upload").write_bytes(b"registre")
    (folder / "abc.json").write_text("{}")
    monkeypatch.setitem(app.config, "REGISTER_IMPORT_DIR", str(folder))
    result = app.test_cli_runner().invoke(args=["registers", "purge-imports"])
    assert result.exit_code == 0, result.output
    assert list(folder.iterdir()) == []


def test_an_unknown_or_foreign_import_id_is_404(
    dpo: FlaskClient, session: Any, world: World, login_as: Any
) -> None:
    import_id, page = _preview(dpo, session, _csv_of(1))
    for forged in (import_id + 1000, 0):
        assert dpo.get(f"/registers/import/{forged}").status_code == 404
        assert dpo.post(f"/registers/import/{forged}/confirm", data={"fingerprint": "x"}).status_code == 404
    other_dpo = login_as(world.b.users[Role.DPO])
    assert other_dpo.get(f"/registers/import/{import_id}").status_code == 404
    assert ex.confirm(other_dpo, import_id, page).status_code == 404
    assert _kept(session) == [("pending", True)]
