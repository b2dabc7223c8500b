"""The guards of the register import, through the import pages where possible: a failure at
confirmation writes nothing (the view rolls back), the size limits (request, uploaded file,
decompressed workbook), the row limit (CSV and XLSX), and the kept file's token (its format: no
path outside the folder; its expiry)."""

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
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from core.db import utcnow
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from registers.services import activities as acts
from registers.services import exchange
from registers.services.exchange import reading
from registers.services.exchange.columns import SHEET_REGISTER
from tests.conftest import World, acting_as
from tests.registers import test_exchange as ex

GONE = "n&#39;est plus disponible (délai dépassé)"
TOO_BIG = "Le fichier dépasse 5 Mo."
TOO_MANY = f"Le fichier compte plus de {reading.MAX_ROWS} fiches."
BOMB = "Le classeur est trop volumineux une fois décompressé."
PURPOSE = "Paie et carrière"


@pytest.fixture
def upload_dir(app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(app.config, "REGISTER_IMPORT_DIR", str(tmp_path / "imports"))
    return tmp_path / "imports"


@pytest.fixture
def fiche(world: World, app: Flask) -> None:
    """TRT-002 in tenant A's syndicate register."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.DPO], a.syndicate):
        acts.create_activity(db.session.merge(a.syndicate), None, {**ex.TRT_002, "purpose": PURPOSE})
        db.session.commit()


@pytest.fixture
def dpo(world: World, login_as: Any, fiche: None, upload_dir: Any) -> FlaskClient:
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


def _xlsx_of(count: int) -> bytes:
    header = list(exchange.headers())
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_REGISTER)
    sheet.append(header)
    for n in range(1, count + 1):
        sheet.append(_new_row(header, f"NEW-{n}"))
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


def _preview(client: FlaskClient, body: bytes, name: str = "registre.csv") -> tuple[str, str]:
    response = _upload(client, body, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:2000]
    return ex._hidden(page, "token"), ex._hidden(page, "fingerprint")


def _confirm(client: FlaskClient, token: str, fingerprint: str) -> Any:
    return client.post("/registers/import/confirm", data={"token": token, "fingerprint": fingerprint})


def _refused_back_to_the_form(client: FlaskClient, response: Any, message: str) -> None:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.location.endswith("/registers/import")
    assert message in client.get(response.location).get_data(as_text=True)


def _refused_upload(response: Any, message: str, upload_dir: Any) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:2000]
    assert message in page
    assert 'action="/registers/import/confirm"' not in page
    assert not upload_dir.exists() or not list(upload_dir.iterdir())  # nothing kept


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
    token, fingerprint = _preview(dpo, ex.csv_body(rows))
    before = _state(session)
    assert before == {"purpose": PURPOSE, "new": [], "counts": before["counts"]}
    real = acts.create_activity
    written = []

    def failing(org: Any, actor: Any, data: Any, **kw: Any) -> Any:
        if data["reference"] == "NEW-2":  # after TRT-002 and NEW-1 were written
            raise failure
        written.append(real(org, actor, data, **kw).reference)
        return written[-1]

    monkeypatch.setattr(acts, "create_activity", failing)
    response = _confirm(dpo, token, fingerprint)
    assert written == ["NEW-1"]
    _refused_back_to_the_form(dpo, response, "Rien n&#39;a été importé")
    assert _state(session) == before


# --- size limits -------------------------------------------------------------------------------


def _oversized_csv() -> bytes:
    body = _csv_of(1, **{"Finalité principale": "x" * reading.MAX_UPLOAD_BYTES})
    assert len(body) > reading.MAX_UPLOAD_BYTES
    return body


def test_a_file_over_the_upload_limit_is_refused(dpo: FlaskClient, upload_dir: Any) -> None:
    assert reading.MAX_UPLOAD_BYTES == 5 * 1024 * 1024
    _refused_upload(_upload(dpo, _oversized_csv(), "registre.csv"), TOO_BIG, upload_dir)


def test_the_upload_form_refuses_an_oversized_file_by_itself(
    dpo: FlaskClient, upload_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _oversized_csv()
    monkeypatch.setattr(reading, "MAX_UPLOAD_BYTES", 10**9)  # the reader's own check out of the way
    _refused_upload(_upload(dpo, body, "registre.csv"), TOO_BIG, upload_dir)


def test_the_reader_refuses_an_oversized_file_by_itself(app_ctx: Flask) -> None:
    # Whoever calls the service without the form (a script, another view) meets the same limit.
    with pytest.raises(exchange.ImportFileError, match=TOO_BIG):
        reading.read_table(_oversized_csv(), "registre.csv")


def test_a_request_over_the_request_limit_gets_the_413_page(
    app: Flask, dpo: FlaskClient, upload_dir: Any
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 16 * 1024 * 1024
    response = _upload(dpo, b"x" * (limit + 1), "registre.csv")
    assert response.status_code == 413
    assert "Fichier ou formulaire trop volumineux" in response.get_data(as_text=True)
    assert not upload_dir.exists() or not list(upload_dir.iterdir())


def test_a_zip_bomb_is_refused_before_the_workbook_is_opened(dpo: FlaskClient, upload_dir: Any) -> None:
    body = io.BytesIO(dpo.get("/registers/export.xlsx").data)  # a genuine register workbook…
    with zipfile.ZipFile(body, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (reading.MAX_XLSX_UNCOMPRESSED + 1))  # …inflated
    bomb = body.getvalue()
    assert len(bomb) < reading.MAX_UPLOAD_BYTES  # small on the wire
    _refused_upload(_upload(dpo, bomb, "registre.xlsx"), BOMB, upload_dir)


# --- row limit ---------------------------------------------------------------------------------


def test_a_csv_file_over_the_row_limit_is_refused(dpo: FlaskClient, upload_dir: Any) -> None:
    body = _csv_of(reading.MAX_ROWS + 1)
    _refused_upload(_upload(dpo, body, "registre.csv"), TOO_MANY, upload_dir)


def test_an_xlsx_file_over_the_row_limit_is_refused(dpo: FlaskClient, upload_dir: Any) -> None:
    body = _xlsx_of(reading.MAX_ROWS + 1)
    _refused_upload(_upload(dpo, body, "registre.xlsx"), TOO_MANY, upload_dir)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_at_the_row_limit_is_read(app_ctx: Flask, fmt: str) -> None:
    body = _csv_of(reading.MAX_ROWS) if fmt == "csv" else _xlsx_of(reading.MAX_ROWS)
    assert len(reading.read_table(body, f"registre.{fmt}").rows) == reading.MAX_ROWS


# --- the kept file's token ---------------------------------------------------------------------

FORGED_TOKENS = [
    "../evil",  # the kept file moved out of the folder by the test (see below)
    "../../../../etc/passwd",
    "/etc/passwd",
    "a" * 42,
    "a" * 44,
    "a" * 42 + ".",
    "a" * 41 + "/x",
    "a" * 42 + "\n",
]


def test_a_forged_token_reads_no_file_outside_the_upload_folder(
    dpo: FlaskClient, upload_dir: Any, session: Any
) -> None:
    rows = ex._export(dpo)
    rows[1][rows[0].index("Finalité principale")] = "Changée par l'import"
    token, fingerprint = _preview(dpo, ex.csv_body(rows))
    # The kept file, moved just outside the folder: a token that names a path would reach it.
    for suffix in (".json", ".upload"):
        (upload_dir / f"{token}{suffix}").rename(upload_dir.parent / f"evil{suffix}")
    before = _state(session)
    for forged in FORGED_TOKENS:
        _refused_back_to_the_form(dpo, _confirm(dpo, forged, fingerprint), GONE)
    assert _state(session) == before
    assert (upload_dir.parent / "evil.json").exists()  # not read, not discarded either
    with dpo.application.test_request_context():
        exchange.discard_upload("../evil")
    assert (upload_dir.parent / "evil.json").exists()
    assert (upload_dir.parent / "evil.upload").exists()


def test_the_kept_file_expires(dpo: FlaskClient, upload_dir: Any, session: Any, app: Flask) -> None:
    assert app.config.get("REGISTER_IMPORT_TTL_MINUTES", 30) == 30
    rows = ex._export(dpo)
    rows[1][rows[0].index("Finalité principale")] = "Changée par l'import"
    token, fingerprint = _preview(dpo, ex.csv_body(rows))
    before = _state(session)
    start = utcnow()
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        # Still kept: read and planned again (a wrong fingerprint gets the new preview).
        assert _confirm(dpo, token, "0" * 64).status_code == 409
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        _refused_back_to_the_form(dpo, _confirm(dpo, token, fingerprint), GONE)
    assert _state(session) == before
    assert list(upload_dir.iterdir()) == []  # the expired file is discarded
