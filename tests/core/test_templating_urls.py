"""core.templating.page_url_for, the templates' url_for: Flask's URLs, built once per worker."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string, url_for

from core.templating import page_url_for

CASES: list[tuple[str, dict[str, Any]]] = [
    ("registers.activity_new", {}),
    ("registers.activity_list", {"review": "to_review"}),
    ("registers.activity_list", {"page": 1}),
    ("registers.activity_list", {"page": True}),  # equal to 1 as a key, not as a URL
    ("registers.activity_list", {"page": 1.0}),
    ("registers.activity_list", {"q": None, "status": "validated"}),
    ("registers.activity_list", {"q": "é & # % ?"}),
    ("registers.activity_list", {"status": "validated", "dpia": "required"}),  # query in this order
    ("registers.activity_list", {"dpia": "required", "status": "validated"}),
    ("registers.activity_list", {"tags": ["a", "b"]}),  # not hashable: built each time
    ("registers.activity_detail", {"activity_id": 7}),
    ("registers.activity_list", {"_external": True}),
    ("registers.activity_list", {"_anchor": "rows"}),
    ("static", {"filename": "css/egide.css"}),
]


@pytest.mark.parametrize(("endpoint", "values"), CASES, ids=[f"{e}-{v}" for e, v in CASES])
def test_same_url_as_flask(app: Flask, endpoint: str, values: dict[str, Any]) -> None:
    with app.test_request_context("/"):
        for _twice in range(2):  # built, then from the cache
            assert page_url_for(endpoint, **values) == url_for(endpoint, **values)


def test_under_another_root_or_host(app: Flask) -> None:
    with app.test_request_context("/", base_url="http://a.example/egide"):
        first = page_url_for("registers.activity_new")
        external = page_url_for("registers.activity_new", _external=True)
    with app.test_request_context("/", base_url="http://b.example"):
        assert page_url_for("registers.activity_new") == url_for("registers.activity_new")
        assert (
            page_url_for("registers.activity_new", _external=True)
            == "http://b.example/registers/activities/new"
        )
    assert first == "/egide/registers/activities/new"
    assert external == "http://a.example/egide/registers/activities/new"


def test_relative_endpoints_and_app_context_only(app: Flask) -> None:
    with app.test_request_context("/registers/activities/"):
        assert page_url_for(".activity_new") == url_for(".activity_new") == "/registers/activities/new"
    app.config["SERVER_NAME"] = "egide.example"
    try:
        with app.app_context():  # a mail or a document: no request
            assert page_url_for("registers.activity_new") == url_for("registers.activity_new")
    finally:
        app.config["SERVER_NAME"] = None


def test_url_defaults_are_honoured(app: Flask) -> None:
    calls: list[str] = []

    def stamp(endpoint: str, values: dict[str, Any]) -> None:
        calls.append(endpoint)

    app.url_default_functions.setdefault(None, []).append(stamp)
    try:
        with app.test_request_context("/"):
            page_url_for("registers.activity_new")
            page_url_for("registers.activity_new")
        assert calls == ["registers.activity_new"] * 2  # built each time, as Flask would
    finally:
        app.url_default_functions[None].remove(stamp)


def test_templates_use_it(app: Flask) -> None:
    assert app.jinja_env.globals["url_for"] is page_url_for
    with app.test_request_context("/"):
        assert render_template_string("{{ url_for('registers.activity_new') }}") == url_for(
            "registers.activity_new"
        )
