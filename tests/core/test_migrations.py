"""Schema changes only through Alembic: the migrations go up, down and up again, and match the models."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from core.cli import run_demo_loaders
from core.db import Base
from core.extensions import alembic, db

pytestmark = pytest.mark.no_isolation


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _down_to_base_and_up_again(app: Flask) -> None:
    with app.app_context():
        alembic.downgrade("base")
    with app.app_context():
        assert _tables() == set()
        alembic.upgrade()
    with app.app_context():
        assert _tables() == set(Base.metadata.tables)


def test_upgrade_downgrade_upgrade_round_trip(app: Flask) -> None:
    with app.app_context():
        alembic.upgrade()
        assert _tables() == set(Base.metadata.tables)
    _down_to_base_and_up_again(app)


def test_round_trip_with_data_in_every_table(app: Flask) -> None:
    """Downgrades rebuild tables on SQLite (batch mode) while rows reference them: that must work
    with data, not only on an empty schema (the demo data, as CI's command-line round trip does)."""
    with app.app_context():
        alembic.upgrade()
        run_demo_loaders()
        db.session.commit()
        assert db.session.scalar(text("SELECT count(*) FROM memberships")) > 0
        db.session.close()
    _down_to_base_and_up_again(app)


def test_models_match_migrations(app: Flask) -> None:
    with app.app_context():
        alembic.upgrade()
        assert alembic.compare_metadata() == []


def test_single_head(app: Flask) -> None:
    with app.app_context():
        assert len(alembic.script_directory.get_heads()) == 1


def test_every_foreign_key_and_organisation_column_is_indexed() -> None:
    """Scale from the start: every FK column leads an index (5,000 organisations, 250,000 rows)."""
    missing = []
    for table in Base.metadata.tables.values():
        leading = {next(iter(ix.columns)).name for ix in table.indexes}
        leading |= {next(iter(c.columns)).name for c in table.constraints if getattr(c, "columns", None)}
        for column in table.columns:
            needs_index = column.foreign_keys or column.name.endswith("organisation_id")
            if needs_index and column.name not in leading:
                missing.append(f"{table.name}.{column.name}")
    assert missing == []
