"""Every evidence test runs with a key ring and evidence folder of its own (tests/audits/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_evidence_dirs(evidence_dirs: dict[str, Path]) -> dict[str, Path]:
    return evidence_dirs
