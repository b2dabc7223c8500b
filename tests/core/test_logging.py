"""Every unhandled error is logged once, with the incident id shown on the 500 page, the route, the
user and the organisation — and never what the user typed."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from flask import Flask

from core.logs import JsonFormatter, TextFormatter, configure_logging
from core.security import Role
from tests.conftest import World

INCIDENT_RE = re.compile(r"<code>([0-9a-f]{12})</code>")


@pytest.fixture
def failing_home(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The home page raises; errors are handled as in production (not propagated to the test)."""

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom from the test")

    monkeypatch.setitem(app.view_functions, "core.index", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "egide.errors"]


def test_the_incident_id_of_the_500_page_is_in_the_log_with_its_context(
    world: World, login_as: Any, failing_home: None, caplog: pytest.LogCaptureFixture
) -> None:
    user = world.a.users[Role.RSSI]
    client = login_as(user, world.a.syndicate)
    with caplog.at_level(logging.INFO):
        response = client.get("/?token=secret-token-in-the-query")
    assert response.status_code == 500
    incident = INCIDENT_RE.search(response.get_data(as_text=True)).group(1)
    records = _errors(caplog)
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    record = records[0]
    assert incident in record.getMessage()
    assert record.incident == incident
    assert record.route == "core.index"
    assert record.path == "/"
    assert record.user_id == user.id
    assert record.org_id == world.a.syndicate.id
    assert record.exc_info
    assert record.exc_info[0] is RuntimeError
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert incident in line
        assert "boom from the test" in line  # the traceback
        assert "secret-token-in-the-query" not in line


def test_a_500_on_a_post_never_logs_the_form_body(
    app: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("posted form failed")

    monkeypatch.setitem(app.view_functions, "core.set_language", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    client = app.test_client()
    response = client.post("/language", data={"lang": "fr", "next": "/", "password": "hunter2-password"})
    assert response.status_code == 500
    (record,) = _errors(caplog)
    assert not hasattr(record, "user_id")  # anonymous
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["route"] == "core.set_language"
    assert entry["method"] == "POST"
    assert "hunter2-password" not in line


def test_json_lines_in_production_and_text_in_development(app: Flask) -> None:
    root = logging.getLogger()
    try:
        for env, fmt in (("production", JsonFormatter), ("development", TextFormatter)):
            app.config["ENV_NAME"] = env
            configure_logging(app)
            ours = [h for h in root.handlers if h.get_name() == "egide"]
            assert len(ours) == 1  # configured again: replaced, not doubled
            assert isinstance(ours[0].formatter, fmt)
        app.config["LOG_LEVEL"] = "WARNING"
        configure_logging(app)
        assert root.level == logging.WARNING
    finally:
        app.config["ENV_NAME"] = "testing"
        app.config["LOG_LEVEL"] = "INFO"
        configure_logging(app)
