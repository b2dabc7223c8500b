"""Anchoring: which chain heads to sign, when, and the check before signing — by hand (``flask audit
anchor``: :func:`anchor_heads`) or without an operator (on commit, and in a sweep after requests:
:func:`init_app`). See :mod:`core.audit` for the design.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from core.audit import signing
from core.audit.models import _APPENDED, _AUTO_ANCHORING, AuditAnchor, AuditHead
from core.audit.signing import _new_anchor, trusted_public_keys
from core.audit.verification import ChainVerdict, Erasures, verify_chain
from core.db import utcnow
from core.extensions import db

logger = logging.getLogger("egide.audit")


# --- anchoring ---------------------------------------------------------------------------------


@dataclass
class AnchoringResult:
    anchors: list[AuditAnchor] = field(default_factory=list)
    refused: list[ChainVerdict] = field(default_factory=list)  # broken chains are never signed


def anchor_heads(chains: Iterable[int] | None = None, *, full: bool = True) -> AnchoringResult:
    """Sign the head of every chain (or of these ``chains``) that moved since its last anchor, after
    verifying it — entirely (``full``), or from its last anchor on (the automatic anchoring).

    Adds the anchors to ``db.session`` and flushes; the caller commits (the anchor file gets them
    then).
    """
    key = signing.signing_key()  # looked up in its module, where tests replace it
    keys = trusted_public_keys()
    heads_query = select(AuditHead.chain, AuditHead.seq).where(AuditHead.seq > 0).order_by(AuditHead.chain)
    anchored_query = select(AuditAnchor.chain, func.max(AuditAnchor.seq)).group_by(AuditAnchor.chain)
    if chains is not None:
        wanted = sorted(set(chains))
        heads_query = heads_query.where(AuditHead.chain.in_(wanted))
        anchored_query = anchored_query.where(AuditAnchor.chain.in_(wanted))
    anchored = dict(db.session.execute(anchored_query).all())
    result = AnchoringResult()
    erasures = Erasures()
    for head in db.session.execute(heads_query).all():
        if anchored.get(head.chain, 0) >= head.seq:
            continue
        verdict = verify_chain(head.chain, keys=keys, last_anchor_only=not full, erasures=erasures)
        if not verdict.ok:
            logger.error("audit chain %s is broken at %s: not anchored", head.chain, verdict.first_broken_seq)
            result.refused.append(verdict)
            continue
        result.anchors.append(_new_anchor(head.chain, verdict.last_seq, verdict.last_hash, key))
    db.session.flush()
    return result


# --- automatic anchoring -----------------------------------------------------------------------
#
# No job queue yet: anchors are placed by the writes themselves. (1) Every AUDIT_ANCHOR_EVERY entries
# of a chain, as they are appended (_append): a burst of writes, even in one transaction. (2) On the
# commit of a transaction that appended to a chain, if that chain has no anchor yet or a last anchor
# older than AUDIT_ANCHOR_MAX_AGE: one small query per such commit, and the anchor joins the
# transaction (the chain's head is locked by it: the anchor signs exactly what it wrote). (3) For a
# chain that moved and then went quiet, a sweep after a request, at most every
# AUDIT_ANCHOR_SWEEP_MINUTES per process: one small query, and a write only when a chain is due.
# Trade-off, stated: a request that only reads (a GET) may then write anchors — at most once per
# sweep interval per process, and only when some chain has entries older than the max age that no
# anchor covers; a GET with nothing to anchor never writes. The job queue will take this over.
# None of it may fail a request: errors are logged and the request goes on. AUDIT_AUTO_ANCHOR turns
# (2) and (3) off (the tests place their anchors themselves).


def _max_age() -> timedelta:
    value = current_app.config.get("AUDIT_ANCHOR_MAX_AGE") or timedelta(hours=24)
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def due_chains(chains: Iterable[int] | None = None) -> list[int]:
    """The chains (all, or among ``chains``) whose head moved since their last anchor and which have
    no anchor, or a last anchor older than ``AUDIT_ANCHOR_MAX_AGE``. One query (two index look-ups
    per head). (A burst of writes is anchored as it is written: see ``AUDIT_ANCHOR_EVERY``.)"""
    cutoff = utcnow() - _max_age()

    def last(column: Any) -> Any:
        return (
            select(column)
            .where(AuditAnchor.chain == AuditHead.chain)
            .order_by(AuditAnchor.seq.desc(), AuditAnchor.id.desc())
            .limit(1)
            .correlate(AuditHead)
            .scalar_subquery()
        )

    anchored_seq, anchored_at = func.coalesce(last(AuditAnchor.seq), 0), last(AuditAnchor.signed_at)
    query = select(AuditHead.chain).where(
        AuditHead.seq > anchored_seq, or_(anchored_at.is_(None), anchored_at < cutoff)
    )
    if chains is not None:
        query = query.where(AuditHead.chain.in_(sorted(set(chains))))
    return list(db.session.scalars(query.order_by(AuditHead.chain)))


@event.listens_for(Session, "before_commit")
def _anchor_on_commit(session: Session) -> None:
    appended = session.info.get(_APPENDED)
    if not appended or session.in_nested_transaction() or session.info.get(_AUTO_ANCHORING):
        return
    if not has_app_context() or not current_app.config.get("AUDIT_AUTO_ANCHOR"):
        return
    if session is not db.session:
        return
    session.info[_AUTO_ANCHORING] = True
    try:
        due = due_chains(appended)
        if due:
            with session.begin_nested():  # a failure undoes the anchors only, never the commit
                anchor_heads(due, full=False)
    except Exception:
        logger.exception("audit: automatic anchoring failed (chains %s); the commit goes on", appended)
    finally:
        session.info.pop(_AUTO_ANCHORING, None)


def sweep() -> list[AuditAnchor]:
    """Anchor every chain that is due (see :func:`due_chains`); the caller commits."""
    due = due_chains()
    return anchor_heads(due, full=False).anchors if due else []


_sweep_lock = threading.Lock()


def _sweep_slot(app: Flask) -> bool:
    """True at most once every ``AUDIT_ANCHOR_SWEEP_MINUTES`` per process (and application)."""
    state = app.extensions.setdefault("egide_audit", {"next_sweep": 0.0})
    now = time.monotonic()
    with _sweep_lock:
        if now < state["next_sweep"]:
            return False
        state["next_sweep"] = now + 60 * float(app.config.get("AUDIT_ANCHOR_SWEEP_MINUTES", 10))
    return True


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sweep_after_request(exc: BaseException | None = None) -> None:
    """``teardown_request``: the throttled sweep. Runs after the view, in the request's session once
    rolled back (what the view left uncommitted is dropped at teardown anyway); never raises.

    Only after a request that may write (POST…): a request that only reads never writes to the
    database (with SQLite, a GET that commits competes with the other workers for the one write
    lock). Logins are POSTs, so a chain that moved is still anchored within a day of activity; the
    job queue will take this over (daily schedule)."""
    if exc is not None or not has_request_context() or request.method in SAFE_METHODS:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("AUDIT_AUTO_ANCHOR") or not _sweep_slot(app):
        return
    session = db.session
    try:
        session.rollback()
        if sweep():
            session.commit()
    except Exception:
        logger.exception("audit: anchoring sweep failed; the request goes on")
        try:
            session.rollback()
        except Exception:
            logger.exception("audit: rollback after the anchoring sweep failed")


def init_app(app: Flask) -> None:
    """Register the anchoring sweep (the anchoring on commit needs no registration)."""
    app.extensions.setdefault("egide_audit", {"next_sweep": 0.0})
    app.teardown_request(sweep_after_request)
