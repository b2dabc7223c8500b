"""core.transactions: a request's transaction that only read ends with COMMIT (psycopg keeps what it
prepared on the connection), anything else with the ROLLBACK of the session's close."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accounts.models import Organisation
from core import transactions
from core.extensions import db
from core.security import Role
from tests.conftest import World


@contextmanager
def endings() -> Iterator[list[str]]:
    """How each session transaction ended meanwhile: "commit" or "rollback"."""
    seen: list[str] = []

    def committed(_session: Session) -> None:
        seen.append("commit")

    def rolled_back(_session: Session, _transaction: Any) -> None:
        seen.append("rollback")

    event.listen(Session, "after_commit", committed)
    event.listen(Session, "after_soft_rollback", rolled_back)
    try:
        yield seen
    finally:
        event.remove(Session, "after_commit", committed)
        event.remove(Session, "after_soft_rollback", rolled_back)


def test_a_page_that_only_read_ends_with_commit(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    with endings() as seen:
        assert client.get("/organisations/").status_code == 200
    assert seen == ["commit"]


def test_a_transaction_that_read_is_committed_at_the_end(app: Flask, world: World) -> None:
    with app.test_request_context(), endings() as seen:
        db.session.scalars(select(Organisation.id)).all()
        assert db.session.in_transaction()
        transactions.end_read_only_transactions(None)
        assert not db.session.in_transaction()
    assert seen == ["commit"]


def test_a_write_left_uncommitted_is_rolled_back_not_committed(app: Flask, world: World) -> None:
    with app.test_request_context(), endings() as seen:
        org = db.session.get(Organisation, world.a.syndicate.id)
        assert org is not None
        org.notes = "flushed, never committed by the view"
        db.session.flush()
        transactions.end_read_only_transactions(None)
        assert db.session.in_transaction()  # left to the close: a rollback
        assert seen == []
        db.session.close()  # what Flask-SQLAlchemy-Lite's teardown does next
        assert "commit" not in seen
        reread = db.session.get(Organisation, world.a.syndicate.id)
        assert reread is not None
        assert reread.notes != "flushed, never committed by the view"


def test_a_change_not_flushed_or_an_error_is_not_committed(app: Flask, world: World) -> None:
    with app.test_request_context(), endings() as seen:
        org = db.session.get(Organisation, world.a.syndicate.id)
        assert org is not None
        org.notes = "changed in the session only"
        transactions.end_read_only_transactions(None)
        assert db.session.in_transaction()
        db.session.rollback()
        db.session.scalars(select(Organisation.id)).all()
        transactions.end_read_only_transactions(RuntimeError("the page failed"))
        assert db.session.in_transaction()
        assert "commit" not in seen


def test_what_a_request_loaded_stays_readable_after_it(app: Flask, world: World) -> None:
    with app.app_context():  # its end: the commit of a read-only transaction, then the close
        org = db.session.get(Organisation, world.a.syndicate.id)
        assert org is not None
    assert org.name == world.a.syndicate.name  # detached with what it loaded, not expired
