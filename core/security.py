"""Roles, permissions and access policies: the single vocabulary for "who may do what".

Views declare what they need with :func:`require` (or :func:`public`); templates ask :func:`can`.
Nothing else in the code base inspects roles.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from core.roles import Role as Role  # re-exported: the vocabulary of "who may do what" is here
from core.tenancy import current_org, current_org_roles

F = TypeVar("F", bound=Callable[..., Any])


class Permission(enum.StrEnum):
    ORGANISATIONS_VIEW = "organisations_view"
    ORGANISATIONS_EDIT = "organisations_edit"
    ORGANISATIONS_MANAGE = "organisations_manage"  # create, merge, archive: platform-wide
    USERS_MANAGE = "users_manage"  # accounts and roles: platform-wide
    CATALOGUE_VIEW = "catalogue_view"
    CATALOGUE_MANAGE = "catalogue_manage"
    REGISTERS_VIEW = "registers_view"
    REGISTERS_EDIT = "registers_edit"
    REGISTERS_VALIDATE = "registers_validate"  # validate/archive fiches, publish the register
    BREACHES_RECORD = "breaches_record"  # record a personal-data breach (granted by the registers domain)
    SMSI_VIEW = "smsi_view"
    SMSI_EDIT = "smsi_edit"
    RISKS_VIEW = "risks_view"
    RISKS_EDIT = "risks_edit"
    HYGIENE_ASSESS = "hygiene_assess"  # fill the hygiene self-assessment (granted by the risks domain)
    AUDITS_VIEW = "audits_view"
    AUDITS_EDIT = "audits_edit"
    EVIDENCE_VIEW = "evidence_view"  # read and download evidence files (granted by audits.evidence)
    EVIDENCE_EDIT = "evidence_edit"  # upload evidence, new versions, links (granted by audits.evidence)
    AUDIT_FINDINGS_EDIT = "audit_findings_edit"  # an audit's findings (the audits domain grants it)
    REPORTS_VIEW = "reports_view"
    AUDIT_TRAIL_VIEW = "audit_trail_view"  # the journal: who changed what, when


P = Permission

# Granted by a platform-admin membership in any organisation, whatever the active organisation.
PLATFORM_PERMISSIONS = frozenset({P.ORGANISATIONS_MANAGE, P.USERS_MANAGE})

# The administrator manages organisations, accounts and the catalogue, and reads no register,
# incident or risk content unless the same person also holds another role there.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {P.ORGANISATIONS_VIEW, P.ORGANISATIONS_EDIT, P.ORGANISATIONS_MANAGE, P.USERS_MANAGE}
        | {P.CATALOGUE_VIEW, P.CATALOGUE_MANAGE, P.AUDIT_TRAIL_VIEW}
    ),
    Role.RSSI: frozenset(
        {P.ORGANISATIONS_VIEW, P.ORGANISATIONS_EDIT, P.CATALOGUE_VIEW, P.CATALOGUE_MANAGE}
        | {P.SMSI_VIEW, P.SMSI_EDIT, P.RISKS_VIEW, P.RISKS_EDIT, P.AUDITS_VIEW, P.AUDITS_EDIT}
        | {P.REGISTERS_VIEW, P.REPORTS_VIEW, P.AUDIT_TRAIL_VIEW}
    ),
    Role.DPO: frozenset(
        {P.ORGANISATIONS_VIEW, P.ORGANISATIONS_EDIT, P.CATALOGUE_VIEW, P.CATALOGUE_MANAGE}
        | {P.REGISTERS_VIEW, P.REGISTERS_EDIT, P.SMSI_VIEW, P.RISKS_VIEW, P.AUDITS_VIEW, P.REPORTS_VIEW}
        | {P.REGISTERS_VALIDATE, P.AUDIT_TRAIL_VIEW}
    ),
    Role.REFERENT: frozenset(
        {P.ORGANISATIONS_VIEW, P.CATALOGUE_VIEW, P.REGISTERS_VIEW, P.REGISTERS_EDIT, P.SMSI_VIEW}
        | {P.RISKS_VIEW, P.REPORTS_VIEW}
    ),
    Role.READER: frozenset(
        {P.ORGANISATIONS_VIEW, P.CATALOGUE_VIEW, P.REGISTERS_VIEW, P.SMSI_VIEW, P.RISKS_VIEW}
        | {P.AUDITS_VIEW, P.REPORTS_VIEW}
    ),
    Role.AUDITOR: frozenset(
        {P.ORGANISATIONS_VIEW, P.CATALOGUE_VIEW, P.REGISTERS_VIEW, P.SMSI_VIEW, P.RISKS_VIEW}
        | {P.AUDITS_VIEW, P.REPORTS_VIEW, P.AUDIT_TRAIL_VIEW}
    ),
}


# Every permission a view may require or a page ask for: the vocabulary above, and those a domain
# declares itself (a StrEnum of its own, e.g. ``class WikiPermission(StrEnum): VIEW = "wiki_view"``)
# by granting them in its Domain record — a new domain adds permissions without editing this module.
# A name known to neither is a typo, refused loudly (ValueError) rather than answered "no".
KNOWN_PERMISSIONS: set[str] = set(Permission)


def grant_permissions(grants: Mapping[Role, Iterable[str]]) -> None:
    """Add a domain's grants to its roles (``Domain.permissions``, installed at start-up by
    core.domains) and make its own permissions known; idempotent."""
    for role, permissions in grants.items():
        names = frozenset(permissions)
        KNOWN_PERMISSIONS.update(names)
        ROLE_PERMISSIONS[role] = ROLE_PERMISSIONS[role] | names  # type: ignore[operator]


def roles_granting(permission: Permission | str) -> frozenset[Role]:
    """The roles whose holders have ``permission`` in their organisation."""
    return frozenset(role for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


def permissions_for(roles: set[Role], *, is_platform_admin: bool) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    if is_platform_admin:
        granted |= PLATFORM_PERMISSIONS
    return frozenset(granted)


def user_can(user: Any, permission: Permission | str, org_id: int | None = None) -> bool:
    """Whether ``user`` — an actor handed to a service, not the request — holds ``permission`` in
    organisation ``org_id`` (None: the platform-wide permissions only). Read from the user's own
    roles there, never from the active organisation, a form or a CLI argument; kept on the user
    object for its lifetime (one request or one command: an import of 500 rows asks once)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if hasattr(user, "_get_current_object"):
        user = user._get_current_object()
    cache: dict[int | None, frozenset[Permission]] = user.__dict__.setdefault("_egide_permissions_in", {})
    if org_id not in cache:
        held = user.roles_in(org_id) if org_id is not None else None
        cache[org_id] = permissions_for(
            set(held[1]) if held else set(), is_platform_admin=user.is_platform_admin
        )
    return permission in cache[org_id]


