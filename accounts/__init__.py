"""Organisations, user accounts, roles, authentication and the active-organisation switch."""

from typing import Any

from flask import Flask
from flask_login import current_user

from accounts import demo, views  # noqa: F401 — the views declare their routes
from accounts.api import api_bp
from accounts.blueprint import bp
from accounts.labels import ACTION_LABELS, JOURNAL_TYPES, PREFIX_LABELS
from accounts.services import api_tokens, auth, digest, users  # noqa: F401 — digest: its jobs
from accounts.views import auth as auth_views
from accounts.views import organisations as organisation_views
from core import api
from core.domains import Domain, Widget
from core.extensions import login_manager
from core.security import Permission, authenticated_request_hooks


def setup(app: Flask) -> None:
    login_manager.user_loader(auth.load_session)
    api.token_loader = api_tokens.authenticate  # the JSON API's Bearer tokens (core.api)
    # Until the second factor is given, pages show no menu, name or organisation (nothing to see).
    app.jinja_env.globals["second_factor_pending"] = auth_views.second_factor_pending
    if auth_views.enforce_second_factor not in authenticated_request_hooks:
        authenticated_request_hooks.append(auth_views.enforce_second_factor)


def layout_facts() -> dict[str, Any]:
    """What the header shows of the account (core/layout.py caches the header under these). Until
    the second factor is given, a minimal frame: no menu, name or organisation (nothing to see)."""
    if auth_views.second_factor_pending():
        return {"frame_minimal": True}
    count, choices = organisation_views.organisation_switch()
    return {
        "frame_minimal": False,
        "user_name": current_user.full_name,
        "organisation_count": min(count, organisation_views.HEADER_SELECT_MAX + 1),
        "organisation_choices": tuple(
            (org_id, org.name) for org_id, (org, _roles) in (choices or {}).items()
        ),
    }


DOMAIN = Domain(
    name="accounts",
    blueprint=bp,
    order=10,
    nav="accounts/_nav.html",
    admin_nav="accounts/_admin_nav.html",
    action_labels=ACTION_LABELS,
    action_prefix_labels=PREFIX_LABELS,
    # Who reads the journal's content about these: the organisation page's readers; accounts, roles
    # and logins (IP addresses) only the platform administrators, as on the account pages.
    object_types={
        "Organisation": Permission.ORGANISATIONS_VIEW,
        "User": Permission.USERS_MANAGE,
        "Membership": Permission.USERS_MANAGE,
        # Entries journalled before current_user was unwrapped (core.audit.record) carry the proxy's
        # class name: the own account of the logged-in user, on the platform chain.
        "LocalProxy": Permission.USERS_MANAGE,
        "ApiToken": Permission.ORGANISATIONS_VIEW,
    },
    journal_types=JOURNAL_TYPES,
    demo=demo.load,
    layout_facts=layout_facts,
    widgets=(
        Widget(
            "accounts.organisations",
            "accounts/_widget_organisations.html",
            Permission.ORGANISATIONS_VIEW,
            order=10,
        ),
        Widget(
            "accounts.accounts",
            "accounts/_widget_accounts.html",
            Permission.USERS_MANAGE,
            context=lambda: {"figures": users.admin_figures()},
            order=5,
        ),
    ),
    setup=setup,
    api=api_bp,
)
