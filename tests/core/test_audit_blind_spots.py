"""What the journal used to miss, each tampering done by raw SQL: a tail cut off with its head
rewound, a tail rewritten with recomputed hashes after the last database anchor, a payload emptied
without an erasure; and the anchoring that now happens without an operator (on commit, by the
throttled sweep), the anchor file outside the database and its export for a witness."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask
from sqlalchemy import JSON, bindparam, event, func, select, text

from core import audit
from core.audit import GENESIS, AuditAnchor, AuditEvent, AuditHead, AuditPayload, Ref
from core.db import UTCDateTime
from core.extensions import db
from core.security import Role
from tests import factories as f

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def anchor_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with its own key and keeps its own anchor file (never instance/)."""
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(tmp_path / "audit_signing_key.pem"))
    monkeypatch.setitem(app.config, "AUDIT_TRUSTED_PUBLIC_KEY_FILES", ())
    path = tmp_path / "audit_anchors.jsonl"
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", str(path))
    return path


@pytest.fixture
def auto_anchor(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Automatic anchoring on (TestConfig turns it off), with a sweep that is due at once."""
    monkeypatch.setitem(app.config, "AUDIT_AUTO_ANCHOR", True)
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_MAX_AGE", dt.timedelta(hours=24))
    monkeypatch.setitem(app.extensions, "egide_audit", {"next_sweep": 0.0})


def disable_audit_triggers() -> None:
    """PostgreSQL refuses UPDATE and DELETE on the journal: switched off inside the test's own
    transaction, which is rolled back (as in tests/core/test_audit.py)."""
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "audit_payloads", "audit_anchors"):
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def probes(org: Any, count: int) -> None:
    for n in range(count):
        audit.record(org, None, "probe", Ref("Probe", n), {"n": (None, n)})


def events(chain: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq))
    )


def payload_of(event: AuditEvent) -> Any:
    return db.session.scalar(select(AuditPayload.data).where(AuditPayload.event_id == event.id))


def anchored_seqs(chain: int) -> list[int]:
    return list(
        db.session.scalars(
            select(AuditAnchor.seq).where(AuditAnchor.chain == chain).order_by(AuditAnchor.seq)
        )
    )


def file_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def cut_tail(chain: int, keep: int) -> None:
    """Delete the entries after ``keep`` and their database anchors, and rewind the head: nothing in
    the database tells any more."""
    params = {"c": chain, "k": keep}
    db.session.execute(
        text(
            "DELETE FROM audit_payloads WHERE event_id IN "
            "(SELECT id FROM audit_events WHERE chain = :c AND seq > :k)"
        ),
        params,
    )
    db.session.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq > :k"), params)
    db.session.execute(text("DELETE FROM audit_anchors WHERE chain = :c AND seq > :k"), params)
    last = db.session.scalar(text("SELECT hash FROM audit_events WHERE chain = :c AND seq = :k"), params)
    db.session.execute(
        text("UPDATE audit_heads SET seq = :k, hash = :h WHERE chain = :c"), params | {"h": last or GENESIS}
    )
    db.session.expire_all()


def rewrite_from(chain: int, first: int) -> None:
    """Change the action of entry ``first`` and recompute every hash from there, head included."""
    chain_events = events(chain)
    prev = chain_events[first - 2].hash if first > 1 else GENESIS
    for entry in chain_events[first - 1 :]:
        content = entry.content() | ({"action": "probe.rewritten"} if entry.seq == first else {})
        new_hash = audit.entry_hash(prev, content)
        db.session.execute(
            text("UPDATE audit_events SET action = :a, prev_hash = :p, hash = :h WHERE id = :i"),
            {"a": content["action"], "p": prev, "h": new_hash, "i": entry.id},
        )
        prev = new_hash
    db.session.execute(text("UPDATE audit_heads SET hash = :h WHERE chain = :c"), {"h": prev, "c": chain})
    db.session.expire_all()


def anchor_now() -> None:
    audit.anchor_heads()
    db.session.commit()  # the anchor file gets the anchors once committed


# --- 1. a tail cut off, its head rewound ---------------------------------------------------------


def test_a_tail_cut_off_with_its_head_rewound_is_named_by_the_anchor_file(
    app: Flask, app_ctx: Flask, anchor_file: Path
) -> None:
    org = f.SyndicateFactory(name="Syndicat Tronqué")
    probes(org, 5)
    anchor_now()
    probes(org, 3)
    anchor_now()  # entry 8 anchored, in the database and in the file
    disable_audit_triggers()
    cut_tail(org.id, 5)

    database_only = audit.verify(org.id, anchor_file=False)[0]
    checked = audit.verify(org.id)[0]
    cli = app.test_cli_runner().invoke(args=["audit", "verify", "--org", str(org.id)])

    assert database_only.ok  # the blind spot: the database alone cannot tell
    assert (checked.ok, checked.first_broken_seq) == (False, 6)
    assert "fin du journal supprimée" in checked.reason
    assert "porte sur l'entrée n° 8, le journal s'arrête au n° 5" in checked.reason
    assert cli.exit_code == 1
    assert f"Fichier d'ancres {anchor_file} : 2 ancre(s)" in cli.output
    assert "Journal altéré : première entrée en défaut n° 6" in cli.output


def test_a_chain_deleted_altogether_is_still_listed_through_the_anchor_file(
    app_ctx: Flask, anchor_file: Path
) -> None:
    org = f.SyndicateFactory()
    probes(org, 2)
    anchor_now()
    disable_audit_triggers()
    cut_tail(org.id, 0)
    db.session.execute(text("DELETE FROM audit_heads WHERE chain = :c"), {"c": org.id})

    verdicts = {v.chain: v for v in audit.verify()}

    assert org.id not in audit.chains()
    assert (verdicts[org.id].ok, verdicts[org.id].first_broken_seq) == (False, 1)
    assert "le journal s'arrête au n° 0" in verdicts[org.id].reason


# --- 2. a tail rewritten with recomputed hashes -------------------------------------------------


def test_a_rewritten_tail_is_named_by_a_database_anchor_and_without_it_by_the_anchor_file(
    app_ctx: Flask,
) -> None:
    org = f.SyndicateFactory()
    probes(org, 5)
    anchor_now()
    probes(org, 3)
    anchor_now()  # anchors at 5 and 8
    disable_audit_triggers()
    rewrite_from(org.id, 7)

    with_database_anchor = audit.verify(org.id, anchor_file=False)[0]
    db.session.execute(text("DELETE FROM audit_anchors WHERE chain = :c AND seq = 8"), {"c": org.id})
    db.session.expire_all()
    database_only = audit.verify(org.id, anchor_file=False)[0]
    checked = audit.verify(org.id)[0]

    assert (with_database_anchor.ok, with_database_anchor.first_broken_seq) == (False, 8)
    assert "ne correspond plus à l'ancre signée" in with_database_anchor.reason
    assert database_only.ok  # rewritten after the last database anchor (n° 5): nothing tells
    assert database_only.last_anchor is not None
    assert database_only.last_anchor.seq == 5
    assert (checked.ok, checked.first_broken_seq) == (False, 8)
    assert "ne correspond plus à l'ancre signée" in checked.reason


def test_an_anchor_of_the_file_missing_from_the_database_is_reported(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    probes(org, 3)
    anchor_now()
    disable_audit_triggers()
    db.session.execute(text("DELETE FROM audit_anchors WHERE chain = :c"), {"c": org.id})
    db.session.expire_all()

    verdict = audit.verify(org.id)[0]

    assert (verdict.ok, verdict.first_broken_seq) == (False, 3)
    assert "inscrite au fichier d'ancres, manque dans la base" in verdict.reason


def test_an_anchor_of_the_database_missing_from_the_file_is_reported_unless_older_than_the_file(
    app: Flask, app_ctx: Flask, anchor_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = f.SyndicateFactory()
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", None)
    probes(org, 2)
    anchor_now()  # signed before the file began: not expected in it
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", str(anchor_file))
    missing_file = audit.verify(org.id)[0]
    probes(org, 2)
    anchor_now()  # the file begins
    before = audit.verify(org.id)[0]
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", None)
    probes(org, 2)
    anchor_now()  # signed (with the key) but never written to the file
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", str(anchor_file))

    after = audit.verify(org.id)[0]

    assert (missing_file.ok, missing_file.first_broken_seq) == (False, 2)
    assert "manque dans le fichier d'ancres" in missing_file.reason
    assert before.ok, before.reason
    assert [line["seq"] for line in file_lines(anchor_file)] == [4]
    assert (after.ok, after.first_broken_seq) == (False, 6)
    assert "l'ancre n° 6" in after.reason
    assert "manque dans le fichier d'ancres" in after.reason


def test_a_forged_line_of_the_anchor_file_is_reported(app_ctx: Flask, anchor_file: Path) -> None:
    org = f.SyndicateFactory()
    probes(org, 3)
    anchor_now()
    line = file_lines(anchor_file)[0]
    second = events(org.id)[1]
    anchor_file.write_text(json.dumps(line | {"seq": 2, "hash": second.hash}) + "\n")

    verdict = audit.verify(org.id)[0]

    assert (verdict.ok, verdict.first_broken_seq) == (False, 2)
    assert "signature invalide de l'ancre n° 2" in verdict.reason


# --- 3. payloads emptied without an erasure ----------------------------------------------------

EMPTYINGS = {
    "null": "UPDATE audit_payloads SET data = NULL WHERE event_id = :e",
    "null_and_erased_at": "UPDATE audit_payloads SET data = NULL, erased_at = :now WHERE event_id = :e",
    "deleted": "DELETE FROM audit_payloads WHERE event_id = :e",
}


@pytest.mark.parametrize("emptying", sorted(EMPTYINGS))
def test_a_payload_emptied_without_a_journalled_erasure_is_tampering(app_ctx: Flask, emptying: str) -> None:
    org = f.SyndicateFactory()
    probes(org, 4)
    disable_audit_triggers()
    statement = text(EMPTYINGS[emptying])
    params: dict[str, Any] = {"e": events(org.id)[2].id}
    if emptying == "null_and_erased_at":  # as an erasure would leave it, minus the erasure entry
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
        params["now"] = dt.datetime.now(dt.UTC)
    db.session.execute(statement, params)

    verdict = audit.verify_chain(org.id)

    assert (verdict.ok, verdict.first_broken_seq, verdict.erased_payloads) == (False, 3, 0)
    assert "sans effacement RGPD journalisé" in verdict.reason
    assert "première entrée en défaut n° 3" in verdict.message()


# --- 4. a genuine erasure ----------------------------------------------------------------------


def test_a_genuine_erasure_names_every_erased_entry_in_its_hashed_payload(app_ctx: Flask) -> None:
    admin, person = f.UserFactory(), f.UserFactory()
    org = f.SyndicateFactory()
    audit.record(org, None, "probe.first", Ref("Probe"), {"n": (None, 1)})
    audit.record(org, person, "probe.by_person", Ref("Probe"), {"email": (None, "a@example.org")})
    audit.record(None, person, "login.success", person)
    audit.record(org, None, "probe.about_person", person, {"full_name": (None, "X")})
    platform_seq = events(0)[-1].seq

    erased = audit.erase_personal_data(person.id, admin)
    erasure = events(0)[-1]
    data = payload_of(erasure)
    again = audit.erase_personal_data(admin.id, person)  # the erasure entry holds ids only: kept
    verdicts = {v.chain: v for v in audit.verify()}

    assert erased == 3
    assert erasure.action == "audit.payload_erase"
    assert data["erased_entries"] == {"0": [platform_seq], str(org.id): [2, 3]}
    assert data["context"] == {}  # not even the IP address of whoever erased
    assert audit.payload_hash(data) == erasure.payload_sha256  # bound to the chain by its hash
    assert again == 0
    assert payload_of(erasure) == data
    assert all(v.ok for v in verdicts.values()), [v.reason for v in verdicts.values() if not v.ok]
    assert verdicts[org.id].erased_payloads == 2
    assert "2 détails effacés (RGPD)" in verdicts[org.id].message()
    assert verdicts[0].erased_payloads == 1


def test_an_erasure_listing_forged_to_cover_an_emptied_payload_is_caught(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    probes(org, 3)
    audit.erase_payloads([events(org.id)[0].id], None)
    erasure = events(0)[-1]
    data = payload_of(erasure)
    disable_audit_triggers()
    target = events(org.id)[1]
    db.session.execute(text("UPDATE audit_payloads SET data = NULL WHERE event_id = :e"), {"e": target.id})
    forged = data | {"erased_entries": {str(org.id): [1, 2]}}
    db.session.execute(
        text("UPDATE audit_payloads SET data = :d WHERE event_id = :e").bindparams(
            bindparam("d", type_=JSON())
        ),
        {"d": forged, "e": erasure.id},
    )

    verdicts = {v.chain: v for v in audit.verify()}

    # A listing that does not match its hash is not trusted at all: entry 1 is no longer covered.
    assert (verdicts[org.id].ok, verdicts[org.id].first_broken_seq) == (False, 1)
    assert "sans effacement RGPD journalisé" in verdicts[org.id].reason
    assert (verdicts[0].ok, verdicts[0].first_broken_seq) == (False, erasure.seq)
    assert "détail modifié" in verdicts[0].reason


# --- 5. anchoring without an operator ----------------------------------------------------------


def test_commits_anchor_a_new_chain_then_a_chain_whose_last_anchor_is_a_day_old(
    app_ctx: Flask, auto_anchor: None, anchor_file: Path
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        org = f.SyndicateFactory()
        probes(org, 2)
        db.session.commit()
        first = anchored_seqs(org.id)
        traveller.shift(dt.timedelta(hours=1))
        probes(org, 1)
        db.session.commit()
        an_hour_later = anchored_seqs(org.id)
        traveller.shift(dt.timedelta(hours=24))
        probes(org, 1)
        db.session.commit()
        a_day_later = anchored_seqs(org.id)

    assert first == [2]  # no anchor yet: anchored on its first commit
    assert an_hour_later == [2]  # recent anchor, no burst: one small query, nothing written
    assert a_day_later == [2, 4]
    assert [(line["chain"], line["seq"]) for line in file_lines(anchor_file)] == [(org.id, 2), (org.id, 4)]
    assert audit.verify(org.id)[0].ok


def test_a_burst_of_writes_is_anchored_every_n_entries_without_any_command(
    app: Flask, app_ctx: Flask, auto_anchor: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_EVERY", 3)
    with time_machine.travel(T0, tick=False):
        org = f.SyndicateFactory()
        probes(org, 1)
        db.session.commit()
        for _ in range(7):
            probes(org, 1)
            db.session.commit()

    assert anchored_seqs(org.id) == [1, 3, 6]
    assert audit.verify(org.id)[0].ok


def test_without_the_switch_commits_anchor_nothing(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    probes(org, 2)
    db.session.commit()

    assert anchored_seqs(org.id) == []


def test_an_anchor_rolled_back_with_its_transaction_never_reaches_the_file(
    app: Flask, app_ctx: Flask, anchor_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its seq is taken again by another entry: a stale line would look like a rewritten chain."""
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_EVERY", 2)
    org = f.SyndicateFactory()
    probes(org, 1)
    db.session.commit()
    nested = db.session.begin_nested()
    probes(org, 1)  # entry 2, anchored as written …
    nested.rollback()  # … and rolled back with its savepoint
    probes(org, 1)  # entry 2 again, anchored as written, committed
    db.session.commit()
    probes(org, 2)  # entries 3 and 4, anchored as written …
    db.session.rollback()  # … and rolled back with the whole transaction
    probes(org, 2)  # entries 3 and 4 again, committed
    db.session.commit()

    chain = events(org.id)
    assert [(line["seq"], line["hash"]) for line in file_lines(anchor_file)] == [
        (2, chain[1].hash),
        (4, chain[3].hash),
    ]
    assert audit.verify(org.id)[0].ok


def test_a_failing_anchoring_never_fails_the_commit(
    app_ctx: Flask, auto_anchor: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_key() -> Any:
        raise OSError("key file unreadable")

    monkeypatch.setattr(audit.signing, "signing_key", broken_key)  # every caller looks it up there
    org = f.SyndicateFactory()
    probes(org, 2)
    with caplog.at_level(logging.ERROR, logger="egide.audit"):
        db.session.commit()

    assert [e.seq for e in events(org.id)] == [1, 2]
    assert anchored_seqs(org.id) == []
    assert "automatic anchoring failed" in caplog.text


# --- 6. the sweep ------------------------------------------------------------------------------


def test_the_sweep_anchors_a_chain_gone_quiet_and_costs_one_query_when_nothing_is_due(
    app: Flask, app_ctx: Flask, auto_anchor: None
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        org = f.SyndicateFactory()
        probes(org, 2)
        db.session.commit()  # anchored: first commit of the chain
        traveller.shift(dt.timedelta(hours=1))
        probes(org, 1)
        db.session.commit()  # recent anchor: not anchored
        assert audit.due_chains() == []
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement.split()[0].upper())

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with app.test_request_context("/", method="POST"):  # the sweep follows writes only
                audit.sweep_after_request(None)
            quiet = list(seen)
            seen.clear()
            traveller.shift(dt.timedelta(hours=24))
            with app.test_request_context("/", method="POST"):  # the sweep follows writes only
                audit.sweep_after_request(None)  # throttled: not even a query
            throttled = list(seen)
            app.extensions["egide_audit"]["next_sweep"] = 0.0
            with app.test_request_context("/", method="GET"):
                audit.sweep_after_request(None)  # a page that only reads: no sweep
            after_get = list(seen)
            with app.test_request_context("/", method="POST"):  # the sweep follows writes only
                audit.sweep_after_request(None)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)

    assert anchored_seqs(org.id) == [2, 3]
    assert [s for s in quiet if s in ("SELECT", "INSERT", "UPDATE", "DELETE")] == ["SELECT"]
    assert throttled == []
    assert after_get == throttled
    assert audit.verify(org.id)[0].ok


def test_a_failing_sweep_is_logged_and_the_request_goes_on(
    app: Flask,
    app_ctx: Flask,
    auto_anchor: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_key() -> Any:
        raise OSError("key file unreadable")

    monkeypatch.setattr(audit.signing, "signing_key", broken_key)  # every caller looks it up there
    org = f.SyndicateFactory()
    probes(org, 1)
    with caplog.at_level(logging.ERROR, logger="egide.audit"):
        db.session.commit()  # the anchoring on commit fails (logged): the chain stays due
        with app.test_request_context("/", method="POST"):  # the sweep follows writes only
            audit.sweep_after_request(None)  # raises nothing

    assert "anchoring sweep failed" in caplog.text
    assert [e.seq for e in events(org.id)] == [1]
    assert anchored_seqs(org.id) == []


def test_init_app_registers_the_sweep_after_requests() -> None:
    app = Flask(__name__)

    audit.init_app(app)

    assert audit.sweep_after_request in app.teardown_request_funcs[None]
    assert app.extensions["egide_audit"] == {"next_sweep": 0.0}


def test_a_post_through_the_application_anchors_a_due_chain_and_a_get_does_not(
    app: Flask, client: Any, auto_anchor: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if audit.sweep_after_request not in app.teardown_request_funcs.get(None, []):
        pytest.skip("core/__init__.py create_app does not call audit.init_app(app) yet")
    monkeypatch.setitem(app.config, "AUDIT_AUTO_ANCHOR", False)  # not anchored on commit …
    with app.app_context():
        org_id = f.SyndicateFactory().id
        probes(org_id, 1)
        db.session.commit()
    monkeypatch.setitem(app.config, "AUDIT_AUTO_ANCHOR", True)  # … but by the sweep

    read = client.get("/")
    with app.app_context():
        assert read.status_code in (200, 302)
        assert anchored_seqs(org_id) == []  # a request that only reads writes nothing
    written = client.post("/language", data={"lang": "fr", "next": "/"})

    with app.app_context():
        assert written.status_code == 302
        assert anchored_seqs(org_id) == [1]


# --- 7. the export for a witness ---------------------------------------------------------------


def test_the_export_checks_with_the_public_key_alone(app: Flask, app_ctx: Flask) -> None:
    first, second = f.SyndicateFactory(), f.SyndicateFactory()
    probes(first, 2)
    probes(second, 3)
    db.session.commit()
    runner = app.test_cli_runner()

    exported = runner.invoke(args=["audit", "anchor", "--export", "-"])
    pem = runner.invoke(args=["audit", "public-key"]).stdout

    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    public = load_pem_public_key(pem.encode())
    assert isinstance(public, Ed25519PublicKey)
    for line in lines:
        message = json.dumps(
            {k: line[k] for k in ("chain", "seq", "hash", "signed_at")}, sort_keys=True, separators=(",", ":")
        ).encode()
        public.verify(base64.b64decode(line["signature"]), message)  # raises if it does not check
    assert {(line["chain"], line["seq"]) for line in lines} >= {(first.id, 2), (second.id, 3)}
    assert "entrée n° 3 signée" in exported.stderr


def test_a_witness_copy_names_a_rewound_tail_even_without_the_anchor_file(
    app: Flask, app_ctx: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", None)  # lost, or in the attacker's hands
    witness = tmp_path / "witness.jsonl"
    org = f.SyndicateFactory(name="Syndicat Témoin")
    probes(org, 4)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "anchor", "--export", str(witness)]).exit_code == 0
    probes(org, 2)
    assert runner.invoke(args=["audit", "anchor", "--export", str(witness)]).exit_code == 0
    clean = runner.invoke(args=["audit", "verify", "--org", str(org.id), "--anchors", str(witness)])
    disable_audit_triggers()
    cut_tail(org.id, 3)

    database_only = runner.invoke(args=["audit", "verify", "--org", str(org.id)])
    witnessed = runner.invoke(args=["audit", "verify", "--org", str(org.id), "--anchors", str(witness)])

    assert clean.exit_code == 0, clean.output
    assert database_only.exit_code == 0  # the database alone cannot tell
    assert witnessed.exit_code == 1
    assert f"Chaîne {org.id} (Syndicat Témoin) : Journal altéré : première entrée en défaut n° 4" in (
        witnessed.output
    )


# --- 8. the demo ends anchored -----------------------------------------------------------------


def test_the_demo_ends_with_every_chain_anchored(app: Flask, app_ctx: Flask, auto_anchor: None) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "load"])

    heads = dict(db.session.execute(select(AuditHead.chain, AuditHead.seq).where(AuditHead.seq > 0)).all())
    anchored = dict(
        db.session.execute(
            select(AuditAnchor.chain, func.max(AuditAnchor.seq)).group_by(AuditAnchor.chain)
        ).all()
    )

    assert result.exit_code == 0, result.output
    assert len(heads) > 30
    assert {chain: anchored.get(chain) for chain in heads} == heads


def test_the_journal_pages_full_check_compares_the_chain_with_the_anchor_file(
    app: Flask, world: Any, login_as: Any
) -> None:
    """The quick check trusts the last signed anchor of the database; "vérification complète" also
    reads the anchor file kept outside it, so a rewound tail shows on the page."""
    org = world.a.syndicate
    with app.test_request_context():
        probes(org.id, 5)
        anchor_now()
        probes(org.id, 3)
        anchor_now()
        disable_audit_triggers()
        cut_tail(org.id, 5)
        db.session.commit()  # seen by the requests below (the test's transaction is still rolled back)
    client = login_as(world.a.users[Role.RSSI], org)

    quick = client.get("/journal/").get_data(as_text=True)
    full = client.get("/journal/?full=1").get_data(as_text=True)

    assert "fin du journal supprimée" not in quick
    assert "fin du journal supprimée" in full
