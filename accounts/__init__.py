"""Organisations, user accounts, roles, authentication and the active-organisation switch."""

from typing import Any

from flask import Blueprint, Flask, g

bp = Blueprint("accounts", __name__)


def register(app: Flask) -> None:
    from core.extensions import db, login_manager  # noqa: PLC0415
    from core.journal import register_object_types  # noqa: PLC0415
    from core.security import Permission, authenticated_request_hooks  # noqa: PLC0415

    from . import demo  # noqa: F401, PLC0415 — registers the demo loader
    from .auth import load_session  # noqa: PLC0415
    from .auth_views import enforce_second_factor, second_factor_pending  # noqa: PLC0415

    login_manager.user_loader(load_session)
    # Who reads the journal's content about these: the organisation page's readers; accounts, roles
    # and logins (IP addresses) only the platform administrators, as on the account pages.
    register_object_types(
        {
            "Organisation": Permission.ORGANISATIONS_VIEW,
            "User": Permission.USERS_MANAGE,
            "Membership": Permission.USERS_MANAGE,
            # The own account of the logged-in user when a view hands ``current_user`` (the proxy)
            # to a service that journals it (mfa.success, password.change …): platform chain only.
            "LocalProxy": Permission.USERS_MANAGE,
        }
    )
    # Until the second factor is given, pages show no menu, name or organisation (nothing to see).
    app.jinja_env.globals["second_factor_pending"] = second_factor_pending
    if enforce_second_factor not in authenticated_request_hooks:
        authenticated_request_hooks.append(enforce_second_factor)

    @app.after_request
    def _commit_session_touch(response: Any) -> Any:
        # The loader refreshed last_seen_at (at most once a minute) or expired the session: keep it,
        # whatever the view did (GET views do not commit).
        if g.pop("_egide_commit_session_touch", False):
            db.session.commit()
        return response


from . import auth_views, views  # noqa: E402, F401
