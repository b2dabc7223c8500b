"""Tenant scoping — the one place that decides which rows the active organisation may see.

* ``current_org``: the active organisation, resolved once per request from the logged-in user's
  memberships and the organisation chosen in the header (kept in the session, checked every time).
* ``get_scoped_or_404(Model, id)``: the only way a view loads an object by id. Another tenant's
  object answers 404, so its existence is not leaked.
* ``scoped(select(...))``: adds the tenant criteria to a list query.
* Safety net: a ``do_orm_execute`` listener adds ``with_loader_criteria`` for every tenant-scoped
  model whenever a session is bound to an organisation. CLI and platform code opt out explicitly
  with ``execution_options(**UNSCOPED)`` — the one spelling, each use with a ``# unscoped:`` reason.
  Raw SQL bypasses it: explicit scoping stays the main mechanism, the listener is the backstop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar

from flask import abort, g, session
from flask.globals import _cv_app, _cv_request
from flask_login import current_user
from sqlalchemy import Select, event, false, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql import visitors
from sqlalchemy.sql.cache_key import CacheConst
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Alias, Subquery, TableClause
from werkzeug.local import LocalProxy

from core.db import TenantScoped
from core.extensions import db
from core.lru import LRU
from core.roles import Role

M = TypeVar("M")
F = TypeVar("F", bound=Callable[..., Any])

SESSION_KEY = "active_org_id"
# ``stmt.execution_options(**UNSCOPED)``: a deliberate read past the tenant filter (platform code,
# cross-organisation figures such as the DPO portfolio); say why beside each use.
UNSCOPED = {"skip_org_scope": True}
ORG_INFO_KEY = "org_id"
PINNED_ORG = "egide_pinned_org_id"  # on ``g``: the organisation of the request's API token (core.api)


def _resolve() -> tuple[Any, frozenset[Role]]:
    # Kept for the request and its user: ``g`` outlives a request when an app context was pushed
    # around several (tests, scripts), and an API request logs its token's user in after the first
    # hooks ran — so the (request, user) that resolved is kept beside the answer and compared. A hook
    # that asks before resolve_request_org (a domain's app-wide before_request) thus no longer makes
    # the tenant resolved twice (two queries of every page). The user is read where Flask-Login
    # keeps it on ``g``: a page asks fifty times, and the ``current_user`` proxy costs µs each.
    here = _cv_app.get().g.__dict__
    request_ctx = _cv_request.get(None)
    kept = here.get("_egide_org_key")
    if kept is not None and kept[0] is request_ctx and kept[1] is here.get("_login_user"):
        return here["_egide_org"], here["_egide_roles"]
    user = current_user._get_current_object()  # loads the user when not done yet
    here.pop("_egide_permissions", None)
    org, roles = None, frozenset()
    pinned = here.get(PINNED_ORG)
    if user.is_authenticated and pinned is not None:
        # An API token names its organisation: that one or none (never another one's data).
        found = user.roles_in(pinned)
        if found is not None:
            org, roles = found
    elif user.is_authenticated:
        # One small query, whatever the number of organisations the user serves (none at all when
        # the session's loader read the roles with the session row: accounts.models.load_frame).
        found = user.roles_in(session.get(SESSION_KEY))
        if found is None:  # none chosen yet, or no longer allowed: the first, as ordered by User
            found = user.roles_in(user.first_organisation_id())
        if found is not None:
            org, roles = found
    here["_egide_org"], here["_egide_roles"] = org, frozenset(roles)
    here["_egide_org_key"] = (request_ctx, user)
    bind_session(org.id if org is not None else None)
    return org, here["_egide_roles"]


def resolve_request_org() -> None:
    """App-wide ``before_request``: bind the request's session to the user's active organisation
    (once a request: see :func:`_resolve`)."""
    if current_user.is_authenticated:
        _resolve()


def _current_org() -> Any:
    return _resolve()[0]


current_org: Any = LocalProxy(_current_org)


def current_org_roles() -> frozenset[Role]:
    return _resolve()[1]


def set_active_org(org_id: int) -> bool:
    """Make ``org_id`` the active organisation if the user holds a role there."""
    if current_user.roles_in(org_id) is None:
        return False
    session[SESSION_KEY] = org_id
    for key in ("_egide_org_key", "_egide_org", "_egide_roles", "_egide_permissions"):
        g.pop(key, None)
    return True


def bind_session(org_id: int | None, sess: Session | None = None) -> None:
    """Bind the ORM safety net of ``sess`` (default: the request session) to an organisation."""
    (sess or db.session).info[ORG_INFO_KEY] = org_id


def tenant_criteria(model: type[Any]) -> ColumnElement[bool] | None:
    """Criteria limiting ``model`` to what the active organisation may see (None: no limit)."""
    if getattr(model, "__admin_sees_all__", False) and current_user.is_platform_admin:
        return None
    if not hasattr(model, "tenant_criteria"):
        return None
    org = _current_org()
    if org is None:
        return false()
    return _criteria_of(model, org.id)


@functools.lru_cache(maxsize=4096)
def _criteria_of(model: type[Any], org_id: int) -> ColumnElement[bool]:
    """``model.tenant_criteria(org_id)``, built once per worker for each pair: a SQL expression is
    immutable, so one object serves every statement of that model and organisation. Building it —
    an ORM attribute compared with a value — cost some 40 µs, twice or three times a list page."""
    return model.tenant_criteria(org_id)


SCOPED_FOR = "egide_scoped_for"  # execution option set by scoped(): (model, organisation id)


def scoped(stmt: Select[Any], model: type[Any] | None = None) -> Select[Any]:
    model = model or stmt.column_descriptions[0]["entity"]
    criteria = tenant_criteria(model)
    if criteria is None:
        return stmt
    org = _current_org()
    # Marked with what it is scoped to (execution options go along every later .where(),
    # .order_by() and the count of core.pagination): see execute_rows.
    return stmt.where(criteria).execution_options(
        **{SCOPED_FOR: (model, org.id if org is not None else None)}
    )


def reused_per_organisation(builder: Callable[..., Select[Any]]) -> Callable[..., Select[Any]]:
    """A list's statement builder, its statement built once per worker for each organisation and
    each set of arguments, then reused as it is (a SQL expression never changes once built).

    Building a list's statement, then SQLAlchemy's walk of it to find its compiled SQL, cost 0.1 to
    0.2 ms a page (bench/bench_http.py); the same statement object is walked once. The builder must
    read nothing of the request but its arguments (hashable: a frozen dataclass of filters, today's
    date, the ids an auditor may see) and the organisation through :func:`scoped` — the key is the
    arguments, the organisation and whether the user is a platform administrator (whom
    ``__admin_sees_all__`` models do not scope). A statement kept for another organisation could
    not show its rows anyway: :func:`execute_rows` sends a statement scoped for another organisation
    through the safety net, which adds the active one's criteria (tests/core/test_security.py)."""
    kept: LRU[Select[Any]] = LRU(REUSED_STATEMENTS)

    @functools.wraps(builder)
    def reused(*args: Any) -> Select[Any]:
        org = _current_org()
        if org is None:
            return builder(*args)
        key = (org.id, bool(getattr(current_user, "is_platform_admin", False)), args)
        stmt = kept.get(key)
        if stmt is None:
            stmt = builder(*args)
            kept.put(key, stmt)
        return stmt

    reused.kept = kept  # type: ignore[attr-defined] — for the tests
    return reused


