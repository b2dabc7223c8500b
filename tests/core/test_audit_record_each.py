"""core.audit.record_each: one write touching many organisations journals one entry on each one's
chain — the entries record() would write one by one, each chain continued and verifiable."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core import audit
from core.audit import GENESIS, AuditAnchor, AuditEvent, AuditHead, AuditPayload, Ref
from core.extensions import db
from core.security import Role
from tests.accounts.factories import OrganisationFactory
from tests.conftest import World


@pytest.fixture(autouse=True)
def signing_key_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "audit_signing_key.pem"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(path))
    monkeypatch.setitem(app.config, "AUDIT_TRUSTED_PUBLIC_KEY_FILES", ())
    return path


def _last(chain: int) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()


def _payload(event: AuditEvent) -> dict[str, Any]:
    return db.session.scalar(select(AuditPayload.data).where(AuditPayload.event_id == event.id))


def test_entries_continue_each_chain_and_every_chain_verifies(world: World, app_ctx: Flask) -> None:
    actor = world.a.users[Role.RSSI]
    old_a, old_b = world.a.member.id, world.b.member.id
    audit.record(old_a, actor, "test.before", Ref("Thing", 1), {"x": (None, 1)})
    audit.record(old_b, actor, "test.before", Ref("Thing", 2), {"x": (None, 2)})
    before = {c: (_last(c).seq, _last(c).hash) for c in (old_a, old_b)}
    new_chain = OrganisationFactory(syndicate=db.session.merge(world.a.syndicate)).id  # its head is created

    entries = audit.record_each(
        [
            (old_a, "test.each", Ref("Thing", 10), {"title": (None, "Fuite"), "n": (None, 3)}),
            (new_chain, "test.each", Ref("Thing", 11), {"title": (None, "Fuite")}),
            (old_b, "test.each", Ref("Thing", 12), {"title": ("avant", "après")}),
            (old_a, "test.again", Ref("Thing", 13), {}),
        ],
        actor,
        request_context=False,
    )

    assert [(e.chain, e.seq) for e in entries] == [
        (old_a, before[old_a][0] + 1),
        (new_chain, 1),
        (old_b, before[old_b][0] + 1),
        (old_a, before[old_a][0] + 2),
    ]
    first_a = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == old_a, AuditEvent.seq == entries[0].seq)
    ).one()
    assert first_a.prev_hash == before[old_a][1]
    assert _last(old_a).prev_hash == entries[0].hash
    assert _last(new_chain).prev_hash == GENESIS
    assert _payload(first_a) == {"changes": {"title": [None, "Fuite"], "n": [None, 3]}, "context": {}}
    for chain in (old_a, old_b, new_chain):
        head = db.session.get(AuditHead, chain)
        assert (head.seq, head.hash) == (_last(chain).seq, _last(chain).hash)
        verdict = audit.verify_chain(chain)
        assert (verdict.ok, verdict.first_broken_seq) == (True, None), chain


def test_an_entry_is_the_one_record_would_have_written(world: World, app: Flask) -> None:
    changes = {"title": (None, "Fuite de données"), "natures": (None, ["confidentialite"])}
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        actor = db.session.merge(world.a.users[Role.RSSI])
        org = db.session.merge(world.a.member).id
        savepoint = db.session.begin_nested()
        one = audit.record(org, actor, "breach.create_from_incident", Ref("Breach", 5), changes)
        by_record = _last(org)
        expected = (by_record.seq, by_record.prev_hash, by_record.payload_sha256, _payload(by_record))
        savepoint.rollback()

        [each] = audit.record_each([(org, "breach.create_from_incident", Ref("Breach", 5), changes)], actor)
        by_each = _last(org)

        assert (each.seq, each.chain, each.action) == (one.seq, one.chain, one.action)
        assert (by_each.seq, by_each.prev_hash, by_each.payload_sha256, _payload(by_each)) == expected
        assert expected[3]["context"]["ip"] == "203.0.113.9"
        assert by_each.payload_sha256 == hashlib.sha256(audit.canonical(expected[3])).hexdigest()
        assert audit.verify_chain(org).ok


def test_periodic_anchors_fall_where_record_puts_them(
    world: World, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "AUDIT_ANCHOR_EVERY", 2)
    actor = world.a.users[Role.RSSI]
    syndicate = db.session.merge(world.a.syndicate)
    chains = [OrganisationFactory(syndicate=syndicate).id, OrganisationFactory(syndicate=syndicate).id]
    audit.record(chains[0], actor, "test.before", Ref("Thing", 1), {})  # seq 1 on the first chain

    audit.record_each([(c, "test.each", Ref("Thing", 2), {}) for c in chains], actor)

    anchored = {
        (row.chain, row.seq) for row in db.session.execute(select(AuditAnchor.chain, AuditAnchor.seq))
    }
    assert (chains[0], 2) in anchored  # its second entry
    assert not any(chain == chains[1] for chain, _seq in anchored)  # only one entry there
