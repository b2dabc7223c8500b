"""Fixtures of the JSON API tests: usable tokens and a client that sends them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from accounts.models import ApiTokenScope, Organisation, User
from accounts.services.auth import token_hash
from core.api import TOKEN_PREFIX
from tests import factories as f


def make_token(
    user: User, org: Organisation, scope: ApiTokenScope = ApiTokenScope.READ_WRITE, **kw: Any
) -> tuple[str, Any]:
    """A usable token of ``user`` for ``org``: (the secret, its row)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = f.ApiTokenFactory(
        user=user, organisation=org, scope=scope, token_hash=token_hash(secret), prefix=secret[:16], **kw
    )
    f.current_session().flush()
    return secret, row


class ApiClient:
    """``api.get("/rights-requests")`` with ``Authorization: Bearer <token>``, under /api/v1."""

    def __init__(self, app: Flask, secret: str | None, lang: str = "fr") -> None:
        self.client = app.test_client()
        self.secret = secret
        self.lang = lang

    def open(self, path: str, method: str = "GET", headers: dict[str, str] | None = None, **kw: Any) -> Any:
        sent = {"Accept-Language": self.lang}
        if self.secret is not None:
            sent["Authorization"] = f"Bearer {self.secret}"
        return self.client.open("/api/v1" + path, method=method, headers={**sent, **(headers or {})}, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.open(path, "GET", **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.open(path, "POST", **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.open(path, "PATCH", **kw)


@pytest.fixture
def api_as(app: Flask) -> Callable[..., ApiClient]:
    """``api_as(user, org, scope=…)`` → a client with a fresh token of ``user`` for ``org``."""

    def _api(
        user: User, org: Organisation, scope: ApiTokenScope = ApiTokenScope.READ_WRITE, lang: str = "fr"
    ) -> ApiClient:
        secret, _row = make_token(user, org, scope)
        return ApiClient(app, secret, lang)

    return _api