REUSED_STATEMENTS = 512  # per builder and worker: organisations × filter sets in use


def execute_rows(stmt: Select[Any], params: dict[str, Any] | None = None, sess: Session | None = None) -> Any:
    """Run a statement of columns (a list page's rows, their count) — through SQLAlchemy Core when the
    safety net would add nothing to it, through the ORM (and its net) otherwise. The net would add
    nothing when the statement is unscoped on purpose (UNSCOPED), when the session is bound to no
    organisation, when it names no tenant table at all (a count over an association table), or when it
    went through :func:`scoped` for the session's own organisation and names no tenant table but that
    one, once (no join, alias or subquery on another tenant table, nor a second use of its own): the one
    criterion the net would add is already there. Core runs a list's query in half the time (the ORM's
    per-query machinery, 0.15 to 0.25 ms, four list queries a page: bench/bench_cpu.py);
    tests/core/test_security.py checks both ways give the same rows, and that what is not proven scoped
    goes through the net. ``params``: the values of the statement's bind parameters (a statement built
    once, run with this page's values)."""
    sess = sess or db.session
    if _net_adds_nothing(stmt, sess):
        return sess.connection().execute(stmt, params, execution_options=_CORE_ROWS)
    return sess.execute(stmt, params)


# Rows read by position and by name only (a list's named tuples, ``row.name``), never by column object
# (``row._mapping[Model.col]``): SQLAlchemy may then skip re-keying a cached result description on the
# columns of each new statement object, as its ORM does for every query (``_adapt_to_context``:
# Python equality on each selected column, 0.1 ms for a list of 12 columns). Rows by name are the
# same; tests/core/test_security.py compares them with the ORM's.
_CORE_ROWS = MappingProxyType({"_result_disable_adapt_to_context": True})


