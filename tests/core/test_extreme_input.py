"""Extreme input never gives a 500: ids no row can have, 20-digit and negative numbers, dates of
year 1 or 9999, control characters and invalid UTF-8, in the URL, the query string and posted forms,
on every route of the application, as a logged-in user of each role.

Integers and dates are bounded where they enter (core.params): the ``int`` URL converter matches
1 .. 2**31 - 1 only (a PostgreSQL ``integer``), query and form values outside their range are
ignored, and form fields (core.forms) show an error. Two walkers over ``app.url_map``:

* a deterministic sweep: every route and method, once with each extreme id and once with each
  extreme value in every parameter name the views and forms read (so every route is hit);
* a property-based walk (hypothesis): random routes, ids, query strings and forms, per role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter
from wtforms import (
    DateField,
    DateTimeField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectFieldBase,
)
from wtforms.fields.core import UnboundField

from core import params
from core.forms import (
    BoundedDateField,
    BoundedIntegerField,
    LocalDateTimeField,
    coerce_id,
    coerce_optional_int,
)
from core.security import PLATFORM_PERMISSIONS, PUBLIC, ROLE_PERMISSIONS, Role, access_policy
from tests.conftest import World, build_records, is_api_rule, record_arguments

# --- values ---------------------------------------------------------------------------------------

EXTREME_IDS = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**20, 10**40]
EXTREME_NUMBERS = ["0", "-1", str(2**31), str(2**63), "-" + str(2**63), str(10**20), "9" * 400, "1e9", "١٢"]
EXTREME_DATES = ["0001-01-01", "9999-12-31", "0000-00-00", "10000-01-01", "2024-02-30", "1899-12-31"]
EXTREME_DATETIMES = ["0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01 00:00", "9999-12-31T23:59:59"]
JUNK = ["", " ", "abc", "\x01\x1f\x7f", "\u202e\u200b", "é" * 300, "'\"<>%_", "null", "None"]
# Percent-escapes that do not decode as UTF-8 (or decode to controls), written as is in the query.
RAW_ESCAPES = ["%ff%fe", "%c0%af", "%ed%a0%80", "%00", "%0a%0d", "%", "%zz", "%2500"]

# Query parameter names the views read (grep ``request.args``, filter classes, the journal).
QUERY_NAMES = [
    "page",
    "per_page",
    "application",
    "member",
    "syndicate",
    "organisation_id",
    "activity_id",
    "user",
    "object_id",
    "object_type",
    "action",
    "from",
    "to",
    "status",
    "sort",
    "q",
    "member_q",
    "kind",
    "relation",
    "domain",
    "hosting",
    "criticality",
    "retired",
    "legal_basis",
    "sensitive",
    "dpia",
    "review",
    "right",
    "urgency",
    "decision",
    "chain",
    "full",
    "next",
    "lang",
]

# Which role walks a route in the sweep: the first that holds its permissions.
ROLE_PREFERENCE = (Role.RSSI, Role.DPO, Role.REFERENT, Role.READER, Role.AUDITOR, Role.ADMIN)
# POST routes the walkers leave alone: they read no input, and would end the walker's session.
SKIPPED = {("POST", "accounts.logout")}

# Non-integer URL arguments, and the real ids of world A's objects (to reach the views' own parsing).
TEXT_ARGS = {"token": "not-a-real-token", "slug": "registre-inconnu"}
ID_SOURCES = {
    "org_id": lambda w: w.a.member.id,
    "application_id": lambda w: w.a.application.id,
    "subscription_id": lambda w: w.a.subscription.id,
    "user_id": lambda w: w.a.users[Role.READER].id,
    "membership_id": lambda w: w.a.users[Role.READER].memberships[0].id,
    "session_id": lambda w: 10**9,
    "api_token_id": lambda w: 10**9,
    "run_id": lambda w: 10**9,
    **record_arguments(lambda w: w.a),  # each domain's records (tests/<domain>/records.py)
}
ARG_RE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


# --- route and form discovery ------------------------------------------------------------------


def _cases(app: Flask) -> list[tuple[str, str, str]]:
    """(method, endpoint, rule) for every route of the app."""
    cases = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or is_api_rule(rule):
            continue  # the JSON API: tokens, not the session; schemathesis fuzzes it (make test-api)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.endpoint) not in SKIPPED:
                cases.append((method, rule.endpoint, rule.rule))
    return sorted(cases)


def _role_for(app: Flask, endpoint: str) -> Role | None:
    """None: walked anonymously (public routes)."""
    policy = access_policy(app.view_functions[endpoint]) or (PUBLIC,)
    if policy[0] == PUBLIC:
        return None
    if policy[0] != "permission":
        return Role.RSSI
    perms = set(policy[1:])
    if perms & PLATFORM_PERMISSIONS:
        return Role.ADMIN
    return next(r for r in ROLE_PREFERENCE if perms <= ROLE_PERMISSIONS[r])


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _fields(form_cls: type, prefix: str = "") -> Iterator[tuple[str, UnboundField]]:
    seen = set()
    for klass in form_cls.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, UnboundField) and name not in seen:
                seen.add(name)
                if issubclass(value.field_class, FieldList):
                    inner = value.args[0] if value.args else value.kwargs.get("unbound_field")
                    if isinstance(inner, UnboundField) and issubclass(inner.field_class, FormField):
                        sub = inner.args[0] if inner.args else inner.kwargs["form_class"]
                        yield from _fields(sub, f"{prefix}{name}-0-")
                    continue
                yield prefix + name, value


def form_field_names() -> dict[str, set[str]]:
    """Names of the app's form fields holding ids, whole numbers, dates and date-times."""
    kinds: dict[str, set[str]] = {"int": set(), "date": set(), "datetime": set()}
    for form_cls in _subclasses(Form):
        if form_cls.__module__.split(".")[0] not in ("accounts", "catalogue", "registers", "core"):
            continue
        for name, field in _fields(form_cls):
            cls = field.field_class
            if issubclass(cls, IntegerField):
                kinds["int"].add(name)
            elif issubclass(cls, DateField):
                kinds["date"].add(name)
            elif issubclass(cls, DateTimeField):
                kinds["datetime"].add(name)
            elif issubclass(cls, SelectFieldBase) and field.kwargs.get("coerce") in (
                int,
                coerce_id,
                coerce_optional_int,
            ):
                kinds["int"].add(name)
    return kinds


