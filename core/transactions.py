"""How a request's transaction ends when it wrote nothing: COMMIT, not ROLLBACK.

At the end of every request the session is closed, and closing a session rolls its transaction
back. For a page that only read, COMMIT and ROLLBACK end the transaction alike — nothing to keep,
nothing to undo — but not for psycopg: at every ROLLBACK it forgets the statements it had prepared
on that connection (and deallocates them on the server), in case the rollback undid a table they
name. So on PostgreSQL no statement of a page was ever prepared — psycopg prepares one at its fifth
run on a connection — and each was parsed and planned anew on every page. Every page's first
statement (accounts.models.load_frame: the session, the user, the roles and the facts) took 2.2 ms
to plan and 0.4 ms to run (bench/bench_cpu.py on bench/bench_http.py's PostgreSQL database).

So a transaction that flushed nothing and holds no unflushed change is committed at the end of the
request. Anything else — a view that wrote and did not commit, a change left in the session, an
error — is rolled back by the session's close, as before (tests/core/test_transactions.py). What
psycopg then prepares and PostgreSQL plans once shows in bench/bench_http.py's PostgreSQL figures.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.orm import Session

_FLUSHED = "egide_flushed"  # session.info: this transaction flushed (wrote) something


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_flush(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the session's outermost transaction
        session.info.pop(_FLUSHED, None)


def end_read_only_transactions(error: BaseException | None) -> None:
    """``teardown_appcontext``, before Flask-SQLAlchemy-Lite closes the sessions: commit the request
    session's transaction when it only read."""
    if error is not None:
        return
    sessions: dict[str, Session] | None = g.get("_sqlalchemy_sessions")  # Flask-SQLAlchemy-Lite's
    for session in (sessions or {}).values():
        if session.in_transaction() and not session.info.get(_FLUSHED) and not _has_changes(session):
            # As the close that follows leaves them: detached with what they loaded, not expired (an
            # object may outlive its request — a background job's, a test's).
            session.expire_on_commit = False
            try:
                session.commit()
            except Exception:  # the close below would roll back, as it always did
                session.rollback()


def _has_changes(session: Session) -> bool:
    return bool(session.new or session.deleted or session.dirty)


def init_app(app: Flask) -> None:
    # Registered after Flask-SQLAlchemy-Lite's own teardown: Flask runs them in reverse order.
    app.teardown_appcontext(end_read_only_transactions)