def _net_adds_nothing(stmt: Select[Any], sess: Session) -> bool:
    options = stmt.get_execution_options()
    if options.get("skip_org_scope") or ORG_INFO_KEY not in sess.info:
        return True
    mark = options.get(SCOPED_FOR)
    if mark is not None and mark[1] != sess.info[ORG_INFO_KEY]:
        return False
    # The answer depends on the statement's shape alone, which its SQL cache key stands for (kept
    # on the statement, which its execution then reuses): looked into once per shape and worker.
    key = stmt._generate_cache_key()
    if key is None:
        return False
    name = mark[0].__table__.name if mark is not None else None
    verdict = _VERDICTS.get((key.key, name))
    if verdict is None:
        verdict = _names_only_once(stmt, name)
        if len(_VERDICTS) < 2048:
            _VERDICTS[(key.key, name)] = verdict
    return verdict


_VERDICTS: dict[tuple[Any, str], bool] = {}


def _names_only_once(stmt: Select[Any], name: str | None) -> bool:
    """Whether ``stmt`` selects columns only (no whole entity: Core would hand back its columns,
    not the object) and names no tenant table the net scopes but ``name`` (None: none at all, as a count
    over an association table), never through an alias, and ``name`` in its own select only (or in the
    one select counted by core.pagination), not in a subquery. Read from the statement's elements: no
    compilation (SQLAlchemy's get_final_froms compiles an ORM statement)."""
    if any(not isinstance(column, ColumnElement) for column in stmt._raw_columns):
        return False  # a whole entity (select(Model)): the ORM builds the objects
    netted = _netted_table_names(len(TenantScoped.registry))
    for table in sql_util.find_tables(stmt, check_columns=True, include_aliases=True):
        if isinstance(table, Alias):
            if isinstance(table.element, TableClause) and table.element.name in netted:
                return False
        elif isinstance(table, TableClause) and table.name in netted and table.name != name:
            return False
    main = stmt
    froms = stmt._from_obj  # explicit: core.pagination.count_statement selects from its subquery
    if len(froms) == 1 and isinstance(froms[0], Subquery) and isinstance(froms[0].element, Select):
        main = froms[0].element  # the count of core.pagination: SELECT count(*) FROM (the list)
    for element in visitors.iterate(stmt):
        if isinstance(element, Select) and element is not stmt and element is not main:
            for table in sql_util.find_tables(element, check_columns=True):
                if isinstance(table, TableClause) and table.name == name:
                    return False  # a subquery on the scoped table: its own use is not scoped
    return True


@functools.lru_cache(maxsize=8)
def _netted_table_names(_models: int) -> frozenset[str]:
    return frozenset(
        model.__table__.name  # type: ignore[attr-defined]
        for model in TenantScoped.registry
        if getattr(model, "__safety_net__", True)
    )


