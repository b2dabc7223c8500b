"""Fixtures shared by the audits domain's parts: the evidence store's own key ring and folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture
def evidence_dirs(app: Flask, tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A key ring and an evidence folder of the test's own (tmp_path): nothing is written in the
    repository's instance/, and one test's keys never serve another."""
    saved = {k: app.config.get(k) for k in ("KEY_DIR", "EVIDENCE_DIR")}
    dirs = {"KEY_DIR": tmp_path / "keys", "EVIDENCE_DIR": tmp_path / "evidence"}
    app.config.update({k: str(v) for k, v in dirs.items()})
    with app.app_context():
        from audits.evidence import keyring  # noqa: PLC0415

        keyring.init_ring()
    yield dirs
    app.config.update(saved)
