"""Fixtures: the app (migrated once), per-test isolation, two organisations with a user per role.

The suite runs on SQLite by default and on PostgreSQL with
``TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test``.

Each test runs inside one outer transaction that is rolled back (Flask-SQLAlchemy-Lite's
``test_isolation``); requests commit only savepoints. Client requests each get their own application
context, as in production (pytest-flask's shared request context is switched off below), so nothing
cached on ``g`` or in a session's identity map survives from one request to the next.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import MetaData, make_url, text

from accounts.models import Organisation, User
from accounts.services import auth
from catalogue.models import Application, Subscription
from core import create_app
from core.config import TestConfig
from core.db import utcnow
from core.extensions import alembic, db
from core.mail import outbox
from core.security import Permission, Role, access_policy, current_permissions
from core.tenancy import set_active_org
from tests import factories as f


def reset_database() -> None:
    """Drop whatever the test database holds, then build the schema through the migrations."""
    engine = db.engine
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    alembic.upgrade()


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app(TestConfig)
    with app.app_context():
        reset_database()
    yield app
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database:
        with app.app_context():
            db.engine.dispose()
        Path(url.database).unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Override pytest-flask's: it shares one app context (and ``g``) across a test's requests."""
    return


@pytest.fixture(autouse=True)
def _isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Join every session of the test (its own and each request's) to one rolled-back transaction.

    SQLAlchemy's "joining a Session into an external transaction" recipe: sessions are bound to the
    connection itself with ``join_transaction_mode="create_savepoint"``, so a view's commit only
    releases a savepoint. (Flask-SQLAlchemy-Lite's ``test_isolation`` binds sessions to the engine,
    which SQLAlchemy 2.1 no longer joins to the outer transaction.)
    """
    if "no_isolation" in request.keywords or "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        maker = db.sessionmaker
        engine = db.engine
    saved = dict(maker.kw)
    connection = engine.connect()
    transaction = connection.begin()
    maker.configure(bind=connection, join_transaction_mode="create_savepoint")
    session = maker()
    f._SessionHolder.session = session
    try:
        yield
    finally:
        f._SessionHolder.session = None
        session.close()
        maker.kw.clear()
        maker.kw.update(saved)
        transaction.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _empty_outbox() -> Iterator[None]:
    outbox.clear()
    yield
    outbox.clear()


@pytest.fixture
def session(app: Flask) -> Any:
    """The test's own ORM session (outside any app context)."""
    return f._SessionHolder.session


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An app + request context for service tests (no client requests in such tests)."""
    with app.test_request_context():
        yield app


@contextmanager
def acting_as(user: User, org: Organisation) -> Iterator[None]:
    """Inside ``app_ctx``: make ``user`` the logged-in user with ``org`` active."""
    user = db.session.merge(user)
    auth.start_session(user, mfa_verified=True)
    login_user(user)
    assert set_active_org(org.id)
    yield


# --- the two-organisation world ----------------------------------------------------------------


@dataclass
class Tenant:
    syndicate: Organisation
    member: Organisation
    application: Application
    subscription: Subscription
    users: dict[Role, User] = field(default_factory=dict)
    member_referent: User | None = None
    records: dict[str, Any] = field(default_factory=dict)  # domain → its records (see domain_records)


@dataclass
class World:
    a: Tenant
    b: Tenant


def _tenant(session: Any, label: str) -> Tenant:
    syndicate = f.SyndicateFactory(name=f"Syndicat {label}", short_name=f"S{label}", siren=None)
    member = f.OrganisationFactory(name=f"Ville {label}", syndicate=syndicate)
    application = f.ApplicationFactory(
        syndicate=syndicate, name=f"Application {label}", editor=f"CANARY-{label}"
    )
    subscription = f.SubscriptionFactory(application=application, member=member)
    tenant = Tenant(syndicate, member, application, subscription)
    for role in Role:
        user = f.UserFactory(
            email=f"{role.value}.{label.lower()}@example.org", full_name=f"{role.value} {label}"
        )
        f.MembershipFactory(user=user, organisation=syndicate, role=role)
        tenant.users[role] = user
    tenant.member_referent = f.UserFactory(email=f"referent.ville{label.lower()}@example.org")
    f.MembershipFactory(user=tenant.member_referent, organisation=member, role=Role.REFERENT)
    session.flush()
    return tenant


@pytest.fixture
def world(app: Flask, session: Any) -> World:
    return World(a=_tenant(session, "A"), b=_tenant(session, "B"))


# --- each domain's records, for the route walkers -------------------------------------------------
# Every tests/<domain>/records.py (or tests/<domain>/<part>/records.py) is found here, without being
# named: it builds one object of each of its domain's models that has an address of its own
# (``build(tenant)``), and says which URL argument each fills (``URL_ARGUMENTS``: argument → getter
# on what ``build`` returned). The walkers (tests/core: pages, tenancy, i18n, extreme input, CSRF)
# reach every route of every domain with them.


def _record_modules() -> dict[str, ModuleType]:
    modules = {}
    root = Path(__file__).parent
    # tests/<domain>/records.py, and tests/<domain>/<part>/records.py for a domain in parts
    # (audits: its audits and findings, its evidence store, its packs) — keyed "<domain>.<part>".
    for path in sorted([*root.glob("*/records.py"), *root.glob("*/*/records.py")]):
        dotted = ".".join(path.relative_to(root).parent.parts)
        module = importlib.import_module(f"tests.{dotted}.records")
        assert callable(getattr(module, "build", None)), f"{path}: no build(tenant)"
        modules[dotted] = module
    arguments = [arg for module in modules.values() for arg in module.URL_ARGUMENTS]
    duplicates = {arg for arg in arguments if arguments.count(arg) > 1}
    assert not duplicates, f"URL arguments claimed by more than one domain: {sorted(duplicates)}"
    return modules


RECORD_MODULES = _record_modules()


def domain_records(tenant: Tenant, domain: str) -> Any:
    """``domain``'s records for ``tenant``, built on first use (in the test's session)."""
    if domain not in tenant.records:
        tenant.records[domain] = RECORD_MODULES[domain].build(tenant)
        f._SessionHolder.session.flush()
    return tenant.records[domain]


def build_records(tenant: Tenant) -> None:
    """Every domain's records for ``tenant``: call it in the test's session, before any app context."""
    for domain in RECORD_MODULES:
        domain_records(tenant, domain)


def record_ids(tenant: Tenant) -> dict[str, Any]:
    """URL argument → its value for ``tenant``'s records, for every domain."""
    return {
        arg: get(domain_records(tenant, domain))
        for domain, module in RECORD_MODULES.items()
        for arg, get in module.URL_ARGUMENTS.items()
    }


