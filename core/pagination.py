"""One small pagination helper: every list page goes through it.

A search's page may count its matches up to a cap (:func:`paginate_capped`, "1 à 25 sur plus de
1 000"): counting every row a broad search matches ("pare-feu" in 70,000 actions) reads them all
from the trigram index and the table, a tenth of a second for a figure no one reads past "many".
Such a page counts at most ``cap`` rows — or, deeper, as many as the pages before it and this one —
and says "more than" beyond; the pages stay reachable one after the other. Lists without a search
keep their exact count (:func:`paginate`); ``templates/_macros/lists.html``'s ``pagination`` shows
both."""

from __future__ import annotations

import collections
import functools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import current_app
from flask_babel import format_number
from sqlalchemy import Select, bindparam, func, literal_column, select

from core.extensions import db
from core.params import int_arg, page_arg  # the app's one parser of query parameters
from core.tenancy import execute_rows


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    # More rows match than ``total``, which was not counted past a cap: only a CappedPage's may be.
    over: ClassVar[bool] = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def count_statement(stmt: Select[Any]) -> Select[Any]:
    """``SELECT count(*)`` of the rows ``stmt`` would return, the cheap way: over its FROM and WHERE
    only (no ORDER BY, no columns, so no entity, eager load or JSON column), unless the columns decide
    the rows (DISTINCT, GROUP BY, a LIMIT). Keeps ``stmt``'s execution options (``UNSCOPED``)."""
    inner = stmt.order_by(None)
    if not (
        inner._distinct
        or inner._distinct_on
        or inner._group_by_clauses
        or inner._having_criteria
        or inner._limit_clause is not None
        or inner._offset_clause is not None
        or inner._fetch_clause is not None
    ):
        inner = inner.with_only_columns(literal_column("1"), maintain_column_froms=True)
    counted = select(func.count()).select_from(inner.subquery())
    return counted.execution_options(**stmt.get_execution_options())


LIMIT_PARAM, OFFSET_PARAM = "egide_page_limit", "egide_page_offset"


def _limited(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` with its LIMIT and OFFSET as named parameters (SQLAlchemy makes them parameters too,
    unnamed): one statement for every page of a list, given the page's bounds when run."""
    return stmt.limit(bindparam(LIMIT_PARAM)).offset(bindparam(OFFSET_PARAM))


# The count and the bounded form of each list statement still in use, by statement. A list whose
# statement is built once (core.tenancy.reused_per_organisation) then gets the same three statements
# on every page, and SQLAlchemy finds their compiled SQL without walking them again (a walk of a
# list's statement cost 20 to 40 µs, two or three a page). A statement built anew on each page gets
# its own, gone with it (weak keys).
_DERIVED: weakref.WeakKeyDictionary[Select[Any], dict[Callable[..., Any], Select[Any]]] = (
    weakref.WeakKeyDictionary()
)
_DERIVED_LOCK = threading.Lock()


def _derived(stmt: Select[Any], make: Callable[[Select[Any]], Select[Any]]) -> Select[Any]:
    with _DERIVED_LOCK:
        made = _DERIVED.setdefault(stmt, {})
        found = made.get(make)
        if found is None:
            found = made[make] = make(stmt)
        return found


def paginate(
    stmt: Select[Any], *, per_page: int | None = None, scalars: bool = True, total: int | None = None
) -> Page:
    """Run ``stmt`` for the page named by ``?page=`` (and ``?per_page=``, capped).

    ``scalars=False``: ``stmt`` selects columns (what a list shows), the page holds rows.
    ``total``: the number of rows ``stmt`` returns, when the page already knows it (then no count)."""
    cfg = current_app.config
    per_page = per_page or int_arg("per_page", cfg["PAGE_SIZE"]) or cfg["PAGE_SIZE"]
    per_page = min(per_page, cfg["MAX_PAGE_SIZE"])
    page = page_arg()
    if total is None:
        counted = _derived(stmt, count_statement)
        total = (execute_rows(counted).scalar() if not scalars else db.session.scalar(counted)) or 0
    last = max(1, -(-total // per_page))
    page = min(page, last)
    limited = _derived(stmt, _limited)
    bounds = {LIMIT_PARAM: per_page, OFFSET_PARAM: (page - 1) * per_page}
    if scalars:
        items = list(db.session.scalars(limited, bounds).unique())
    else:
        result = execute_rows(limited, bounds)
        make = _row_type(tuple(result.keys()))._make
        items = list(map(make, result.all()))  # all(): one fetch of the page, not one a row
    return Page(items=items, total=total, page=page, per_page=per_page)


@functools.lru_cache(maxsize=256)
def _row_type(fields: tuple[str, ...]) -> Any:
    """A list's rows as named tuples: read as SQLAlchemy's rows are (``row.name``, ``row[0]``,
    unpacking), but a field is read in 20 ns, not 500 — a template reads 15 of them a row (a
    register list page read 800: 0.4 ms)."""
    return collections.namedtuple("ListRow", fields, rename=True)


# --- a search's page, counted up to a cap ---------------------------------------------------------

SEARCH_COUNT_CAP = 1000


@dataclass
class CappedPage(Page):
    """A :class:`Page` whose ``total`` may be a floor: with ``over``, more rows match than ``total``
    (they were not counted), and there is a page after the counted ones."""

    over: bool = False  # type: ignore[misc]  # a field here, Page's constant False elsewhere

    @property
    def pages(self) -> int:
        counted = max(1, -(-self.total // self.per_page))
        return counted + 1 if self.over else counted

    @property
    def total_text(self) -> str:
        """The total in the reader's language ("1 000", "1,000")."""
        return str(format_number(self.total))


def paginate_capped(stmt: Select[Any], *, cap: int | None = None, per_page: int | None = None) -> CappedPage:
    """:func:`paginate` (``?page=``, ``?per_page=``; scalar rows) counting at most
    ``max(cap, page × per_page)`` rows of ``stmt`` (``cap``: SEARCH_COUNT_CAP): the page's rows and
    the ones before it are read anyway; the ones after it are not counted."""
    cap = SEARCH_COUNT_CAP if cap is None else cap
    cfg = current_app.config
    per_page = per_page or int_arg("per_page", cfg["PAGE_SIZE"]) or cfg["PAGE_SIZE"]
    per_page = min(per_page, cfg["MAX_PAGE_SIZE"])
    page = page_arg()
    limit = max(cap, page * per_page)
    rows = stmt.order_by(None).with_only_columns(literal_column("1"), maintain_column_froms=True)
    counted = (
        db.session.scalar(
            select(func.count())
            .select_from(rows.limit(limit + 1).subquery())
            .execution_options(**stmt.get_execution_options())
        )
        or 0
    )
    over = counted > limit
    total = limit if over else counted
    if not over:
        page = min(page, max(1, -(-total // per_page)))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return CappedPage(items=items, total=total, page=page, per_page=per_page, over=over)
