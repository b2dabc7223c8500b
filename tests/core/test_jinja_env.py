"""core.jinja_env: the templates' escaping gives markupsafe's answers, and the templates use it."""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_babel import lazy_gettext
from markupsafe import Markup, escape

from core.jinja_env import EgideEnvironment, fast_escape


class _Html:
    def __init__(self, html: Any) -> None:
        self._html = html

    def __html__(self) -> Any:
        return self._html


class _Str(str):
    pass


class _Markup(Markup):
    pass


class _Level(enum.IntEnum):
    HIGH = 3


class _Kind(enum.StrEnum):
    A = "<a>"


VALUES = [
    "",
    "plain text",
    "Établissement <b>« public »</b> & 'co' \"quoted\"",
    Markup("<span class='badge'>x</span>"),
    _Markup("<i>sub</i>"),
    _Str("<sub & str>"),
    0,
    -42,
    2**70,
    True,
    False,
    None,
    3.5,
    date(2026, 12, 4),
    _Level.HIGH,
    _Kind.A,
    _Html("<b>safe</b>"),
    _Html(Markup("<b>safe markup</b>")),
    ["<li>", 1],
    b"<bytes>",
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + repr(v)[:20])
def test_same_answer_as_markupsafe(value: Any) -> None:
    ours, theirs = fast_escape(value), escape(value)
    assert ours == theirs
    assert type(ours) is Markup


def test_lazy_strings_escaped_in_the_request_language(app: Flask) -> None:
    with app.test_request_context("/"):
        text = lazy_gettext("Statut")
        assert fast_escape(text) == escape(text)


def test_the_apps_templates_are_compiled_with_it(app: Flask) -> None:
    assert isinstance(app.jinja_env, EgideEnvironment)
    source = app.jinja_env.compile("{{ x }}{% autoescape false %}{{ x }}{% endautoescape %}", raw=True)
    # A Jinja release that stopped calling the code generator's hook would fall back to markupsafe's
    # escape: right, but slower than measured. This says so.
    assert "environment.fast_escape(" in source


def test_rendered_pages_escape_and_keep_markup(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string(
            "{{ t }}|{{ m }}|{{ n }}|{% autoescape false %}{{ t }}{% endautoescape %}|{{ t|safe }}",
            t="<script>&",
            m=Markup("<em>ok</em>"),
            n=7,
        )
    assert html == "&lt;script&gt;&amp;|<em>ok</em>|7|<script>&|<script>&"


def test_templates_read_the_environments_globals_and_own_globals_stay_their_own(app: Flask) -> None:
    env = app.jinja_env
    page = env.get_template("base.html")
    assert page.globals is env.globals  # read as a set on each macro call: a dict, not a ChainMap
    own = env.from_string("{{ mine }}|{{ _('Statut') is defined }}", globals={"mine": "only here"})
    assert own.globals is not env.globals
    with app.test_request_context("/"):
        assert own.render() == "only here|True"
        assert "mine" not in env.globals
        assert env.from_string("{{ mine is defined }}").render() == "False"
