"""The embedded default, SQLite, set up for several gunicorn workers (core/__init__.py): every new
connection is in WAL mode with a busy timeout, and a request that may write takes the write lock when
its transaction begins. Runs on a SQLite file of its own, whatever the suite's database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from core import create_app
from core.config import TestConfig
from core.extensions import db


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    config = {
        key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper() and not key.startswith("_")
    }
    app = create_app({**config, "DATABASE_URL": f"sqlite:///{tmp_path / 'settings.sqlite3'}"})
    yield app
    with app.app_context():
        db.engine.dispose()


def _pragma(conn: Any, name: str) -> Any:
    return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_a_new_connection_has_wal_a_busy_timeout_and_foreign_keys(sqlite_app: Flask) -> None:
    with sqlite_app.app_context():
        engine = db.engine
        assert engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            assert str(_pragma(conn, "journal_mode")).lower() == "wal"
            assert _pragma(conn, "busy_timeout") == 5000
            assert _pragma(conn, "synchronous") == 1  # NORMAL
            assert _pragma(conn, "foreign_keys") == 1
        with engine.connect() as conn:  # every connection, not only the first one
            assert _pragma(conn, "busy_timeout") == 5000
            assert str(_pragma(conn, "journal_mode")).lower() == "wal"
    # pysqlite's own wait, set when connecting, says the same as the pragma
    assert sqlite_app.config["SQLALCHEMY_ENGINES"]["default"]["connect_args"] == {"timeout": 5.0}


def test_a_writing_request_begins_immediate_and_a_reading_one_deferred(sqlite_app: Flask) -> None:
    """Read from what SQLite itself is sent (its trace callback): core's BEGIN goes to the driver
    directly, not through SQLAlchemy's cursor events."""
    with sqlite_app.app_context():
        engine = db.engine
    begins: list[str] = []

    def trace(statement: str) -> None:
        if statement.upper().startswith("BEGIN"):
            begins.append(statement.upper())

    def traced(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(trace)

    def untraced(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(engine, "checkout", traced)
    event.listen(engine, "checkin", untraced)
    try:
        for method in ("GET", "POST"):
            with sqlite_app.test_request_context("/", method=method):
                db.session.execute(text("SELECT 1"))
                db.session.rollback()
    finally:
        event.remove(engine, "checkout", traced)
        event.remove(engine, "checkin", untraced)
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]


def test_a_reader_does_not_stop_a_writer_and_a_writer_waits_for_another(sqlite_app: Flask) -> None:
    """WAL: a long read and a commit go on together; two writers queue instead of failing."""
    with sqlite_app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (n INTEGER)")
        with engine.connect() as reader, engine.connect() as writer:
            reader.begin()
            assert reader.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 0
            with writer.begin():  # the reader's transaction is still open
                writer.exec_driver_sql("INSERT INTO probe VALUES (1)")
            assert reader.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 0  # its snapshot
            reader.rollback()

        first = engine.connect()
        first.begin()
        first.exec_driver_sql("INSERT INTO probe VALUES (2)")  # holds the write lock …
        released = threading.Timer(0.5, lambda: (first.commit(), first.close()))
        released.start()
        try:
            with engine.begin() as second:  # … and this one waits for it rather than failing
                second.exec_driver_sql("INSERT INTO probe VALUES (3)")
        finally:
            released.join()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 3
