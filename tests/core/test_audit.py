"""The audit trail: hash chains built by real writes, erasable payloads, signed anchors, and every
kind of tampering with the stored journal found by ``verify`` (hypothesis, raw SQL)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask
from flask_login import current_user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, bindparam, make_url, select, text
from sqlalchemy.exc import DBAPIError

from accounts.models import Organisation, OrgKind, OrgRelation, User
from accounts.services import organisations, users
from core import audit
from core.audit import GENESIS, AuditAnchor, AuditEvent, AuditHead, AuditPayload, Ref
from core.config import TestConfig
from core.db import UTCDateTime
from core.extensions import db
from core.security import Role
from tests import factories as f
from tests.conftest import World, acting_as

ON_POSTGRESQL = make_url(TestConfig.DATABASE_URL).get_backend_name() == "postgresql"


@pytest.fixture(autouse=True)
def signing_key_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with its own key, in a temporary file (never instance/)."""
    path = tmp_path / "audit_signing_key.pem"
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(path))
    monkeypatch.setitem(app.config, "AUDIT_TRUSTED_PUBLIC_KEY_FILES", ())
    return path


def disable_audit_triggers() -> None:
    """PostgreSQL refuses UPDATE and DELETE on the journal. Tampering tests switch the triggers off
    inside the test's own transaction (rolled back at the end; the suite runs as a superuser)."""
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "audit_payloads", "audit_anchors"):
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def events(chain: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq))
    )


def payload_of(event: AuditEvent) -> dict[str, Any] | None:
    return db.session.scalar(select(AuditPayload.data).where(AuditPayload.event_id == event.id))


def _org_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Commune d'Orly", "kind": "ville", "relation": "member", "city": "Orly"}
    return data | changes


# --- chains built by the services ----------------------------------------------------------------


def test_service_writes_build_a_chain_that_verifies(world: World, app_ctx: Flask) -> None:
    with acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        actor = current_user._get_current_object()
        data = _org_data(syndicate_id=world.a.syndicate.id)
        org = organisations.create_organisation(actor, data)
        organisations.update_organisation(
            org, actor, data | {"city": "Choisy-le-Roi", "version": org.version}
        )
        organisations.update_organisation(org, actor, data | {"name": "Ville d'Orly", "version": org.version})
        organisations.record_departure(org, actor, {"left_on": dt.date(2026, 1, 1), "version": org.version})

    chain = events(org.id)
    verdict = audit.verify_chain(org.id)

    assert [e.action for e in chain] == [
        "organisation.create",
        "organisation.update",
        "organisation.update",
        "organisation.leave",
    ]
    assert [e.seq for e in chain] == [1, 2, 3, 4]
    assert chain[0].prev_hash == GENESIS
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(chain))
    assert {e.actor_id for e in chain} == {world.a.users[Role.ADMIN].id}
    assert {e.organisation_id for e in chain} == {org.id}
    assert (verdict.ok, verdict.entries, verdict.first_broken_seq) == (True, 4, None)
    head = db.session.get(AuditHead, org.id)
    assert (head.seq, head.hash) == (4, chain[-1].hash)


def test_entry_keeps_the_field_by_field_change_and_the_request_context(world: World, app: Flask) -> None:
    request = app.test_request_context(
        environ_base={"REMOTE_ADDR": "203.0.113.7"}, headers={"User-Agent": "Probe/1.0"}
    )
    # Changing the type takes the platform permission (accounts.services.organisations.guard_structure).
    with request, acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        actor = current_user._get_current_object()
        org = db.session.get(Organisation, world.a.syndicate.id)
        organisations.update_organisation(
            org, actor, {"name": org.name, "city": "Créteil", "kind": "ept", "version": org.version}
        )
        last = events(org.id)[-1]
        data = payload_of(last)

    assert last.action == "organisation.update"
    assert data["changes"] == {"city": ["Ivry-sur-Seine", "Créteil"], "kind": ["syndicat", "ept"]}
    assert data["context"] == {"ip": "203.0.113.7", "user_agent": "Probe/1.0"}
    assert (
        last.payload_sha256
        == hashlib.sha256(
            json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
    )


def test_platform_events_go_to_chain_zero_and_organisation_events_to_their_own_chain(
    world: World, app_ctx: Flask
) -> None:
    with acting_as(world.a.users[Role.ADMIN], world.a.syndicate):
        actor = current_user._get_current_object()
        user = users.create_user(
            actor, {"full_name": "Nadia Martin", "email": "nadia@example.org", "password": "x" * 16}
        )
        users.grant_role(user, db.session.get(Organisation, world.b.member.id), Role.READER, actor)

    created = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.create", AuditEvent.object_id == user.id)
    ).one()
    granted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "membership.grant")).one()

    assert (created.chain, created.organisation_id) == (0, None)
    assert (granted.chain, granted.organisation_id, granted.seq) == (world.b.member.id, world.b.member.id, 1)
    assert all(v.ok for v in audit.verify())


