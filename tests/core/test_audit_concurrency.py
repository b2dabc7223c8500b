"""Concurrent appends on PostgreSQL: the head row lock gives contiguous numbers and a valid chain."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text

from accounts.models import Organisation, OrgKind, OrgRelation
from core import audit
from core.audit import AuditAnchor, AuditEvent, AuditHead, AuditPayload
from core.config import TestConfig
from core.extensions import db
from tests.core.test_audit import ON_POSTGRESQL

pytestmark = [
    pytest.mark.no_isolation,  # real commits from several connections
    pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has a single writer: nothing to race"),
]
THREADS, PER_THREAD = 8, 25


def test_threads_appending_to_one_chain_get_contiguous_numbers(app: Flask) -> None:
    assert TestConfig.DATABASE_URL.startswith("postgresql")
    with app.app_context():
        org = Organisation(name="Syndicat concurrent", kind=OrgKind.SYNDICAT, relation=OrgRelation.SYNDICATE)
        db.session.add(org)
        db.session.commit()
        org_id = org.id
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            with app.test_request_context():
                barrier.wait()
                for i in range(PER_THREAD):
                    audit.record(org_id, None, "test.concurrent", None, {"i": (None, f"{n}-{i}")})
                    db.session.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        with app.app_context():
            seqs = list(
                db.session.scalars(
                    select(AuditEvent.seq).where(AuditEvent.chain == org_id).order_by(AuditEvent.seq)
                )
            )
            assert seqs == list(range(1, THREADS * PER_THREAD + 1))
            verdict = audit.verify_chain(org_id)
            assert verdict.ok, verdict.reason
            assert verdict.entries == THREADS * PER_THREAD
    finally:
        with app.app_context():  # the journal refuses deletions: switch its triggers off to clean up
            for table in ("audit_events", "audit_payloads", "audit_anchors"):
                db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            events = select(AuditEvent.id).where(AuditEvent.chain == org_id)
            db.session.execute(delete(AuditPayload).where(AuditPayload.event_id.in_(events)))
            db.session.execute(delete(AuditEvent).where(AuditEvent.chain == org_id))
            db.session.execute(delete(AuditAnchor).where(AuditAnchor.chain == org_id))
            db.session.execute(delete(AuditHead).where(AuditHead.chain == org_id))
            db.session.execute(delete(Organisation).where(Organisation.id == org_id))
            for table in ("audit_events", "audit_payloads", "audit_anchors"):
                db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            db.session.commit()
            assert (
                db.session.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.chain == org_id)
                )
                == 0
            )
