"""Jinja globals and filters shared by every template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Flask, current_app, request, url_for
from flask.globals import _cv_app, _cv_request
from flask_babel import format_date, format_time, get_babel, get_locale, get_timezone, get_translations
from jinja2 import pass_context
from markupsafe import Markup

from core.enums import LabelledEnum
from core.jinja_env import fast_escape as esc
from core.security import Permission, can
from core.tenancy import current_org, current_org_roles
from core.text import of


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters changed (pagination, filters)."""
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` for a URL that is the same on every page (a static file, a
    page without arguments), built through the router once per worker (:func:`_kept_url`): every
    page links seven static files and the organisation chooser, and building each URL cost more
    than the rest of the page's head."""
    return _kept_url(request.script_root, endpoint, _url_key(values))


# url_for's own options: a URL that depends on the request's host or asks for more than a path.
_URL_FOR_OPTIONS = frozenset({"_external", "_anchor", "_method", "_scheme"})


def page_url_for(endpoint: str, **values: Any) -> str:
    """Templates' ``url_for``: Flask's, each URL built through the router once per worker
    (:func:`_kept_url`) — a page's links to its "new", export and filter pages are the same on
    every request, and a page asks for about ten (4 µs each). Built each time, as Flask does: an
    endpoint relative to the request's blueprint (".x"), url_for's options (an absolute URL…),
    a value that is not hashable, and any app whose URL defaults could change a URL by request."""
    if (
        endpoint[:1] == "."
        or not _URL_FOR_OPTIONS.isdisjoint(values)
        or _cv_request.get(None) is None  # a mail or a document built outside a request
        or _has_url_defaults()
    ):
        return url_for(endpoint, **values)
    try:
        return _kept_url(request.script_root, endpoint, _url_key(values))
    except TypeError:  # a value that is not hashable (a list): built each time
        return url_for(endpoint, **values)


def _url_key(values: dict[str, Any]) -> tuple[tuple[str, type, Any], ...]:
    """Each value with its type (1 and True are equal keys but not the same URL: "1", "True"), in the
    order given (the order of the query string's parameters)."""
    return tuple((name, type(value), value) for name, value in values.items())


@lru_cache(maxsize=4096)  # the static files and a page's links: a few hundred in use
def _kept_url(script_root: str, endpoint: str, values: tuple[tuple[str, type, Any], ...]) -> str:
    return url_for(endpoint, **{name: value for name, _type, value in values})


def _has_url_defaults() -> bool:
    return any(current_app.url_default_functions.values())


def static_url(filename: str) -> str:
    """``url_for('static', filename=…)``, built once per worker and file (:func:`fixed_url`)."""
    return fixed_url("static", filename=filename)


_PLACEHOLDER = 2**31 - 1  # an id no row will have in this page's URLs, within <int:…>'s bounds


class RowUrl(str):
    """The URL of a list's row, its id left as ``%d``: ``{{ detail_url % row.id }}`` in a template (an
    operator: a function called from a template goes through Jinja's ``Context.call``, about 1 µs a
    row), ``detail_url(row.id)`` in Python. Any ``%`` of the URL itself is doubled."""

    __slots__ = ()

    def __call__(self, value: Any) -> str:
        return self % int(value)


class _EachBuilt:
    """A row URL built through the router for each row (when the id's place cannot be told)."""

    def __init__(self, endpoint: str, argument: str, values: dict[str, Any]) -> None:
        self.endpoint, self.argument, self.values = endpoint, argument, values

    def __call__(self, value: Any) -> str:
        return url_for(self.endpoint, **self.values, **{self.argument: value})

    __mod__ = __call__


def url_template(endpoint: str, argument: str, **values: Any) -> RowUrl | _EachBuilt:
    """``url_for(endpoint, **{argument: id})`` for many ids, the route built once: for the rows of a
    list (``{% set detail = url_template("x.detail", "x_id") %}`` … ``{{ detail % row.id }}``)."""
    built = url_for(endpoint, **values, **{argument: _PLACEHOLDER})
    if built.count(str(_PLACEHOLDER)) != 1:  # cannot tell the id's place: build each URL
        return _EachBuilt(endpoint, argument, values)
    before, after = built.split(str(_PLACEHOLDER))
    return RowUrl(f"{before.replace('%', '%%')}%d{after.replace('%', '%%')}")


# --- per request: what is the same for every row -------------------------------------------------


def _memo(name: str, compute: Callable[[Any], Any]) -> Any:
    """``compute(locale)``, kept for the request as long as its locale stays the same (a block under
    ``flask_babel.force_locale`` gets its own)."""
    # The request's context read straight from Flask's context variable: ``has_request_context()``
    # then ``g`` went through werkzeug's proxies, about 4 µs — and a list page asks a hundred and
    # fifty times (each text, each date, each reference label).
    ctx = _cv_request.get(None)
    if ctx is None:
        return compute(get_locale())
    here = _cv_app.get().g.__dict__  # a request always runs inside an app context: its ``g``
    # Flask-Babel keeps the request's locale on g._flask_babel (force_locale swaps it there): read
    # it directly — get_locale() goes through three context-local lookups.
    babel_ctx = here.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None) if babel_ctx is not None else None
    if locale is None:
        locale = get_locale()
    kept = here.get(name)
    if kept is None or kept[0] is not locale:
        kept = (locale, compute(locale))
        here[name] = kept
    return kept[1]


def _translations() -> Any:
    """The request's catalogue (Flask-Babel looks it up anew at each ``_()``, and a list page asks for
    a hundred strings)."""
    return _memo("_egide_translations", lambda _locale: get_translations())


def _locale_key() -> str:
    return _memo("_egide_locale_key", str)


def locale_code() -> str:
    """The request's language ("fr", "en"), looked up once a request: for code that asks on every
    row of a list (a label in the reader's language)."""
    return _locale_key()


def label_filter(value: Any) -> str:
    """``|label``: an enum member's translated label (``status|label`` for ``status.label``), each
    label translated once a request rather than once a row (a list of 50 rows shows 150 of them)."""
    if value is None:
        return "—"
    labels = _memo("_egide_labels", lambda _locale: {})
    key = (type(value), value)  # members of two enums may share a value ("open") and compare equal
    text = labels.get(key)
    if text is None:
        text = labels[key] = str(value.label)
    return text


_LABELS: dict[tuple[str, type[LabelledEnum]], dict[Any, str]] = {}


def labels_of(enum: type[LabelledEnum]) -> dict[Any, str]:
    """``{member: label}`` of ``enum`` in the request's language, translated once per process and
    language — not once a request as ``|label`` does (a lazy label costs some 80 µs to translate;
    a list page shows a dozen different ones)."""
    key = (locale_code(), enum)
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS[key] = {member: str(member.label) for member in enum}
    return labels


def options_of(enum: type[LabelledEnum]) -> list[tuple[str, str]]:
    """A filter's options, ``(value, label)`` of each member in the request's language (from
    :func:`labels_of`): a member's lazy label rendered in a select was translated anew on each page."""
    return [(member.value, text) for member, text in labels_of(enum).items()]


_CHOICES: dict[tuple[str, int], tuple[Any, list[tuple[Any, str]]]] = {}


def choices_of(choices: Sequence[tuple[Any, Any]]) -> list[tuple[Any, str]]:
    """A module's fixed ``(value, lazy text)`` options (a sort, a filter) in the request's language,
    translated once per process and language: each lazy text went through Flask-Babel's lookup on
    every page. Keyed by the sequence itself (a module constant), kept alongside so that its id is
    never taken for another's."""
    key = (locale_code(), id(choices))
    kept = _CHOICES.get(key)
    if kept is None or kept[0] is not choices:
        kept = _CHOICES[key] = (choices, [(value, str(text)) for value, text in choices])
    return kept[1]


def label_tables(**tables: type[LabelledEnum] | dict[Any, str]) -> SimpleNamespace:
    """What a list shows on every row, as attributes: ``labels.status[row.status]``. Each entry is an
    enum (its :func:`labels_of`) or a ready ``{value: text}``. Attributes, not a dict's keys: Jinja
    tries ``getattr`` first, and on a dict each row's ``labels.status`` raised and caught an
    AttributeError (a hundred a page)."""
    return SimpleNamespace(
        **{name: table if isinstance(table, dict) else labels_of(table) for name, table in tables.items()}
    )


@lru_cache(maxsize=4096)
def _formatted_day(day: date, fmt: str, locale: str) -> str:
    return format_date(day, fmt)  # in ``locale``, the request's: part of the key


def date_filter(value: Any, fmt: str = "medium") -> str:
    """``|date``: a day in the reader's language, "—" for none. A list shows many dates and a few
    hundred distinct days: each is formatted once per language and pattern, not once per row."""
    if not value:
        return "—"
    if type(value) is date:  # not a datetime: no time zone involved, the text depends on the day alone
        return _formatted_day(value, fmt, _locale_key())
    return format_date(value, fmt)


@lru_cache(maxsize=64)
def _zone(name: str) -> Any:
    return ZoneInfo(name)


def _datetime_settings(locale: Any) -> tuple[Any, Any, dict[str, str]]:
    # The request's zone (Flask-Babel gives a pytz one) as a zoneinfo zone: the same rules from the
    # same tz database, and ``astimezone`` in C — pytz's fromutc and normalize cost 10 µs a moment.
    tz = get_timezone()
    name = getattr(tz, "zone", None) or getattr(tz, "key", None)
    return locale, (_zone(name) if name else tz), {}


_CACHED_FORMATS = ("short", "medium")  # no time zone name in them: the text depends on the clock alone


@lru_cache(maxsize=4096)
def _formatted_clock(hour: int, minute: int, second: int, fmt: str, locale: Any) -> str:
    return babel_dates.format_time(time(hour, minute, second), fmt, tzinfo=None, locale=locale)


def datetime_filter(value: Any, fmt: str = "medium") -> str:
    """``|datetime``: a moment in the reader's language and time zone, "—" for none — the text of
    Flask-Babel's format_datetime (Babel's: the locale's date and time joined by its pattern), with
    the locale, time zone and patterns looked up once a request, and each day and each time of day
    formatted once (a list shows 50 moments; Babel took a tenth of a millisecond for each)."""
    if not value:
        return "—"
    locale, tzinfo, patterns = _memo("_egide_datetime", _datetime_settings)
    pattern = patterns.get(fmt)
    if pattern is None:
        formats = get_babel().instance.date_formats
        pattern = patterns[fmt] = (
            formats[f"datetime.{fmt}"] or fmt if fmt in ("short", "medium", "full", "long") else fmt
        )
    if pattern not in _CACHED_FORMATS or type(value) is not datetime:
        return babel_dates.format_datetime(value, pattern, tzinfo=tzinfo, locale=locale)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(tzinfo)
    joined = patterns.get(f"joined.{pattern}")
    if joined is None:
        joined = babel_dates.get_datetime_format(pattern, locale=locale).replace("'", "")
        patterns[f"joined.{pattern}"] = joined
    clock = _formatted_clock(local.hour, local.minute, local.second, pattern, locale)
    return joined.replace("{0}", clock).replace("{1}", _formatted_day(local.date(), pattern, _locale_key()))


GETTEXT_CACHE_SIZE = 20_000  # texts × languages: the templates hold about 2,500 texts


def _cached_gettext(newstyle_gettext: Callable[..., Any]) -> Callable[..., Any]:
    """Templates' ``_``: what Jinja's newstyle ``gettext`` gives — the translation, made Markup in an
    autoescaped template, then ``%``-formatted even without variables (``%%`` gives ``%``) — kept per
    worker for the texts called without variables, by language. Jinja's way goes through four calls
    and three context lookups for each text: 9 µs, and a list page shows about 70 texts (0.6 ms, a
    third of the bare page of bench/bench_http.py). The catalogues are read once per worker and never
    change under it, so a kept text cannot go stale; texts with variables go the usual way."""
    kept: dict[tuple[str, bool, str], Any] = {}

    @pass_context
    def gettext(context: Any, string: str, **variables: Any) -> Any:
        if variables or type(string) is not str:
            return newstyle_gettext(context, string, **variables)
        key = (_locale_key(), context.eval_ctx.autoescape, string)
        text = kept.get(key)
        if text is None:
            text = newstyle_gettext(context, string)
            if len(kept) < GETTEXT_CACHE_SIZE:
                kept[key] = text
        return text

    return gettext


def organisation_figure(row: Any, n: Any, url: str, what: str, classes: str = "") -> Markup:
    """A figure of a row of organisations (the DPO's portfolio, the actions by organisation): a button
    of the row's form ``org-<id>``, which makes the organisation active and opens ``url``, the list
    of exactly these items; ``what`` is read out after the figure by screen readers. Written here
    rather than as a Jinja macro: a page has up to 400 of them, and a macro call cost about as much
    as the rest of the row. Every value is escaped as ``{{ value }}`` would be
    (core.jinja_env.fast_escape), the HTML joined by an f-string: Markup.format, which did the same
    through Python's string.Formatter, cost 7 µs a
    figure — a quarter of the page (bench/bench_http.py)."""
    return Markup(  # noqa: S704 — every value escaped here
        f'<button type="submit" form="org-{int(row.organisation_id)}" name="next" value="{esc(url)}"'
        f' class="btn btn-link p-0 figure-link {esc(classes)}">{esc(n)}<span class="visually-hidden">'
        f" {esc(what)} — {esc(row.name)}</span></button>"
    )


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        can=can,
        Permission=Permission,
        current_org=current_org,
        current_org_roles=current_org_roles,
        url_with=url_with,
        url_template=url_template,
        url_for=page_url_for,
        static_url=static_url,
        get_locale=get_locale,
        organisation_figure=organisation_figure,
    )
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.filters["label"] = label_filter
    # Flask-Babel's own callables, with the catalogue found once a request (same strings, same
    # language: the locale is chosen once a request too).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    # ``_("…")`` without variables: its escaped text once per worker and language (see _cached_gettext).
    app.jinja_env.globals["_"] = _cached_gettext(app.jinja_env.globals["gettext"])
    app.jinja_env.filters["datetime"] = datetime_filter
    # The time of day alone (in the readers' time zone), beside a |date: one date format on a page.
    app.jinja_env.filters["time"] = lambda v, fmt="short": format_time(v, fmt) if v else "—"
    app.jinja_env.filters["dash"] = lambda v: "—" if v in (None, "") else v
    # "de <name>" in the page's language, elided in French: _("Le registre %(of_org)s.", of_org=org.name|of)
    app.jinja_env.filters["of"] = of
