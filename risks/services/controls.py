"""What the risks domain knows of the Annex A controls, for the Statement of Applicability's pages
(shown there by :mod:`risks.panels`, the SMSI importing nothing of the risks): the active
organisation's risks that cite a control (``Risk.control_ids``), the SMSI corrective actions that
treat those risks (``risk_actions``), and the actions of the parcours measures and of the EBIOS RM
measures that answer the control (their own ``control_ids``).

Finding the rows that cite a control: ``control_ids`` is a JSON list of identifiers, a ``json``
column on PostgreSQL and text on SQLite, whose JSON functions differ. The statements therefore
match the list's text (:func:`cites`): a JSON string is always written between double quotes, and a
control identifier holds only letters, digits and dots (each one checked against Annex A when it is
saved), so ``"A.5.1"``, quotes included, finds A.5.1 in ``["A.5.1", "A.8.13"]`` and never A.5.10.
No index would serve either way; an organisation has a few hundred risks and measures at most.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, cast, null, select, union_all

from core.db import local_today
from core.extensions import db
from core.tenancy import current_org, scoped
from risks import reference as ref
from risks.models import EbiosMeasure, EbiosStudy, ParcoursMeasure, Risk, Treatment, risk_actions
from risks.services import scale as scales
from risks.services.risks import current_cell
from smsi import reference as annex_a
from smsi.services import actions as smsi_actions

Action = smsi_actions.Action


def cites(column: Any, control_id: str) -> ColumnElement[bool]:
    """``column`` (a JSON list of control identifiers) holds ``control_id`` (see the module's note)."""
    return cast(column, String).contains(json.dumps(control_id), autoescape=True)


def _ids(value: Any) -> list[str]:
    """A ``control_ids`` value as read: a list (or its JSON text, should a driver hand one back)."""
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value or ()]


@dataclass(frozen=True)
class LinkedRisk:
    id: int
    reference: str
    title: str
    level: ref.Level | None  # as the risk stands now: residual once rated, else inherent
    is_residual: bool
    treatment: Treatment | None
    accepted_by: str | None


@dataclass(frozen=True)
class Source:
    """Why an action answers the control: the risk it treats, or the measure it carries out."""

    kind: str  # "risk", "parcours", "ebios"
    label: str  # "RSK-004", "T8", "EBIOS-001 — MFA"
    target_id: int | None = None  # the risk, the EBIOS RM study


@dataclass
class LinkedAction:
    id: int
    reference: str
    title: str
    status: Any  # smsi's ActionStatus
    due_on: date
    is_open: bool
    is_late: bool  # open and past its due date
    sources: list[Source] = field(default_factory=list)


@dataclass(frozen=True)
class ControlLinks:
    risks: list[LinkedRisk]
    actions: list[LinkedAction]


def _action_columns() -> tuple[Any, ...]:
    a = Action
    return (a.id, a.reference, a.title, a.status, a.due_on, a.is_open)


