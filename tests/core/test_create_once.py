"""Records there may be only one of — an organisation's parcours, risk scale and public register, the
SoA entry of a control — created by two people at the same instant (core.concurrency.create_once):
the second save sees the first one's record, not a 500; it gets the conflict (both versions), and
nothing of its own is written, journal included.

The race is played by giving the service a stale first read: it looks for the record, finds none
(the other request had not committed yet), then writes — and meets the other's row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.concurrency import EditConflict
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from registers.services import publication as pub
from risks.services import parcours as parcours_svc
from risks.services import scale as scales
from smsi import reference as smsi_ref
from smsi.services import soa
from tests.conftest import World, acting_as


def _stale_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """``module.name`` answers None on its first call (the read before the other commit), then truly."""
    real: Callable[..., Any] = getattr(module, name)
    calls = {"n": 0}

    def stale(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(*args, **kwargs)

    monkeypatch.setattr(module, name, stale)


def _journal_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


@pytest.fixture
def as_rssi(world: World, app: Flask) -> Iterator[tuple[Any, Any]]:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        yield db.session.merge(world.a.syndicate), db.session.merge(world.a.users[Role.RSSI])


SCALE = {
    "likelihood_labels": ["Rare", "Probable"],
    "impact_labels": ["Faible", "Fort"],
    "acceptance_level": "low",
}


@pytest.mark.parametrize(
    ("module", "lookup", "first", "second"),
    [
        (
            parcours_svc,
            "parcours_of",
            lambda org, actor: parcours_svc.save_parcours(org, actor, {"selected_on": dt.date(2021, 6, 1)}),
            lambda org, actor: parcours_svc.save_parcours(
                org, actor, {"selected_on": dt.date(2022, 1, 3), "provider": "Second"}
            ),
        ),
        (
            scales,
            "_stored",
            lambda org, actor: scales.save_scale(org, actor, dict(SCALE)),
            lambda org, actor: scales.save_scale(org, actor, {**SCALE, "acceptance_level": "moderate"}),
        ),
        (
            pub,
            "publication_of",
            lambda org, actor: pub.save_publication(org, actor, {"slug": "premier", "fields": []}),
            lambda org, actor: pub.save_publication(org, actor, {"slug": "second", "fields": []}),
        ),
        (
            soa,
            "entry_of",
            lambda org, actor: soa.save_entry(org, actor, smsi_ref.controls()[0], _soa_form()),
            lambda org, actor: soa.save_entry(
                org, actor, smsi_ref.controls()[0], _soa_form(status="implemented")
            ),
        ),
    ],
    ids=["parcours", "risk scale", "public register", "SoA entry"],
)
def test_the_second_first_save_gets_the_conflict_and_writes_nothing(
    as_rssi: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    lookup: str,
    first: Callable[[Any, Any], Any],
    second: Callable[[Any, Any], Any],
) -> None:
    org, actor = as_rssi
    theirs = first(org, actor)
    db.session.flush()
    journal = _journal_count()
    _stale_once(monkeypatch, module, lookup)
    with pytest.raises(EditConflict) as conflict:
        second(org, actor)
    assert conflict.value.obj.id == theirs.id  # the page shows theirs beside what was typed
    assert _journal_count() == journal  # nothing of ours journalled
    db.session.expire_all()


def _soa_form(**changes: Any) -> dict[str, Any]:
    return {
        "applicable": "yes",
        "reasons": ["risk"],
        "status": "partial",
        "owner_id": "",
        "implementation": "Politique adoptée.",
        "evidence": "",
        "exclusion_justification": "",
        "version": "",
        **changes,
    }


def test_a_public_address_taken_at_the_same_instant_is_said_beside_the_field(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address was checked free, then another organisation saved it first: a message beside
    the address, for a first save as for a change, and nothing written."""
    with app.test_request_context(), acting_as(world.b.users[Role.DPO], world.b.syndicate):
        pub.save_publication(db.session.merge(world.b.syndicate), None, {"slug": "commune", "fields": []})
        db.session.commit()  # B's request ends
    monkeypatch.setattr(pub, "ensure_unique", lambda *args, **kwargs: None)  # checked before B saved
    with app.test_request_context(), acting_as(world.a.users[Role.DPO], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        journal = _journal_count()
        with pytest.raises(FieldError) as first_save:
            pub.save_publication(org, None, {"slug": "commune", "fields": []})
        assert first_save.value.field == "slug"
        assert pub.publication_of(org) is None
        mine = pub.save_publication(org, None, {"slug": "la-mienne", "fields": []})
        db.session.flush()
        journal = _journal_count()
        with pytest.raises(FieldError) as change:
            pub.save_publication(org, None, {"slug": "commune", "fields": [], "version": mine.version})
        assert change.value.field == "slug"
        assert _journal_count() == journal
        db.session.expire_all()
        assert pub.publication_of(org).slug == "la-mienne"
