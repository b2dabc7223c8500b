"""Égide application kernel: the app factory and what every domain shares. No domain logic here."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask
from flask import Flask, abort, g, has_app_context, has_request_context, request, session
from sqlalchemy import event
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import (
    PROJECT_ROOT,
    BaseConfig,
    config_for_environment,
    instance_secret_key,
    normalise_database_url,
)
from core.extensions import alembic, babel, csrf, db, limiter, login_manager, mailer, talisman
from core.jinja_env import EgideEnvironment
from core.logs import configure_logging
from core.params import BoundedIntConverter
from core.sharing import SECRET_FROM_INSTANCE, warn_local_state


def create_app(config: type[BaseConfig] | Mapping[str, Any] | None = None) -> Flask:
    # APIFlask: a Flask app that also writes the JSON API's OpenAPI document (core.api). The pages
    # keep their HTML error pages (json_errors=False); core.views serves the document and its page.
    app = APIFlask(
        __name__,
        title="Égide API",
        version="1.0",
        spec_path=None,
        docs_path=None,
        json_errors=False,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
    )
    # Before anything reads app.jinja_env (created on first use): the templates' escaping (core.jinja_env).
    app.jinja_environment = EgideEnvironment
    configure(app, config)
    from core import api  # noqa: PLC0415 — factory step

    api.configure(app)
    configure_logging(app)
    warn_local_state(app)  # production: what would stay on this server alone (several servers)
    register_extensions(app)
    # Before any route exists: ``<int:...>`` matches 1 .. 2**31 - 1 only, else 404 (core.params).
    app.url_map.converters["int"] = BoundedIntConverter
    register_blueprints(app)
    api.leave_pages_out(app)
    register_request_hooks(app)
    register_jinja(app)
    from core.cli import register_cli  # noqa: PLC0415 — factory step
    from core.errors import register_error_handlers  # noqa: PLC0415 — factory step

    register_error_handlers(app)
    register_cli(app)
    from core import jobs  # noqa: PLC0415 — factory step, after the domains (they declare jobs)

    jobs.init_app(app)
    from core.audit import init_app as init_audit  # noqa: PLC0415 — factory step

    init_audit(app)  # anchors the journal's chains without an operator (see core.audit)
    return app


def configure(app: Flask, config: type[BaseConfig] | Mapping[str, Any] | None) -> None:
    if config is None:
        config = config_for_environment()
    if isinstance(config, Mapping):
        app.config.from_object(config_for_environment())
        app.config.from_mapping(config)
    else:
        app.config.from_object(config)
    if not app.config.get("TESTING"):
        import os  # noqa: PLC0415 — factory step

        if os.environ.get("DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
        if os.environ.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
        app.config.from_prefixed_env("EGIDE")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
        app.config[SECRET_FROM_INSTANCE] = True  # this server's own (core.sharing)
    url = normalise_database_url(app.config["DATABASE_URL"])
    app.config["DATABASE_URL"] = url
    # hide_parameters: an error logged with its SQL never carries the values (a password hash, a
    # token digest, personal data); the statement and the traceback are enough to find the bug.
    engine: dict[str, Any] = {
        "url": url,
        "echo": app.config.get("SQL_ECHO", False),
        "hide_parameters": not app.config.get("SQL_ECHO", False),
    }
    if url.startswith("sqlite"):
        # pysqlite's own wait for a lock, in seconds (the busy timeout below says the same to SQLite).
        engine["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        engine |= {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
    app.config["SQLALCHEMY_ENGINES"] = {"default": engine}
    alembic_cfg = app.config.setdefault("ALEMBIC", {})
    alembic_cfg["script_location"] = str(PROJECT_ROOT / "migrations")
    # Date-sorted revision files (house style), e.g. 20261124_0001_foundation.py
    alembic_cfg["file_template"] = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"
    # With the SQLite transaction fix below, DDL is transactional on both backends: a failed
    # migration leaves nothing half-applied.
    app.config["ALEMBIC_CONTEXT"] = {"render_as_batch": True, "compare_type": True, "transactional_ddl": True}
    if app.config.get("ENV_NAME") == "production":
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_WRITER = "egide_sqlite_writer"  # on ``g``: this application context writes (BEGIN IMMEDIATE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Settings of every new SQLite connection (the embedded default, several gunicorn workers).

    * Take transaction control away from pysqlite so SAVEPOINTs and transactional DDL work
      (SQLAlchemy SQLite dialect docs, "Serializable isolation"); foreign keys on.
    * WAL: readers never block the writer nor the writer the readers (in the default rollback
      journal a long read made a concurrent commit wait, and two transactions that had read and
      then wrote failed at once with "database is locked"). Kept in the file; NORMAL synchronous is
      the setting WAL is meant for (durable at each checkpoint, never corrupt).
    * busy_timeout: a writer waits up to 5 s for another one instead of failing at once.
    * A larger page cache and memory-mapped reads: list pages and figures read indexes of
      hundreds of thousands of entries (bench/bench_http.py).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-32768")  # KiB: 32 MiB per connection, at most
    cursor.execute("PRAGMA mmap_size=268435456")  # 256 MiB of the file mapped, read without copies
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A request that may write (POST…) takes SQLite's write lock when its transaction begins, waiting
    # for it up to the busy timeout. A deferred transaction that read first and writes later is
    # refused at once ("database is locked") when another worker wrote in between: the busy timeout
    # cannot help it. Pages that only read (GET) keep deferred transactions: they never write
    # (tests/core/test_read_only_requests.py), and readers do not wait for anybody in WAL mode.
    # Background jobs (core.jobs) say so on ``g``: they write, outside any request.
    writing = (has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")) or (
        has_app_context() and g.get(SQLITE_WRITER, False)
    )
    # Straight to the driver: SQLAlchemy's exec_driver_sql cost 35 µs a transaction for one word.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if writing else "BEGIN")


def register_extensions(app: Flask) -> None:
    from core.cookies import CheckedCookieSessionInterface  # noqa: PLC0415 — factory step

    app.session_interface = CheckedCookieSessionInterface()  # the cookie's signature checked once
    db.init_app(app)
    from core import transactions  # noqa: PLC0415 — factory step

    transactions.init_app(app)  # a request's transaction that only read ends with COMMIT
    # Flask-SQLAlchemy-Lite also registers an *async* teardown that closes async sessions. Égide has
    # no async engine, yet Flask runs that coroutine through asgiref at the end of every application
    # context — a new event loop in a thread each time, about 0.7 ms a request for nothing
    # (bench/bench_http.py). The synchronous teardown, which closes the request's session, stays.
    app.teardown_appcontext_funcs[:] = [
        func for func in app.teardown_appcontext_funcs if not inspect.iscoroutinefunction(func)
    ]
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
                event.listen(engine, "begin", _sqlite_begin)
    alembic.init_app(app)
    limiter.init_app(app)
    mailer.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Paris")
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "strong"
    from flask_babel import lazy_gettext  # noqa: PLC0415 — factory step

    login_manager.login_message = lazy_gettext("Veuillez vous connecter pour accéder à cette page.")
    login_manager.login_message_category = "info"
    production = app.config.get("ENV_NAME") == "production"
    talisman.init_app(
        app,
        force_https=production,
        strict_transport_security=production,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy={
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "font-src": "'self'",
            "object-src": "'none'",
            "base-uri": "'none'",
            "frame-ancestors": "'none'",
            "form-action": "'self'",
        },
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        referrer_policy="same-origin",
    )


def select_locale() -> str:
    if not has_request_context():
        return "fr"
    from core.api import is_api_request  # noqa: PLC0415 — the API has no session: Accept-Language

    if is_api_request():
        return request.accept_languages.best_match(("fr", "en")) or "fr"
    lang = session.get("lang")
    return lang if lang in ("fr", "en") else "fr"


def register_blueprints(app: Flask) -> None:
    from core.domains import discover, install  # noqa: PLC0415 — records are read at start-up
    from core.journal import bp as journal_bp  # noqa: PLC0415 — factory step
    from core.views import bp as core_bp  # noqa: PLC0415 — factory step

    app.register_blueprint(core_bp)
    app.register_blueprint(journal_bp)
    install(app, discover())  # every domain's one registration (core/domains.py)


def register_request_hooks(app: Flask) -> None:
    from flask_login import current_user  # noqa: PLC0415 — factory step

    from core import api  # noqa: PLC0415 — factory step
    from core.security import authenticated_request_hooks  # noqa: PLC0415 — factory step
    from core.tenancy import resolve_request_org  # noqa: PLC0415 — factory step

    @app.before_request
    def _tenant_and_hooks() -> Any:
        refuse_nul_bytes()
        if api.is_api_request():
            # A token, never the session cookie; no second-factor page to send a program to.
            response = api.authenticate_request()
            if response is None:
                resolve_request_org()
            return response
        resolve_request_org()
        if current_user.is_authenticated:
            for hook in authenticated_request_hooks:
                response = hook()
                if response is not None:
                    return response
        return None

    @app.after_request
    def _no_store_when_authenticated(response: Any) -> Any:
        # ASVS 8.2.1: pages of a logged-in user must not be kept by browsers or proxies.
        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response


def refuse_nul_bytes() -> None:
    """NUL bytes are never text: PostgreSQL refuses them (a 500 otherwise) and SQLite would keep them.

    In the query string they are dropped (junk parameters give a page, never an error); in a posted
    form they get the 400 page, and nothing is written.
    """
    if any("\x00" in v for v in request.args.values()):
        cleaned = [(k, v.replace("\x00", "")) for k, v in request.args.items(multi=True)]
        request.args = ImmutableMultiDict(cleaned)  # type: ignore[misc]
    if request.method == "POST" and any("\x00" in v for v in request.form.values()):
        abort(400)


def register_jinja(app: Flask) -> None:
    from core import layout, templating  # noqa: PLC0415 — factory step

    templating.register(app)
    layout.init_app(app)


logging.getLogger(__name__).addHandler(logging.NullHandler())
__all__ = ["create_app"]
