"""Servers that share nothing (core.sharing): production logs what this configuration would keep on
one server alone; a configuration that shares everything logs nothing."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from core.sharing import SECRET_FROM_INSTANCE, local_state, warn_local_state

SHARED = {
    "ENV_NAME": "production",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "QUEUE_URL": "redis://127.0.0.1:6379/1",
    "SECRET_KEY": "shared",
    "ENCRYPTION_KEYS": "shared",
    "AUDIT_SIGNING_KEY_FILE": "/srv/partage/audit_signing_key.pem",
    "AUDIT_ANCHOR_FILE": "/srv/partage/audit_anchors.jsonl",
}


def _app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_a_configuration_that_shares_everything_keeps_nothing_local() -> None:
    assert local_state(_app(**SHARED)) == []


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("RATELIMIT_STORAGE_URI", "memory://", "RATELIMIT_STORAGE_URI"),
        ("QUEUE_URL", None, "QUEUE_URL"),
        ("QUEUE_URL", "sqlite:///queue.sqlite3", "QUEUE_URL"),
        ("ENCRYPTION_KEYS", None, "ENCRYPTION_KEYS"),
        ("AUDIT_SIGNING_KEY_FILE", None, "AUDIT_SIGNING_KEY_FILE"),  # default: instance/
        ("AUDIT_ANCHOR_FILE", "audit_anchors.jsonl", "AUDIT_ANCHOR_FILE"),
        (SECRET_FROM_INSTANCE, True, "SECRET_KEY"),
    ],
)
def test_each_local_setting_is_named(setting: str, value: object, said: str) -> None:
    (found,) = local_state(_app(**{**SHARED, setting: value}))
    assert found.startswith(said)


def test_production_logs_a_warning_for_each_and_development_none(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="egide.sharing")
    local = {**SHARED, "RATELIMIT_STORAGE_URI": "memory://", "QUEUE_URL": None}
    warn_local_state(_app(**{**local, "ENV_NAME": "development"}))
    assert caplog.records == []
    warn_local_state(_app(**local))
    assert [r.getMessage().split(": ", 1)[1].split(" ", 1)[0] for r in caplog.records] == [
        "RATELIMIT_STORAGE_URI",
        "QUEUE_URL",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)
