"""Routes of the catalogue (all on the ``catalogue`` blueprint)."""

from . import applications  # noqa: F401 — importing a module declares its routes
