"""Organisations, user accounts, roles, login and the active-organisation switch."""

from flask import Blueprint, Flask

bp = Blueprint("accounts", __name__)


def register(app: Flask) -> None:
    from core.extensions import login_manager  # noqa: PLC0415

    from . import demo  # noqa: F401, PLC0415 — registers the demo loader
    from .services import load_user  # noqa: PLC0415

    login_manager.user_loader(load_user)


from . import views  # noqa: E402, F401