def record_arguments(tenant_of: Callable[[Any], Tenant] = lambda t: t) -> dict[str, Callable[[Any], Any]]:
    """URL argument → how to fill it, for every domain (a walker's ID_SOURCES). ``tenant_of`` turns
    what the walker passes (a tenant, or the world) into the tenant."""

    def source(domain: str, get: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda x: get(domain_records(tenant_of(x), domain))

    return {
        arg: source(domain, get)
        for domain, module in RECORD_MODULES.items()
        for arg, get in module.URL_ARGUMENTS.items()
    }


# --- what a walked page answers, from its view's declarations ---------------------------------------
# The walkers expect of each route what its view declares (core.security: require, public,
# login_required; core.tenancy: syndicate_only), for the permissions the walking user holds. Only a
# page's own behaviour (a redirect, an object-level rule, a missing query argument) is listed by hand.


def permissions_held(app: Flask, user: User, org: Organisation) -> frozenset[Permission]:
    """``user``'s permissions with ``org`` active, computed as a request computes them
    (core.security.current_permissions): the roles' permissions there, the platform permissions of
    a platform administrator, then each domain's ``permission_filters`` (an invited auditor's scope)."""
    with app.test_request_context(), acting_as(user, org):
        return current_permissions()


def declared_status(view: Callable[..., Any], held: frozenset[Permission], org: Organisation) -> int:
    """What a GET of ``view`` answers a logged-in user holding ``held`` with ``org`` active, as far
    as its declarations say: 403 when ``@require`` names a permission not held (checked first), 404
    when it is ``@syndicate_only`` and ``org`` is not a syndicate, 200 otherwise."""
    policy = access_policy(view) or ()
    if policy[:1] == ("permission",) and not set(policy[1:]) <= held:
        return 403
    if getattr(view, "__syndicate_only__", False) and not org.is_syndicate:
        return 404
    return 200


# The app's registries a blueprint's registration writes to (Flask's Blueprint.register).
_BLUEPRINT_REGISTRIES = (
    "blueprints",
    "view_functions",
    "error_handler_spec",
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "url_default_functions",
    "url_value_preprocessors",
    "template_context_processors",
)


def install_blueprint(app: Flask, blueprint: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``blueprint`` on the session's app for one test, as a new domain's is at start-up:
    its routes join the URL map the walkers read. ``monkeypatch`` puts the app back afterwards (the
    URL map and every registry the registration wrote to are copies, dropped at the end)."""
    old = app.url_map
    url_map = type(old)(
        [rule.empty() for rule in old.iter_rules()],
        default_subdomain=old.default_subdomain,
        strict_slashes=old.strict_slashes,
        merge_slashes=old.merge_slashes,
        redirect_defaults=old.redirect_defaults,
        converters=old.converters,
        sort_parameters=old.sort_parameters,
        sort_key=old.sort_key,
        host_matching=old.host_matching,
    )
    monkeypatch.setattr(app, "url_map", url_map)
    for name in _BLUEPRINT_REGISTRIES:
        monkeypatch.setattr(app, name, copy.copy(getattr(app, name)))
    monkeypatch.setattr(app, "_got_first_request", False)  # Flask refuses a blueprint once serving
    app.register_blueprint(blueprint)
    monkeypatch.setattr(app, "_got_first_request", True)


# --- clients -----------------------------------------------------------------------------------


def login(client: FlaskClient, user: User | str, password: str = f.PASSWORD) -> Any:
    """The password step only (a user with MFA then stands at the second-factor page)."""
    email = user if isinstance(user, str) else user.email
    return client.post("/login", data={"email": email, "password": password})


def pass_second_factor(client: FlaskClient, secret: str = f.TOTP_SECRET) -> Any:
    """Answer the second-factor page with a real TOTP code. A code is accepted once: when the same
    account already used the current step in this test, the neighbouring steps (also accepted,
    clock drift) serve the next logins."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    response = None
    for step in (now, now + 1, now - 1):
        response = client.post("/login/second-factor", data={"code": totp.generate_otp(step)})
        if response.status_code == 302:
            return response
    return response


def full_login(client: FlaskClient, user: User, password: str = f.PASSWORD) -> Any:
    """Password, then the second factor when the account has one: the user ends up logged in."""
    response = login(client, user, password)
    if response.status_code == 302 and response.location.startswith("/login/second-factor"):
        response = pass_second_factor(client)
    return response


@pytest.fixture
def login_as(app: Flask) -> Any:
    """``login_as(user)`` → a fresh client logged in as ``user``."""

    def _login(user: User, org: Organisation | None = None) -> FlaskClient:
        client = app.test_client()
        response = full_login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert not response.location.startswith(("/login", "/account/mfa")), response.location
        if org is not None:
            assert client.post("/active-organisation", data={"organisation_id": org.id}).status_code == 302
        return client

    return _login


def is_api_rule(rule: Any) -> bool:
    """A route of the JSON API (core.api): tokens, JSON and problem details, walked by tests/api."""
    return str(rule.rule).startswith("/api/")


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in page"
    return match.group(1) or match.group(2)


@pytest.fixture
def limiter_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each run of Flask-Limiter's own check, with its ``in_middleware`` (True: before the request;
    False: a limited view's decorator) — core.extensions.PageLimiter skips the first when no limit
    of it can apply."""
    from flask_limiter import Limiter  # noqa: PLC0415

    seen: list[bool] = []
    original = Limiter._check_request_limit

    def spy(self: Any, callable_name: str | None = None, in_middleware: bool = True) -> None:
        seen.append(in_middleware)
        original(self, callable_name=callable_name, in_middleware=in_middleware)

    monkeypatch.setattr(Limiter, "_check_request_limit", spy)
    return seen