def control_links(control_id: str) -> ControlLinks:
    """The active organisation's risks citing ``control_id`` (highest current level first) and the
    actions answering it (open ones first, by due date), each action once with every reason it is
    here: one query per kind — risks, their actions, parcours measures, EBIOS RM measures — and the
    scale's."""
    if annex_a.control(control_id) is None:
        return ControlLinks([], [])
    risks = _risks(control_id)
    actions: dict[int, LinkedAction] = {}
    on = local_today()

    def add(row: Any, source: Source) -> None:
        action_id, reference, title, status, due_on, is_open = row[-6:]
        found = actions.get(action_id)
        if found is None:
            late = bool(is_open) and due_on < on
            found = actions[action_id] = LinkedAction(
                action_id, reference, title, status, due_on, is_open, late
            )
        if source not in found.sources:
            found.sources.append(source)

    if risks:
        by_id = {r.id: r for r in risks}
        ra = risk_actions.c
        stmt = (
            scoped(select(ra.risk_id, *_action_columns()), Action)
            .select_from(risk_actions)
            .join(Action, Action.id == ra.action_id)
            .where(ra.risk_id.in_(list(by_id)))
        )
        for row in db.session.execute(stmt):
            add(row, Source("risk", by_id[row.risk_id].reference, row.risk_id))
    m = ParcoursMeasure
    stmt = (
        scoped(select(m.theme, *_action_columns()), m)
        .join(Action, Action.id == m.action_id)
        .where(cites(m.control_ids, control_id))
    )
    for row in db.session.execute(stmt):
        add(row, Source("parcours", row.theme))
    e, s = EbiosMeasure, EbiosStudy
    stmt = (
        scoped(
            select(
                e.title.label("measure"),
                s.id.label("study_id"),
                s.reference.label("study"),
                *_action_columns(),
            ),
            e,
        )
        .join(s, s.id == e.study_id)
        .join(Action, Action.id == e.action_id)  # a measure without its action (deleted) has nothing to show
        .where(cites(e.control_ids, control_id))
    )
    for row in db.session.execute(stmt):
        add(row, Source("ebios", f"{row.study} — {row.measure}", row.study_id))
    ordered = sorted(actions.values(), key=lambda a: (not a.is_open, a.due_on, a.reference))
    return ControlLinks(risks, ordered)


def _risks(control_id: str) -> list[LinkedRisk]:
    r = Risk
    likelihood, impact = current_cell()
    stmt = (
        scoped(
            select(
                r.id, r.reference, r.title, r.likelihood, r.impact, r.residual_likelihood,
                r.residual_impact, r.treatment, r.accepted_by,
            ),
            r,
        )
        .where(cites(r.control_ids, control_id))
        .order_by((likelihood * impact).desc(), impact.desc(), r.reference)
    )  # fmt: skip
    rows = db.session.execute(stmt).all()
    if not rows:
        return []
    scale = scales.scale_of(current_org.id)
    out = []
    for row in rows:
        residual = scale.level_or_none(row.residual_likelihood, row.residual_impact)
        level = residual or scale.level_or_none(row.likelihood, row.impact)
        out.append(
            LinkedRisk(
                row.id, row.reference, row.title, level, residual is not None, row.treatment, row.accepted_by
            )
        )
    return out


@dataclass(frozen=True)
class LinkCounts:
    risks: int
    actions: int


def link_counts() -> dict[str, LinkCounts]:
    """For the whole statement (its list page): control id → how many of the active organisation's
    risks cite it and how many SMSI actions answer it, counted as :func:`control_links` does — in
    one query (the risks with their actions, the parcours and EBIOS RM measures with theirs: id and
    identifiers only), the lists read here (a few hundred rows at most)."""
    r, m, e = Risk, ParcoursMeasure, EbiosMeasure
    ra = risk_actions.c
    no_risk = cast(null(), Integer)
    stmt = union_all(
        scoped(select(r.id, r.control_ids, ra.action_id), r).outerjoin(risk_actions, ra.risk_id == r.id),
        scoped(select(no_risk, m.control_ids, m.action_id), m),
        scoped(select(no_risk, e.control_ids, e.action_id), e).where(e.action_id.is_not(None)),
    )
    risks: dict[str, set[int]] = {}
    actions: dict[str, set[int]] = {}
    for risk_id, control_ids, action_id in db.session.execute(stmt):
        for control_id in _ids(control_ids):
            if risk_id is not None:
                risks.setdefault(control_id, set()).add(risk_id)
            if action_id is not None:
                actions.setdefault(control_id, set()).add(action_id)
    return {
        c: LinkCounts(len(risks.get(c, ())), len(actions.get(c, ())))
        for c in _known(risks.keys() | actions.keys())
    }


def _known(control_ids: Iterable[str]) -> list[str]:
    return [c for c in control_ids if annex_a.control(c) is not None]
