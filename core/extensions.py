"""Unbound Flask extensions, initialised in :func:`core.create_app`."""

from typing import Any

from flask import Blueprint, current_app, request
from flask_alembic import Alembic
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_sqlalchemy_lite import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

from core.db import Base

db = SQLAlchemy()
alembic = Alembic(metadatas=Base.metadata)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Registered before CSRFProtect so that application-wide limits also count requests CSRF rejects
# (see STACK.md §1.7); per-view limits are added by the account-security work.


class PageLimiter(Limiter):
    """Flask-Limiter, its check before each request skipped when no limit of that check can apply.

    Before every request, Flask-Limiter works out which limits apply: application-wide and default
    limits, those of the request's blueprints, and those of a limited function that is not the view
    itself (its "hints"). Égide declares none of the first two (RATELIMIT_DEFAULT is None) and one
    blueprint limit (the JSON API), so on a page that check found nothing, at 0.08 ms a page
    (bench/bench_cpu.py). A view's own limit (``@limiter.limit`` on the login forms) is not checked
    there: the decorator checks it when the view runs, and that check is untouched.

    So the check before the request runs only when one of its limits may apply: limits configured
    app-wide (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION), a blueprint of the request declared limited
    through :meth:`limit` (any part of its dotted name), or hints noted for the endpoint.
    tests/accounts/test_rate_limits.py checks both ways.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limited_blueprints: set[str] = set()

    def limit(self, limit_value: Any, **kwargs: Any) -> Any:
        declared = super().limit(limit_value, **kwargs)

        def declare(obj: Any) -> Any:
            if isinstance(obj, Blueprint):
                self._limited_blueprints.add(obj.name)
            return declared(obj)

        return declare

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and not self._may_apply_before_request():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _may_apply_before_request(self) -> bool:
        config = current_app.config
        if config.get("RATELIMIT_DEFAULT") or config.get("RATELIMIT_APPLICATION"):
            return True
        if request.blueprint and self._limited_blueprints.intersection(request.blueprint.split(".")):
            return True
        manager = getattr(self, "limit_manager", None)
        return manager is None or manager.has_hints(request.endpoint or "")


limiter = PageLimiter(key_func=get_remote_address)
talisman = Talisman()
mailer = Mail()  # not "mail": that name is the core.mail module
