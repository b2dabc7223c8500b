"""Routes of the accounts, one module per capability (all on the ``accounts`` blueprint)."""

from . import auth, organisations, users  # noqa: F401 — importing a module declares its routes