def test_an_event_about_the_logged_in_user_names_the_user_not_the_proxy(world: World, app_ctx: Flask) -> None:
    """Services are handed ``current_user`` (a LocalProxy): the journal must still say "User", or
    the journal's visibility rules and the GDPR erasure of a user's entries would miss it."""
    user = world.a.users[Role.RSSI]
    with acting_as(user, world.a.syndicate):
        entry = audit.record(None, current_user, "password.change", current_user)
    assert (entry.object_type, entry.object_id) == ("User", user.id)


def test_entry_hash_follows_the_documented_formula(app_ctx: Flask) -> None:
    """An auditor can recompute every hash with nothing but hashlib and json (format pinned here)."""
    org = f.SyndicateFactory(name="Syndicat de l'Île-de-France")
    actor = f.UserFactory()
    audit.record(org, actor, "probe.créée", Ref("Probe", 7), {"ville": (None, "Évry-Courcouronnes")})
    audit.record(org.id, None, "probe.second", org, {})

    first, second = events(org.id)

    for prev, event in ((GENESIS, first), (first.hash, second)):
        content = {
            "chain": org.id,
            "seq": event.seq,
            "at": event.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            "actor_id": event.actor_id,
            "organisation_id": org.id,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "payload_sha256": event.payload_sha256,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event.hash == hashlib.sha256(prev.encode() + canonical.encode("utf-8")).hexdigest()
    assert (first.object_type, first.object_id, first.actor_id) == ("Probe", 7, actor.id)
    assert (second.object_type, second.object_id, second.actor_id) == ("Organisation", org.id, None)
    raw = json.dumps(payload_of(first), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "Évry-Courcouronnes" in raw
    assert first.payload_sha256 == hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_an_entry_lives_and_dies_with_the_business_transaction(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    audit.record(org, None, "probe.kept", Ref("Probe"))
    nested = db.session.begin_nested()
    audit.record(org, None, "probe.rolled_back", Ref("Probe"))
    nested.rollback()
    audit.record(org, None, "probe.after", Ref("Probe"))

    chain = events(org.id)

    assert [(e.seq, e.action) for e in chain] == [(1, "probe.kept"), (2, "probe.after")]
    assert audit.verify_chain(org.id).ok


def test_values_are_stored_as_json(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    changes = {
        "joined_on": (dt.date(2020, 1, 2), None),
        "at": (None, dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)),
        "kind": (OrgKind.VILLE, OrgKind.CCAS),
        "amount": (Decimal("1.10"), float("nan")),
        "tags": ({"b", "a"}, ("x", 1)),
    }
    audit.record(org, None, "probe.types", Ref("Probe"), changes)

    data = payload_of(events(org.id)[0])

    assert data["changes"] == {
        "joined_on": ["2020-01-02", None],
        "at": [None, "2026-11-24T09:30:00+00:00"],
        "kind": ["ville", "ccas"],
        "amount": ["1.10", "nan"],
        "tags": [["a", "b"], ["x", 1]],
    }
    assert audit.verify_chain(org.id).ok


def test_the_log_line_names_fields_but_never_their_values(
    app_ctx: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    org = f.SyndicateFactory()
    with caplog.at_level(logging.INFO, logger="egide.audit"):
        audit.record(org, None, "probe.secret", Ref("Probe"), {"dpo_email": (None, "secret@example.org")})

    assert "dpo_email" in caplog.text
    assert "probe.secret" in caplog.text
    assert "secret@example.org" not in caplog.text


def test_sinks_receive_the_entry_with_its_place_in_the_chain(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[audit.AuditEntry] = []
    monkeypatch.setattr(audit.chain, "sinks", [received.append])  # read by record(), in core.audit.chain
    org = f.SyndicateFactory()

    returned = audit.record(org, None, "probe.sink", Ref("Probe", 3), {"x": (1, 2)})

    assert received == [returned]
    assert (returned.chain, returned.seq, returned.object_id) == (org.id, 1, 3)
    assert returned.hash == events(org.id)[0].hash


def test_a_new_organisation_is_given_its_id_before_its_first_entry(app_ctx: Flask) -> None:
    org = Organisation(name="Commune nouvelle", kind=OrgKind.VILLE, relation=OrgRelation.MEMBER)
    db.session.add(org)

    entry = audit.record(org, None, "organisation.create", org)

    assert org.id is not None
    assert (entry.chain, entry.organisation_id, entry.object_id) == (org.id, org.id, org.id)


# --- GDPR erasure --------------------------------------------------------------------------------


def test_erasing_personal_data_keeps_the_chain_valid_and_is_reported(world: World, app_ctx: Flask) -> None:
    person = f.UserFactory(full_name="Personne Concernée")
    org = f.SyndicateFactory()
    audit.record(org, None, "probe.first", Ref("Probe"), {"note": (None, "avant")})
    audit.record(org, person, "probe.by_person", Ref("Probe"), {"email": ("a@example.org", "b@example.org")})
    audit.record(org, None, "probe.about_person", person, {"full_name": (None, "Personne Concernée")})
    audit.record(org, None, "probe.last", Ref("Probe"), {"note": (None, "après")})

    erased = audit.erase_personal_data(person.id, world.a.users[Role.ADMIN])
    chain = events(org.id)
    verdict = audit.verify_chain(org.id)

    assert erased == 2
    assert [payload_of(e) is None for e in chain] == [False, True, True, False]
    assert (verdict.ok, verdict.entries, verdict.erased_payloads) == (True, 4, 2)
    assert "2 détails effacés (RGPD)" in verdict.message()
    erasure = events(0)[-1]
    assert erasure.action == "audit.payload_erase"
    assert payload_of(erasure)["changes"] == {"erased": [None, 2], "subject_user_id": [None, person.id]}


def test_a_changed_payload_is_detected_but_an_erased_one_is_not_an_alteration(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    for n in range(3):
        audit.record(org, None, "probe", Ref("Probe", n), {"n": (None, n)})
    first, _second, third = events(org.id)
    disable_audit_triggers()
    audit.erase_payloads([first.id], None)
    db.session.execute(
        text("UPDATE audit_payloads SET data = :d WHERE event_id = :e").bindparams(
            bindparam("d", type_=JSON())
        ),
        {"d": {"changes": {"n": [None, 99]}, "context": {}}, "e": third.id},
    )

    verdict = audit.verify_chain(org.id)

    assert (verdict.ok, verdict.first_broken_seq, verdict.erased_payloads) == (False, 3, 1)
    assert "détail modifié" in verdict.reason


# --- anchors -------------------------------------------------------------------------------------


def test_anchoring_signs_the_heads_that_moved_with_a_key_outside_the_database(
    app_ctx: Flask, signing_key_file: Path
) -> None:
    org = f.SyndicateFactory()
    for n in range(3):
        audit.record(org, None, "probe", Ref("Probe", n))

    first = audit.anchor_heads()
    again = audit.anchor_heads()
    audit.record(org, None, "probe", Ref("Probe", 4))
    moved = audit.anchor_heads()

    mine = [a for a in first.anchors if a.chain == org.id]
    assert [(a.seq, a.hash) for a in mine] == [(3, events(org.id)[2].hash)]
    assert again.anchors == []
    assert [(a.chain, a.seq) for a in moved.anchors] == [(org.id, 4)]
    assert signing_key_file.exists()
    assert stat.S_IMODE(os.stat(signing_key_file).st_mode) == 0o600
    # The signature checks with the published key and the documented message, without Égide's code.
    public = load_pem_public_key(audit.public_key_pem().encode())
    assert isinstance(public, Ed25519PublicKey)
    anchor = moved.anchors[0]
    message = json.dumps(
        {
            "chain": anchor.chain,
            "seq": anchor.seq,
            "hash": anchor.hash,
            "signed_at": anchor.signed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    public.verify(base64.b64decode(anchor.signature), message)  # raises if it does not check
    verdict = audit.verify_chain(org.id)
    assert verdict.ok
    assert verdict.last_anchor is not None
    assert verdict.last_anchor.seq == 4
    assert "vérifié jusqu'à l'ancre n° 4" in verdict.message()


def test_anchors_are_also_copied_outside_the_database_when_asked(
    app: Flask, app_ctx: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "anchors.jsonl"
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_FILE", str(copy))
    org = f.SyndicateFactory()
    audit.record(org, None, "probe", Ref("Probe"))
    audit.anchor_heads()
    db.session.commit()  # anchors reach the file once committed
    audit.record(org, None, "probe", Ref("Probe"))
    anchors = audit.anchor_heads().anchors
    db.session.commit()

    lines = [json.loads(line) for line in copy.read_text().splitlines()]

    assert [(line["chain"], line["seq"]) for line in lines if line["chain"] == org.id] == [
        (org.id, 1),
        (org.id, 2),
    ]
    assert lines[-1] == {
        "chain": org.id,
        "seq": 2,
        "hash": anchors[0].hash,
        "signed_at": audit.iso_utc(anchors[0].signed_at),
        "signature": anchors[0].signature,
        "key_id": anchors[0].key_id,
    }


def test_the_signing_key_is_created_once_and_reused(app_ctx: Flask, signing_key_file: Path) -> None:
    first = audit.public_key_pem()
    content = signing_key_file.read_bytes()

    assert audit.public_key_pem() == first
    assert signing_key_file.read_bytes() == content
    assert b"PRIVATE KEY" in content


def test_verifying_never_creates_a_key(app_ctx: Flask, signing_key_file: Path) -> None:
    org = f.SyndicateFactory()
    audit.record(org, None, "probe", Ref("Probe"))

    verdict = audit.verify_chain(org.id)

    assert verdict.ok
    assert verdict.last_anchor is None
    assert "aucune ancre signée" in verdict.message()
    assert not signing_key_file.exists()


def test_a_forged_anchor_is_detected(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    for n in range(4):
        audit.record(org, None, "probe", Ref("Probe", n))
    audit.anchor_heads()
    disable_audit_triggers()
    # Moving an anchor onto another entry invalidates its signature.
    second = events(org.id)[1]
    db.session.execute(
        text("UPDATE audit_anchors SET seq = 2, hash = :h WHERE chain = :c"), {"h": second.hash, "c": org.id}
    )

    verdict = audit.verify_chain(org.id)

    assert (verdict.ok, verdict.first_broken_seq) == (False, 2)
    assert "signature invalide" in verdict.reason


def test_anchors_of_a_retired_key_check_once_its_public_key_is_trusted(
    app: Flask, app_ctx: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = f.SyndicateFactory()
    audit.record(org, None, "probe", Ref("Probe"))
    audit.anchor_heads()
    old_public = tmp_path / "old_public.pem"
    old_public.write_text(audit.public_key_pem())
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY_FILE", str(tmp_path / "new_key.pem"))
    audit.signing_key()  # the new key

    unknown = audit.verify_chain(org.id)
    monkeypatch.setitem(app.config, "AUDIT_TRUSTED_PUBLIC_KEY_FILES", (str(old_public),))
    trusted = audit.verify_chain(org.id)

    assert (unknown.ok, unknown.first_broken_seq) == (False, 1)
    assert "clé inconnue" in unknown.reason
    assert trusted.ok
    assert trusted.last_anchor is not None


def test_a_broken_chain_is_never_anchored(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    for n in range(3):
        audit.record(org, None, "probe", Ref("Probe", n))
    disable_audit_triggers()
    db.session.execute(
        text("UPDATE audit_events SET action = 'probe.forged' WHERE chain = :c AND seq = 2"), {"c": org.id}
    )

    result = audit.anchor_heads()

    assert [v.chain for v in result.refused] == [org.id]
    assert org.id not in {a.chain for a in result.anchors}
    assert db.session.scalar(select(AuditAnchor).where(AuditAnchor.chain == org.id)) is None


def test_a_rewritten_chain_is_caught_by_its_anchor(app_ctx: Flask) -> None:
    """Someone with write access recomputes every hash after a change: only the anchor can tell."""
    org = f.SyndicateFactory()
    for n in range(5):
        audit.record(org, None, "probe", Ref("Probe", n))
    audit.anchor_heads()
    disable_audit_triggers()
    prev = events(org.id)[1].hash
    for event in events(org.id)[2:]:
        content = event.content() | ({"action": "probe.rewritten"} if event.seq == 3 else {})
        new_hash = audit.entry_hash(prev, content)
        db.session.execute(
            text("UPDATE audit_events SET action = :a, prev_hash = :p, hash = :h WHERE id = :i"),
            {"a": content["action"], "p": prev, "h": new_hash, "i": event.id},
        )
        prev = new_hash
    db.session.execute(text("UPDATE audit_heads SET hash = :h WHERE chain = :c"), {"h": prev, "c": org.id})
    db.session.expire_all()

    verdict = audit.verify_chain(org.id)

    assert (verdict.ok, verdict.first_broken_seq) == (False, 5)
    assert "ne correspond plus à l'ancre" in verdict.reason


def _truncate(chain: int, keep: int, *, rewind_head: bool) -> None:
    params = {"c": chain, "k": keep}
    db.session.execute(
        text(
            "DELETE FROM audit_payloads WHERE event_id IN "
            "(SELECT id FROM audit_events WHERE chain = :c AND seq > :k)"
        ),
        params,
    )
    db.session.execute(
        text("DELETE FROM audit_events WHERE chain = :c AND seq > :k"), {"c": chain, "k": keep}
    )
    if rewind_head:
        last = db.session.scalar(
            text("SELECT hash FROM audit_events WHERE chain = :c AND seq = :k"), {"c": chain, "k": keep}
        )
        db.session.execute(
            text("UPDATE audit_heads SET seq = :k, hash = :h WHERE chain = :c"),
            {"k": keep, "h": last or GENESIS, "c": chain},
        )


def test_truncation_above_the_last_anchor_goes_unseen_only_if_the_head_is_rewound(app_ctx: Flask) -> None:
    """The limit of the design, stated: entries after the last anchor are vouched for by nothing."""
    org = f.SyndicateFactory()
    for n in range(5):
        audit.record(org, None, "probe", Ref("Probe", n))
        if n == 2:
            audit.anchor_heads()
    disable_audit_triggers()

    nested = db.session.begin_nested()
    _truncate(org.id, 4, rewind_head=False)
    careless = audit.verify_chain(org.id)
    nested.rollback()
    _truncate(org.id, 4, rewind_head=True)
    careful = audit.verify_chain(org.id)

    assert (careless.ok, careless.first_broken_seq) == (False, 5)
    assert "tête de chaîne" in careless.reason
    assert (careful.ok, careful.entries) == (True, 4)
    assert "vérifié jusqu'à l'ancre n° 3" in careful.message()
    assert "dernière entrée n'est pas encore ancrée" in careful.message()


# --- tampering, found by verify (hypothesis) ----------------------------------------------------

ACTIONS = ("organisation.update", "application.create", "login.success", "mfa.enrol", "journal.export")
TAMPERINGS = ("field", "delete", "swap", "truncate", "payload")
FIELDS = ("action", "object_id", "at", "actor_id")


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(3, 30))
    scenario: dict[str, Any] = {
        "events": draw(
            st.lists(
                st.tuples(
                    st.sampled_from(ACTIONS),
                    st.sampled_from((0, 1, None)),  # actor: first user, second user, nobody
                    st.none() | st.integers(1, 10_000),
                    st.dictionaries(
                        st.sampled_from(("name", "city", "notes")),
                        st.tuples(st.none() | st.text(max_size=8), st.text(max_size=8)),
                        max_size=2,
                    ),
                ),
                min_size=n,
                max_size=n,
            )
        ),
        "anchor_at": draw(st.integers(2, n)),
        "erased": draw(st.sets(st.integers(1, n), max_size=2)),
        "kind": draw(st.sampled_from(TAMPERINGS)),
    }
    kind = scenario["kind"]
    if kind == "field":
        scenario |= {"target": draw(st.integers(1, n)), "field": draw(st.sampled_from(FIELDS))}
    elif kind == "delete":
        scenario["target"] = draw(st.integers(2, n - 1))
    elif kind == "swap":
        scenario["pair"] = sorted(draw(st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True)))
    elif kind == "truncate":
        scenario["keep"] = draw(st.integers(0, scenario["anchor_at"] - 1))
    else:
        scenario["target"] = draw(st.integers(1, n))
        scenario["erased"] = scenario["erased"] - {scenario["target"]}
    return scenario


def _row(chain: int, seq: int) -> Any:
    return db.session.execute(
        text("SELECT * FROM audit_events WHERE chain = :c AND seq = :s"), {"c": chain, "s": seq}
    ).one()


FIELD_TAMPERINGS = {
    "action": "UPDATE audit_events SET action = action || '.x' WHERE chain = :c AND seq = :s",
    "object_id": (
        "UPDATE audit_events SET object_id = COALESCE(object_id, 0) + 1 WHERE chain = :c AND seq = :s"
    ),
    "at": "UPDATE audit_events SET at = :at WHERE chain = :c AND seq = :s",
    "actor_id": "UPDATE audit_events SET actor_id = :actor WHERE chain = :c AND seq = :s",
}
SWAP = (
    "UPDATE audit_events SET at = :at, actor_id = :actor_id, action = :action, object_type = :object_type, "
    "object_id = :object_id, payload_sha256 = :payload_sha256, prev_hash = :prev_hash, hash = :hash "
    "WHERE id = :id"
)
SWAPPED = ("at", "actor_id", "action", "object_type", "object_id", "payload_sha256", "prev_hash", "hash")


def _tamper(chain: int, scenario: dict[str, Any], users: list[User]) -> int:
    """Apply the scenario's tampering by raw SQL; return the seq verify must name."""
    kind = scenario["kind"]
    if kind == "field":
        target, name = scenario["target"], scenario["field"]
        row = _row(chain, target)
        params: dict[str, Any] = {"c": chain, "s": target}
        stmt = text(FIELD_TAMPERINGS[name])
        if name == "at":
            at = db.session.scalar(select(AuditEvent.at).where(AuditEvent.id == row.id))
            stmt = stmt.bindparams(bindparam("at", type_=UTCDateTime()))
            params["at"] = at + dt.timedelta(seconds=1)
        elif name == "actor_id":
            params["actor"] = users[0].id if row.actor_id != users[0].id else users[1].id
        db.session.execute(stmt, params)
        return target
    if kind == "delete":
        target = scenario["target"]
        event_id = _row(chain, target).id
        db.session.execute(text("DELETE FROM audit_payloads WHERE event_id = :e"), {"e": event_id})
        db.session.execute(text("DELETE FROM audit_events WHERE id = :e"), {"e": event_id})
        return target
    if kind == "swap":
        first, second = (_row(chain, s) for s in scenario["pair"])
        for row, other in ((first, second), (second, first)):
            values = {c: getattr(other, c) for c in SWAPPED}
            db.session.execute(text(SWAP), values | {"id": row.id})
        return scenario["pair"][0]
    if kind == "truncate":
        _truncate(chain, scenario["keep"], rewind_head=True)  # a careful attacker also rewinds the head
        return scenario["keep"] + 1
    target = scenario["target"]
    db.session.execute(
        text("UPDATE audit_payloads SET data = :d WHERE event_id = :e").bindparams(
            bindparam("d", type_=JSON())
        ),
        {"d": {"changes": {"forged": [None, True]}, "context": {}}, "e": _row(chain, target).id},
    )
    return target


@pytest.fixture
def tamper_world(app_ctx: Flask) -> tuple[Organisation, list[User]]:
    org = f.SyndicateFactory()
    users = [f.UserFactory(), f.UserFactory()]
    disable_audit_triggers()
    return org, users


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_verify_finds_every_tampering_and_names_the_first_broken_entry(
    tamper_world: tuple[Organisation, list[User]], scenario: dict[str, Any]
) -> None:
    org, users = tamper_world
    actors = [users[0], users[1], None]
    nested = db.session.begin_nested()
    try:
        for number, (action, actor, object_id, changes) in enumerate(scenario["events"], start=1):
            who = None if actor is None else actors[actor]
            audit.record(org, who, action, Ref("Probe", object_id), changes)
            if number == scenario["anchor_at"]:
                audit.anchor_heads()
        chain = events(org.id)
        audit.erase_payloads([chain[s - 1].id for s in scenario["erased"]], None)
        before = audit.verify_chain(org.id)
        assert (before.ok, before.entries) == (True, len(scenario["events"]))
        assert before.erased_payloads == len(scenario["erased"])
        assert before.last_anchor is not None
        assert before.last_anchor.seq == scenario["anchor_at"]

        expected = _tamper(org.id, scenario, users)
        db.session.expire_all()
        after = audit.verify_chain(org.id)

        assert not after.ok, scenario
        assert after.first_broken_seq == expected, (after.reason, scenario)
        assert f"n° {expected}" in after.message()
    finally:
        nested.rollback()


# --- the database itself refuses changes (PostgreSQL) ------------------------------------------


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the append-only triggers exist on PostgreSQL only")
def test_postgresql_refuses_to_change_or_delete_the_journal(app_ctx: Flask) -> None:
    org = f.SyndicateFactory()
    audit.record(org, None, "probe", Ref("Probe"), {"x": (None, 1)})
    audit.anchor_heads()
    refused = (
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
        "UPDATE audit_anchors SET seq = 99",
        "DELETE FROM audit_anchors",
        "UPDATE audit_payloads SET data = '{}'",
        "DELETE FROM audit_payloads",
    )
    for statement in refused:
        nested = db.session.begin_nested()
        with pytest.raises(DBAPIError, match=r"append-only|may only be erased"):
            db.session.execute(text(statement))
        nested.rollback()

    assert audit.erase_payloads([events(org.id)[0].id], None) == 1  # erasure stays possible
    assert audit.verify_chain(org.id).ok


# --- command line --------------------------------------------------------------------------------


def test_cli_verify_prints_one_line_per_chain_and_fails_on_a_broken_one(app: Flask, app_ctx: Flask) -> None:
    good = f.SyndicateFactory(name="Syndicat Intègre", short_name="SI")
    bad = f.SyndicateFactory(name="Syndicat Altéré")
    for org in (good, bad):
        for n in range(3):
            audit.record(org, None, "probe", Ref("Probe", n))
    runner = app.test_cli_runner()

    clean = runner.invoke(args=["audit", "verify"])
    disable_audit_triggers()
    db.session.execute(
        text("UPDATE audit_events SET object_id = 42 WHERE chain = :c AND seq = 2"), {"c": bad.id}
    )
    broken = runner.invoke(args=["audit", "verify"])
    only_good = runner.invoke(args=["audit", "verify", "--org", "SI"])
    by_id = runner.invoke(args=["audit", "verify", "--org", str(bad.id)])
    unknown = runner.invoke(args=["audit", "verify", "--org", "Nulle part"])

    assert clean.exit_code == 0, clean.output
    assert f"Chaîne {good.id} (Syndicat Intègre) : Journal intègre : 3 entrées vérifiées" in clean.output
    assert broken.exit_code == 1
    assert (
        f"Chaîne {bad.id} (Syndicat Altéré) : Journal altéré : première entrée en défaut n° 2"
        in broken.output
    )
    assert f"Chaîne {good.id} (Syndicat Intègre) : Journal intègre" in broken.output
    assert (only_good.exit_code, only_good.output.count("Chaîne ")) == (0, 1)
    assert (by_id.exit_code, by_id.output.count("Chaîne ")) == (1, 1)
    assert unknown.exit_code == 2
    assert "organisation inconnue" in unknown.output


def test_cli_anchor_and_public_key(app: Flask, app_ctx: Flask) -> None:
    org = f.SyndicateFactory(name="Syndicat Ancré")
    audit.record(org, None, "probe", Ref("Probe"))
    runner = app.test_cli_runner()

    anchored = runner.invoke(args=["audit", "anchor"])
    nothing = runner.invoke(args=["audit", "anchor"])
    key = runner.invoke(args=["audit", "public-key"])

    assert anchored.exit_code == 0, anchored.output
    assert f"Chaîne {org.id} (Syndicat Ancré) : entrée n° 1 signée" in anchored.output
    assert "Aucune chaîne n'a bougé" in nothing.output
    assert key.exit_code == 0
    pem = key.stdout[key.stdout.index("-----BEGIN") :]
    assert pem == audit.public_key_pem()
    assert isinstance(load_pem_public_key(pem.encode()), Ed25519PublicKey)


def test_heads_are_signed_every_n_entries_without_any_command(
    app: Flask, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUDIT_ANCHOR_EVERY: the journal anchors itself, so truncation below an anchor is detectable
    even where nobody schedules `flask audit anchor`."""
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_EVERY", 3)
    org = f.SyndicateFactory()
    db.session.flush()
    for n in range(7):
        audit.record(org, None, f"test.event{n}", org, {"n": (None, n)})
    anchors = list(db.session.scalars(select(AuditAnchor).where(AuditAnchor.chain == org.id)))
    assert [a.seq for a in anchors] == [3, 6]
    verdict = audit.verify_chain(org.id)
    assert verdict.ok
    assert verdict.last_anchor.seq == 6

    disable_audit_triggers()
    # The attacker truncates the tail and rewinds the head consistently: only the anchor tells.
    c = {"c": org.id}
    db.session.execute(
        text(
            "DELETE FROM audit_payloads WHERE event_id IN "
            "(SELECT id FROM audit_events WHERE chain = :c AND seq >= 5)"
        ),
        c,
    )
    db.session.execute(text("DELETE FROM audit_events WHERE chain = :c AND seq >= 5"), c)
    db.session.execute(
        text(
            "UPDATE audit_heads SET seq = 4, "
            "hash = (SELECT hash FROM audit_events WHERE chain = :c AND seq = 4) WHERE chain = :c"
        ),
        c,
    )
    broken = audit.verify_chain(org.id)
    assert not broken.ok
    assert broken.first_broken_seq <= 6


def test_quick_check_starts_after_the_last_anchor_and_full_check_sees_everything(
    app: Flask, app_ctx: Flask
) -> None:
    org = f.SyndicateFactory()
    db.session.flush()
    for n in range(5):
        audit.record(org, None, f"test.before{n}", org, {"n": (None, n)})
    assert audit.anchor_heads().anchors
    for n in range(3):
        audit.record(org, None, f"test.after{n}", org, {"n": (None, n)})

    quick = audit.verify_chain(org.id, from_last_anchor=True)
    assert quick.ok
    assert quick.verified_from == 6
    assert quick.entries == 3
    assert "depuis l'ancre signée n° 5" in quick.message()

    disable_audit_triggers()  # tamper before the anchor: only the full walk recomputes that part
    db.session.execute(
        text("UPDATE audit_events SET action = 'forged' WHERE chain = :c AND seq = 2"), {"c": org.id}
    )
    assert audit.verify_chain(org.id, from_last_anchor=True).ok
    full = audit.verify_chain(org.id)
    assert not full.ok
    assert full.first_broken_seq == 2

    db.session.execute(
        text("UPDATE audit_events SET action = 'forged' WHERE chain = :c AND seq = 7"), {"c": org.id}
    )
    after = audit.verify_chain(org.id, from_last_anchor=True)
    assert not after.ok
    assert after.first_broken_seq == 7
