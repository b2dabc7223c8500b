"""The figures of an annual report: the scope (an organisation, or a syndicate and all its members)
as one SELECT of organisation ids, handed to every installed domain's ``yearly_figures`` in the
domains' order. ``reports`` names no domain: the organisations are read from their table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select

from core.db import Base
from core.domains import installed
from core.figures import YearlyFigures

SCOPE_ORGANISATION = "organisation"
SCOPE_MEMBERS = "members"
SCOPES = (SCOPE_ORGANISATION, SCOPE_MEMBERS)


def organisations_table() -> Any:
    return Base.metadata.tables["organisations"]


def scope_ids(org_id: int, scope: str) -> Select[Any]:
    """The organisations of a report: ``org_id`` alone, or (a syndicate's consolidated report) the
    syndicate and every organisation whose syndicate it is."""
    orgs = organisations_table()
    if scope == SCOPE_MEMBERS:
        return select(orgs.c.id).where(or_(orgs.c.id == org_id, orgs.c.syndicate_id == org_id))
    return select(orgs.c.id).where(orgs.c.id == org_id)


@dataclass
class AnnualFigures:
    year: int
    scope: str
    sections: list[YearlyFigures] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # domain → seconds (the benchmark)


def collect(
    org_id: int, year: int, scope: str, progress: Callable[[float], None] | None = None
) -> AnnualFigures:
    """Every installed domain's sections of ``year`` for the scope, in the domains' order."""
    ids = scope_ids(org_id, scope)
    found = AnnualFigures(year, scope)
    providers = [p for d in installed() for p in d.pieces() if p.yearly_figures is not None]
    for index, domain in enumerate(providers):
        started = time.perf_counter()
        found.sections.extend(domain.yearly_figures(ids, year))  # type: ignore[misc]
        found.timings[domain.name] = time.perf_counter() - started
        if progress is not None:
            progress((index + 1) / len(providers) * 0.4)
    return found