def syndicate_only(view: F) -> F:
    """Pages and actions that exist only for a syndicate (fiche templates, the processor register,
    the catalogue's writes): from a member or partner organisation they answer **404**, as a page
    that does not exist from the active organisation (the 404 page says so) — one rule, one code.
    Put it under ``@require(...)``, so that anonymous visitors still go to the login page first."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        org = _current_org()
        if org is None or not org.is_syndicate:
            abort(404)
        return view(*args, **kwargs)

    wrapped.__syndicate_only__ = True  # type: ignore[attr-defined] — found by the route walker's test
    return wrapped  # type: ignore[return-value]


def get_scoped_or_404(model: type[M], object_id: Any, *options: Any) -> M:
    obj = db.session.scalar(scoped(select(model).where(model.id == object_id), model).options(*options))  # type: ignore[attr-defined]
    if obj is None:
        abort(404)
    return obj


@event.listens_for(Session, "do_orm_execute")
def _tenant_safety_net(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("skip_org_scope"):
        return
    if ORG_INFO_KEY not in state.session.info:
        return  # unbound: anonymous pages, CLI, platform code (requests bind in resolve_request_org)
    options = _safety_net_options(state.session.info[ORG_INFO_KEY], len(TenantScoped.registry))
    statement = state.statement
    # A relationship load (lazy, selectin) of objects loaded under this net carries its options
    # already (propagate_to_loaders): the same objects, for the same organisation. Adding them twice
    # would only make each such query longer to key and compile, not narrower.
    if options and any(option is options[0] for option in statement._with_options):
        return
    # What ``statement.options(*options)`` does, without passing each of the net's 40-odd options
    # through SQLAlchemy's argument coercion again on every query (a quarter of a millisecond a
    # list page, bench/bench_http.py): they are built once, already options (_safety_net_options).
    netted = statement._generate()
    netted._with_options += options
    state.statement = netted


@functools.lru_cache(maxsize=4096)
def _safety_net_options(org_id: int | None, _models: int) -> tuple[Any, ...]:
    """The net's options for an organisation, built once per worker (they are immutable, and the
    same for every request of that organisation: 21 with_loader_criteria built anew on each request
    cost a third of a millisecond). ``_models``: the registry's size, should a model be added."""
    options = []
    for model in TenantScoped.registry:
        if not getattr(model, "__safety_net__", True):
            continue
        criteria = false() if org_id is None else model.tenant_criteria(org_id)
        options.append(_NetCriteria(model, criteria, include_aliases=True))
    return tuple(options)


class _NetCriteria(LoaderCriteriaOption):
    """``with_loader_criteria(model, criteria, include_aliases=True)`` whose SQL cache key is worked
    out once, not on every query.

    SQLAlchemy finds a query's compiled SQL in its cache by the query's key, options included, and
    the key is worked out anew on each run: for the net's 21 options that was 0.2–0.3 ms a query,
    as much as running it (four or five queries a list page; bench/bench_cpu.py). An option of the
    net never changes once built (:func:`_safety_net_options` keeps them per organisation), so its
    key and its bound values (the organisation's id) are kept with it and handed back each time, in
    the same order — the cached SQL then gets this organisation's id, as a fresh key would give it
    (tests/core/test_tenancy.py runs one query for two organisations in turn). An option whose key
    SQLAlchemy would not cache is not kept."""

    __slots__ = ("_kept_key",)
    inherit_cache = True
    # The key is LoaderCriteriaOption's own, worked out from its traversal (SQLAlchemy reads a
    # subclass's from this attribute when inherit_cache is set).
    _cache_key_traversal = LoaderCriteriaOption._traverse_internals

    def _gen_cache_key(self, anon_map: Any, bindparams: list[Any]) -> Any:
        try:
            key, binds = self._kept_key
        except AttributeError:
            own_map = type(anon_map)()
            binds = []
            key = super()._gen_cache_key(own_map, binds)
            if CacheConst.NO_CACHE in own_map or CacheConst.PARAMS in own_map:
                return super()._gen_cache_key(anon_map, bindparams)
            self._kept_key = (key, tuple(binds))
        bindparams.extend(binds)
        return key