def _url(rule: str, world: World, ids: dict[str, Any] | None = None) -> str:
    """The rule's URL: int arguments from ``ids`` (else world A's object), text ones from TEXT_ARGS."""

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            value = (ids or {}).get(name, ID_SOURCES[name](world))
            return str(value)
        return quote(TEXT_ARGS[name])

    return ARG_RE.sub(fill, rule)


@pytest.fixture(scope="module")
def routes(app: Flask) -> list[tuple[str, str, str]]:
    return _cases(app)


@pytest.fixture(scope="module")
def form_names(app: Flask) -> dict[str, set[str]]:
    return form_field_names()


def test_walkers_see_the_routes_and_fields_they_should(app: Flask, form_names: dict[str, set[str]]) -> None:
    # Guards the walkers: if they stopped finding what they walk, every test below would pass.
    cases = _cases(app)
    endpoints = {e for _m, e, _r in cases}
    assert {"catalogue.application_detail", "registers.request_edit", "journal.event_list"} <= endpoints
    assert sum(1 for _m, _e, r in cases if "<int:" in r) >= 40
    assert {
        "activity_id",
        "organisation_id",
        "syndicate_id",
        "application_ids",
        "people_count",
    } <= form_names["int"]
    assert {"received_on", "ended_on", "left_on", "next_review_on"} <= form_names["date"]
    assert {"discovered_at"} <= form_names["datetime"]
    assert "recipients-0-organisation_id" in form_names["int"]


