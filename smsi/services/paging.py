"""A search's page with a capped count: "1 à 25 sur plus de 1 000".

Counting every row a broad search matches ("pare-feu" in 70,000 actions) reads them all from the
trigram index and the table: a tenth of a second for a figure no one reads past "many". A search's
page counts at most ``cap`` rows — or, deeper, as many as the pages before it and this one — and
says "more than" beyond; the pages stay reachable one after the other. Lists without a search keep
their exact count (:func:`core.pagination.paginate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import format_number
from sqlalchemy import Select, func, literal_column, select

from core.extensions import db
from core.pagination import Page
from core.params import int_arg, page_arg

SEARCH_COUNT_CAP = 1000


@dataclass
class CappedPage(Page):
    """A :class:`core.pagination.Page` whose ``total`` may be a floor: with ``over``, more rows
    match than ``total`` (they were not counted), and there is a page after the counted ones."""

    over: bool = False

    @property
    def pages(self) -> int:
        counted = max(1, -(-self.total // self.per_page))
        return counted + 1 if self.over else counted

    @property
    def total_text(self) -> str:
        """The total in the reader's language ("1 000", "1,000")."""
        return str(format_number(self.total))


def paginate_capped(stmt: Select[Any], *, cap: int | None = None, per_page: int | None = None) -> CappedPage:
    """:func:`core.pagination.paginate` (``?page=``, ``?per_page=``; scalar rows) counting at most
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
