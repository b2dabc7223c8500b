"""Fixtures of the registers tests."""

from __future__ import annotations

import pytest

from tests.conftest import World, domain_records
from tests.registers.records import RegisterRecords


@pytest.fixture
def records(world: World) -> RegisterRecords:
    """One activity (with its first version), rights request, breach and report of world A's syndicate."""
    return domain_records(world.a, "registers")