def test_int_converter_is_bounded_app_wide(app: Flask) -> None:
    adapter = app.url_map.bind("localhost")
    for rule in ("/organisations/1", f"/organisations/{2**31 - 1}"):
        assert adapter.match(rule)[0] == "accounts.organisation_detail"
    for value in ("0", "-1", str(2**31), str(2**63), str(10**20), "9" * 5000, "\u0661\u0662"):
        with pytest.raises(NotFound):
            adapter.match(f"/organisations/{value}")
    assert all(
        type(c) is params.BoundedIntConverter
        for r in app.url_map.iter_rules()
        for c in r._converters.values()
        if isinstance(c, IntegerConverter)
    )


# --- the parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        (str(2**31 - 1), 2**31 - 1),
        (str(2**31), None),
        (str(10**20), None),
        ("9" * 5000, None),
        ("0", None),
        ("-1", None),
        ("1e3", None),
        ("1_000", None),
        ("\u0661\u0662", None),
        ("", None),
        (None, None),
        ("abc", None),
        (True, None),
        (7, 7),
    ],
)
def test_parse_int(value: Any, expected: int | None) -> None:
    assert params.parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        (" 1900-01-01 ", date(1900, 1, 1)),
        ("2200-12-31", date(2200, 12, 31)),
        ("1899-12-31", None),
        ("2201-01-01", None),
        ("0001-01-01", None),
        ("9999-12-31", None),
        ("2024-02-30", None),
        ("20240101", None),
        ("2024-W01-1", None),
        ("", None),
        (None, None),
        (date(9999, 12, 31), None),
    ],
)
def test_parse_date(value: Any, expected: date | None) -> None:
    assert params.parse_date(value) == expected


# --- the walkers -----------------------------------------------------------------------------------

DATE_QUERY_NAMES = {"from", "to"}


def _cycle(pool: list[str], index: int) -> str:
    return pool[index % len(pool)]


# One sweep round: the values given to numeric parameters and fields, to dates, to date-times. Each
# parameter (and field) takes the next value of the pool, so every value is sent on every route.
ROUNDS = {
    "huge": ([str(10**20), str(2**31)], ["9999-12-31"], ["9999-12-31T23:59"]),
    "negative": (["-1", "-" + str(2**63)], ["0001-01-01"], ["0001-01-01T00:00"]),
    "overflow": (
        [str(2**63), "9" * 400, str(2**31)],
        ["10000-01-01", "2024-02-30", "0000-00-00", "1899-12-31"],
        ["9999-12-31T23:59:59", "0001-01-01 00:00"],
    ),
    "zero and odd digits": (["0", "1e9", "\u0661\u0662", " 7 "], ["2201-01-01"], ["2024-13-01T25:61"]),
    "junk": (JUNK, JUNK, JUNK),
}


def _round_query(numbers: list[str], dates: list[str]) -> str:
    return urlencode(
        {
            name: _cycle(dates if name in DATE_QUERY_NAMES else numbers, i)
            for i, name in enumerate(QUERY_NAMES)
        }
    )


def _form(
    form_names: dict[str, set[str]], numbers: list[str], dates: list[str], moments: list[str]
) -> dict[str, str]:
    data = {"version": "1", "next": "/"}
    data |= {name: _cycle(numbers, i) for i, name in enumerate(sorted(form_names["int"]))}
    data |= {name: _cycle(dates, i) for i, name in enumerate(sorted(form_names["date"]))}
    data |= {name: _cycle(moments, i) for i, name in enumerate(sorted(form_names["datetime"]))}
    return data


def _raw(names: list[str]) -> str:
    """Invalid UTF-8 and control escapes, written as is (a query string, or a urlencoded body)."""
    return "&".join(f"{name}={_cycle(RAW_ESCAPES, i)}" for i, name in enumerate(names))


