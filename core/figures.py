"""What a domain gives the annual report (``Domain.yearly_figures``): the figures of one year for a
set of organisations, as plain data — no domain type, no reportlab — so that ``reports`` lays them
out on a page (SVG) and in the PDF without knowing the domain.

A provider is called with a SELECT of organisation ids (one organisation, or a syndicate and all its
members) and the year; it answers with its sections, each built from a few aggregate queries over
all the organisations at once (GROUP BY month or category), never a loop per organisation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date
from flask_babel import get_locale
from sqlalchemy import Select, func
from sqlalchemy.sql.elements import ColumnElement

from core.db import PARIS
from core.extensions import db


@dataclass(frozen=True)
class KeyFigure:
    """One figure of the year, with the previous year's when it exists (None: not measured)."""

    label: str
    value: float | None
    unit: str = ""  # "%", "j", "h", "€", or "" for a count
    previous: float | None = None
    decimals: int = 0

    def text(self, value: float | None = None) -> str:
        shown = self.value if value is None else value
        return number(shown, self.decimals, self.unit)

    @property
    def previous_text(self) -> str:
        return number(self.previous, self.decimals, self.unit) if self.previous is not None else "—"

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str  # "#rrggbb"
    values: tuple[float | None, ...]  # one per period of the chart


@dataclass(frozen=True)
class Chart:
    """A chart: ``periods`` along the axis (the twelve months, or categories), one value per period
    in each series. ``stacked``: one horizontal bar per period split by series (counts); else
    grouped columns (delays, amounts)."""

    key: str
    title: str
    periods: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    stacked: bool = False


@dataclass(frozen=True)
class FigureTable:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class YearlyFigures:
    """A section of the annual report: its key figures, its charts, a short table."""

    key: str  # "<domain>.<name>"
    title: str
    figures: tuple[KeyFigure, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[FigureTable, ...] = ()
    note: str | None = None


# (organisation ids, year) → the domain's sections, in its order.
YearlyProvider = Callable[[Select[Any], int], Iterable[YearlyFigures]]


def number(value: float | None, decimals: int = 0, unit: str = "") -> str:
    """``1 234``, ``87,5 %``, ``12 j`` (French separators, a no-break space before the unit)."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0{unit}" if unit else text


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """1 January 00:00 to the next 1 January, Paris time, as UTC instants (a datetime column)."""
    start = datetime(year, 1, 1, tzinfo=PARIS).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=PARIS).astimezone(UTC)
    return start, end


def date_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def year_of(column: Any) -> ColumnElement[Any]:
    return func.extract("year", column)


def month_of(column: Any) -> ColumnElement[Any]:
    """The month (1 … 12) of a date or datetime column, on SQLite and PostgreSQL. A datetime column
    holds UTC: an event of the night of the 31st near midnight may count in the next month."""
    return func.extract("month", column)


def by_month(rows: Iterable[Sequence[Any]], year: int) -> dict[str, list[int]]:
    """``(year, month, key, count)`` rows → key → twelve counts of ``year``."""
    found: dict[str, list[int]] = {}
    for row_year, month, key, count in rows:
        if int(row_year) != year:
            continue
        found.setdefault(str(key), [0] * 12)[int(month) - 1] += int(count)
    return found


def monthly(rows: Iterable[Sequence[Any]], year: int) -> list[int]:
    """``(year, month, count)`` rows → the twelve counts of ``year`` (zeros where none)."""
    return by_month(((row_year, month, "", count) for row_year, month, count in rows), year).get("", [0] * 12)


def ratio(part: float | None, whole: float | None) -> float | None:
    """``part`` in per cent of ``whole`` (None when there is nothing to divide)."""
    if not whole or part is None:
        return None
    return 100.0 * float(part) / float(whole)


def month_labels(year: int) -> tuple[str, ...]:
    """``janv.`` … ``déc.`` (the language of the request or of the job)."""
    return tuple(format_date(date(year, m, 1), "MMM", locale=get_locale() or "fr") for m in range(1, 13))


def days_between(later: Any, earlier: Any) -> ColumnElement[Any]:
    """Days from ``earlier`` to ``later`` (two date columns), on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier  # PostgreSQL: date - date is a number of days


def hours_between(later: Any, earlier: Any) -> ColumnElement[Any]:
    """Hours from ``earlier`` to ``later`` (two datetime columns), on SQLite and PostgreSQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0
