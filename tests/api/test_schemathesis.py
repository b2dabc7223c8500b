"""schemathesis against the served OpenAPI document (``make test-api``; marked ``api_fuzz``, left out of
``make test``): every operation, positive and negative cases, sent with a token of each role of
organisation A, while organisation B has records of its own. Every response: no 5xx, and conformant
to the document (status code documented, body and content type as documented). Ids are drawn at
random, so most name nothing or B's records: 404 through the API as through the pages
(tests/api/test_api.py pins the cross-organisation cases one by one)."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from accounts.models import ApiTokenScope
from core import create_app
from core.config import TestConfig
from core.security import Role
from tests import factories as f
from tests.api.conftest import make_token
from tests.conftest import World

pytestmark = pytest.mark.api_fuzz

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "40"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
HEALTH_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]
STATUSES: Counter[int] = Counter()  # every status seen, printed at the end (the report's figures)


@pytest.fixture
def role_tokens(world: World) -> dict[str, str]:
    """One read-write token for each role of A's syndicate, one read token; B owns records too."""
    f.RightsRequestFactory(organisation=world.b.syndicate, requester_name="CANARY-B")
    f.RightsRequestFactory(organisation=world.a.syndicate, received_on=dt.date(2026, 11, 2))
    tokens = {role.value: make_token(world.a.users[role], world.a.syndicate)[0] for role in Role}
    tokens["dpo-read"] = make_token(world.a.users[Role.DPO], world.a.syndicate, ApiTokenScope.READ)[0]
    return tokens


# The document is read from an app of its own (as tests/core/test_tenancy.py reads the routes); the
# requests go to the test session's app (``app=``), whose database holds the world and its tokens.
# (schemathesis.pytest.from_fixture fails under pytest 9: it reads the removed ``Function._nodeid``.)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(TestConfig))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=HEALTH_CHECKS,
)
def test_every_operation_as_every_role(case: Any, app: Flask, role_tokens: dict[str, str]) -> None:
    for secret in role_tokens.values():
        response = case.call_and_validate(
            app=app, headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS
        )
        STATUSES[response.status_code] += 1


@schema.parametrize()
@settings(
    max_examples=max(5, MAX_EXAMPLES // 4),
    deadline=None,
    suppress_health_check=HEALTH_CHECKS,
)
def test_every_operation_without_a_token(case: Any, app: Flask, world: World) -> None:
    response = case.call_and_validate(app=app, checks=CHECKS)
    STATUSES[response.status_code] += 1
    if response.request.method != "OPTIONS":  # Flask answers OPTIONS itself: the allowed methods
        assert response.status_code in (401, 404, 405, 422), response.request.method


def test_zz_report_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints what the fuzzing saw (run last: ``-p no:randomly``)."""
    with capsys.disabled():
        total, by_status = sum(STATUSES.values()), dict(sorted(STATUSES.items()))
        print(f"\nschemathesis: {total} responses, by status {by_status}")
    assert STATUSES, "schemathesis sent nothing"
    assert not any(code >= 500 for code in STATUSES)