class Walker:
    """Logged-in clients of world A, one per role (made on first use), and the 5xx they met."""

    def __init__(self, app: Flask, world: World, login_as: Any) -> None:
        self.app, self.world, self.login_as = app, world, login_as
        self.clients: dict[Role | None, FlaskClient] = {}
        self.failures: list[str] = []
        self.statuses: dict[int, int] = {}
        build_records(world.a)

    def client(self, role: Role | None) -> FlaskClient:
        if role not in self.clients:
            self.clients[role] = (
                self.app.test_client() if role is None else self.login_as(self.world.a.users[role])
            )
        return self.clients[role]

    def send(self, role: Role | None, method: str, url: str, query: str = "", data: Any = None) -> None:
        options: dict[str, Any] = {"query_string": query}
        if method != "GET":
            options["data"] = data or {}
            if isinstance(data, str):
                options["content_type"] = "application/x-www-form-urlencoded"
        request = f"{getattr(role, 'value', 'anonymous')} {method} {url}?{query}"
        try:
            response = self.client(role).open(url, method=method, **options)
        except Exception as error:  # the test app propagates exceptions: a 500 in production
            self.failures.append(f"{type(error).__name__}: {error!s:.200} on {request:.300}")
            return
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} on {request:.300}")


@pytest.fixture
def walker(app: Flask, world: World, login_as: Any) -> Walker:
    return Walker(app, world, login_as)


def test_every_route_answers_extreme_ids_without_a_server_error(
    app: Flask, walker: Walker, routes: list[tuple[str, str, str]], form_names: dict[str, set[str]]
) -> None:
    """Each route with an ``<int:>`` argument, once per extreme id (a 404, never a 500)."""
    form = _form(form_names, *ROUNDS["huge"])
    hit = 0
    for method, endpoint, rule in routes:
        names = [m.group(2) for m in ARG_RE.finditer(rule) if m.group(1) == "int"]
        if not names:
            continue
        for value in EXTREME_IDS:
            url = _url(rule, walker.world, dict.fromkeys(names, value))
            walker.send(_role_for(app, endpoint), method, url, urlencode({"page": value}), form)
            hit += 1
    assert walker.failures == []
    assert hit >= 40 * len(EXTREME_IDS)
    # Out of range, the route does not match (405 where werkzeug finds the path under another method).
    assert set(walker.statuses) <= {404, 405}, walker.statuses


@pytest.mark.parametrize("variant", [*ROUNDS, "raw escapes"])
def test_every_route_answers_extreme_parameters_without_a_server_error(
    app: Flask,
    walker: Walker,
    routes: list[tuple[str, str, str]],
    form_names: dict[str, set[str]],
    variant: str,
) -> None:
    """Each route once, with an extreme value in every query parameter the views read and in every
    numeric or date form field; ids are world A's real ones, so the views' own parsing is reached."""
    if variant == "raw escapes":
        query, form = _raw(QUERY_NAMES), _raw(sorted(set().union(*form_names.values())))
    else:
        numbers, dates, moments = ROUNDS[variant]
        query, form = _round_query(numbers, dates), _form(form_names, numbers, dates, moments)
    for method, endpoint, rule in routes:
        walker.send(_role_for(app, endpoint), method, _url(rule, walker.world), query, form)
    assert walker.failures == []
    # Positive control: the walk reached the pages and the forms (junk is ignored or explained).
    assert walker.statuses.get(200, 0) >= 40, walker.statuses
    if variant != "raw escapes":  # NUL bytes in a posted form get the 400 page (core.refuse_nul_bytes)
        assert walker.statuses.get(422, 0) >= 10, walker.statuses


# --- property-based walk ---------------------------------------------------------------------------

numbers = st.one_of(
    st.sampled_from(EXTREME_IDS),
    st.integers(min_value=-(2**70), max_value=2**70),
).map(str)
values = st.one_of(
    numbers,
    st.sampled_from(EXTREME_NUMBERS + EXTREME_DATES + EXTREME_DATETIMES + JUNK),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    st.dates().map(date.isoformat),
)