# Functions a domain registers to narrow (or extend) the current user's permissions in the active
# organisation, given those of the roles: e.g. an invited auditor's, limited to one audit's scope
# (audits.access). Called in order, once a request; the result is what ``can`` answers.
permission_filters: list[Callable[[frozenset[Permission]], frozenset[Permission]]] = []


def current_permissions() -> frozenset[Permission]:
    """Permissions of the logged-in user in the active organisation (cached for the request)."""
    if not current_user.is_authenticated:
        return frozenset()
    if "_egide_permissions" not in g:
        granted = permissions_for(current_org_roles(), is_platform_admin=current_user.is_platform_admin)
        for narrow in permission_filters:
            granted = narrow(granted)
        g._egide_permissions = granted
    return g._egide_permissions


def can(permission: Permission | str, obj: Any = None) -> bool:
    """Whether the current user holds ``permission`` in the active organisation.

    ``obj`` lets a permission carry an object-level rule: a model may define
    ``allows(permission, org)`` (e.g. only the syndicate that owns the catalogue edits it).
    """
    if permission not in KNOWN_PERMISSIONS:
        raise ValueError(f"unknown permission: {permission!r}")
    if permission not in current_permissions():
        return False
    if obj is not None and hasattr(obj, "allows"):
        return bool(obj.allows(permission, current_org._get_current_object()))
    return True


# --- access policies ---------------------------------------------------------------------------

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def _mark(view: Callable[..., Any], policy: tuple[str, ...]) -> None:
    view.__access_policy__ = policy  # type: ignore[attr-defined]


def public(view: F) -> F:
    """Reachable without logging in (login page, health check, language switch)."""
    _mark(view, (PUBLIC,))
    return view


def login_required(view: F) -> F:
    """Any logged-in user, whatever the role (logout, switching organisation)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    _mark(wrapped, (AUTHENTICATED,))
    return wrapped  # type: ignore[return-value]


def require(*permissions: Permission) -> Callable[[F], F]:
    """Require every listed permission in the active organisation; 403 otherwise."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if not all(can(p) for p in permissions):
                abort(403)
            return view(*args, **kwargs)

        _mark(wrapped, ("permission", *permissions))
        return wrapped  # type: ignore[return-value]

    return decorator


def access_policy(view: Callable[..., Any]) -> tuple[str, ...] | None:
    return getattr(view, "__access_policy__", None)


# Hooks run before every request of a logged-in user (after the tenant is resolved). The account
# security work plugs MFA enforcement and server-side session checks in here; a hook returns a
# response to short-circuit the request, or None.
authenticated_request_hooks: list[Callable[[], Any]] = []


def login_and_org_required() -> Any:
    """``before_request`` of every domain blueprint: the backstop behind the view decorators."""
    if request.endpoint and access_policy_of_endpoint(request.endpoint) == (PUBLIC,):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    return None


def access_policy_of_endpoint(endpoint: str) -> tuple[str, ...] | None:
    view = current_app.view_functions.get(endpoint)
    return access_policy(view) if view else None
