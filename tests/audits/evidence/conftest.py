"""Each evidence test gets its own key ring and evidence folder (tmp_path): nothing is written in
the repository's instance/, and one test's keys never serve another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def evidence_dirs(app: Flask, tmp_path: Path) -> Iterator[dict[str, Path]]:
    saved = {k: app.config.get(k) for k in ("KEY_DIR", "EVIDENCE_DIR")}
    dirs = {"KEY_DIR": tmp_path / "keys", "EVIDENCE_DIR": tmp_path / "evidence"}
    app.config.update({k: str(v) for k, v in dirs.items()})
    with app.app_context():
        from audits.evidence import keyring  # noqa: PLC0415

        keyring.init_ring()
    yield dirs
    app.config.update(saved)
