"""The real servers of the ``multiserver`` tests (tests/scale/servers.py): started once for the
session — about 25 s: a fresh PostgreSQL database, the migrations, the demo, two gunicorn servers
and a worker — then stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale import servers

LOGIN_LIMIT = 10  # login attempts per minute and address, across every server

SETTINGS = {
    "EGIDE_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
    "EGIDE_REGISTER_PDF_JOB_THRESHOLD": "1",  # every register PDF goes through the worker
}


@pytest.fixture(scope="session")
def cluster() -> Iterator[servers.Cluster]:
    with servers.cluster(**SETTINGS) as running:
        yield running