@st.composite
def requests(
    draw: st.DrawFn, cases: list[tuple[str, str, str]], form_names: dict[str, set[str]]
) -> dict[str, Any]:
    method, _endpoint, rule = draw(st.sampled_from(cases))
    ids = {
        m.group(2): draw(st.one_of(st.just(None), st.sampled_from(EXTREME_IDS), st.integers(-(2**70), 2**70)))
        for m in ARG_RE.finditer(rule)
        if m.group(1) == "int"
    }
    query = draw(st.dictionaries(st.sampled_from(QUERY_NAMES), values, max_size=6))
    raw = draw(st.lists(st.tuples(st.sampled_from(QUERY_NAMES), st.sampled_from(RAW_ESCAPES)), max_size=2))
    field_names = sorted(set().union(*form_names.values()) | {"version", "next", "organisation_id"})
    data = (
        draw(st.dictionaries(st.sampled_from(field_names), values, max_size=8)) if method == "POST" else None
    )
    query_string = "&".join([urlencode(query), *(f"{n}={v}" for n, v in raw)]).strip("&")
    return {"method": method, "rule": rule, "ids": ids, "query": query_string, "data": data}


@pytest.mark.parametrize("role", [*Role, None], ids=lambda r: getattr(r, "value", "anonymous"))
def test_random_extreme_requests_never_give_a_server_error(
    app: Flask,
    world: World,
    login_as: Any,
    routes: list[tuple[str, str, str]],
    form_names: dict[str, set[str]],
    role: Role | None,
) -> None:
    walker = Walker(app, world, login_as)

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=requests(routes, form_names))
    def walk(request: dict[str, Any]) -> None:
        ids = {k: v for k, v in request["ids"].items() if v is not None}
        url = _url(request["rule"], world, ids)
        walker.failures.clear()
        walker.send(role, request["method"], url, request["query"], request["data"])
        assert walker.failures == []

    walk()


# --- forms ---------------------------------------------------------------------------------------------


def _is_bounded(field: UnboundField) -> bool:
    cls = field.field_class
    if issubclass(cls, DateField):  # a DateTimeField too, in WTForms
        return issubclass(cls, BoundedDateField)
    if issubclass(cls, DateTimeField):
        return issubclass(cls, LocalDateTimeField)
    if issubclass(cls, IntegerField):
        return issubclass(cls, BoundedIntegerField)
    if issubclass(cls, SelectFieldBase):
        return field.kwargs.get("coerce") is not int
    return True


def test_every_numeric_and_date_field_of_the_app_is_bounded(app: Flask) -> None:
    unbounded = [
        f"{form_cls.__name__}.{name}"
        for form_cls in _subclasses(Form)
        if form_cls.__module__.split(".")[0] in ("accounts", "catalogue", "registers", "core")
        for name, field in _fields(form_cls)
        if not _is_bounded(field)
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("value", "valid"),
    [("2024-02-29", True), ("0001-01-01", False), ("9999-12-31", False), ("1899-12-31", False), ("x", False)],
)
def test_bounded_date_field(app: Flask, value: str, valid: bool) -> None:
    class F(Form):
        day = BoundedDateField()

    with app.test_request_context():
        form = F(MultiDict({"day": value}))
        assert form.validate() is valid
        assert (form.day.data is not None) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0", True),
        (str(2**31 - 1), True),
        (str(2**31), False),
        ("9" * 400, False),
        ("-1", False),
        ("1e3", False),
    ],
)
def test_bounded_integer_field(app: Flask, value: str, valid: bool) -> None:
    class F(Form):
        count = BoundedIntegerField()

    with app.test_request_context():
        form = F(MultiDict({"count": value}))
        assert form.validate() is valid


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_local_datetime_field_out_of_range_is_a_field_error(app: Flask, value: str) -> None:
    class F(Form):
        moment = LocalDateTimeField()

    with app.test_request_context():
        form = F(MultiDict({"moment": value}))
        assert not form.validate()
        assert form.moment.data is None


@pytest.mark.parametrize("value", ["0", "-1", str(2**31), str(10**20), "9" * 5000, "abc"])
def test_id_select_refuses_what_no_row_can_have(app: Flask, value: str) -> None:
    class F(Form):
        organisation_id = SelectField(coerce=coerce_optional_int, validate_choice=False)

    with app.test_request_context():
        form = F(MultiDict({"organisation_id": value}))
        assert not form.validate()
        assert form.organisation_id.data is None
