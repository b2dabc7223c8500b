"""Numbers and dates that come from outside (URL, query string, posted form): parsed in one place,
and bounded where they enter.

Unbounded, a 20-digit id reaches the database and fails there (SQLite: OverflowError past 2**63;
PostgreSQL: ``integer`` columns overflow past 2**31 - 1), and a date of year 1 or 9999 overflows the
first ``timedelta`` or time-zone conversion. Here junk and out-of-range values are simply *absent*
(None): a filter is not applied, a route does not match (404), a form field shows an error.

* :class:`BoundedIntConverter` replaces Flask's ``int`` URL converter app-wide (core.create_app):
  ``<int:...>`` matches 1 .. 2**31 - 1 only.
* :func:`parse_int` / :func:`parse_date`: pure parsers, for services and filter classes.
* :func:`int_arg` / :func:`date_arg` / :func:`page_arg`: the same, read from the request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # the largest PostgreSQL ``integer``: every id column and counter fits
MIN_YEAR = 1900
MAX_YEAR = 2200
# ASCII digits only, and few of them: ``int()`` also takes "١٢", "1_000", " 12 " and 4,000 digits.
_INT_RE = re.compile(r"[+-]?[0-9]{1,12}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_int(value: Any, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """``value`` as an integer in ``minimum .. maximum``; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip() if value is not None else ""
        if not _INT_RE.fullmatch(text):
            return None
        number = int(text)
    return number if minimum <= number <= maximum else None


def date_in_range(value: date, *, min_year: int = MIN_YEAR, max_year: int = MAX_YEAR) -> bool:
    return min_year <= value.year <= max_year


def parse_date(value: Any, *, min_year: int = MIN_YEAR, max_year: int = MAX_YEAR) -> date | None:
    """An ISO date (``YYYY-MM-DD``) between the years ``min_year`` and ``max_year``; else None."""
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip() if value is not None else ""
        if not _DATE_RE.fullmatch(text):
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
    return day if date_in_range(day, min_year=min_year, max_year=max_year) else None


def _source(source: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return request.args if source is None else source


def int_arg(
    name: str,
    default: int | None = None,
    *,
    source: Mapping[str, Any] | None = None,
    minimum: int = 1,
    maximum: int = MAX_ID,
) -> int | None:
    """The integer parameter ``name`` of ``source`` (default: the query string), or ``default``
    when it is missing, junk or out of range. For a posted value: ``source=request.form``."""
    value = parse_int(_source(source).get(name), minimum=minimum, maximum=maximum)
    return default if value is None else value


def date_arg(name: str, *, source: Mapping[str, Any] | None = None) -> date | None:
    """The ISO date parameter ``name`` (years 1900..2200), or None."""
    return parse_date(_source(source).get(name))


def page_arg(name: str = "page") -> int:
    """A page number: 1 when missing or junk (the list then clamps it to its last page)."""
    return int_arg(name, 1) or 1


class BoundedIntConverter(IntegerConverter):
    """Flask's ``int`` URL converter, bounded: ``<int:id>`` matches 1 .. 2**31 - 1 (ASCII digits),
    so an id no row can have answers 404 instead of overflowing the database driver."""

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
