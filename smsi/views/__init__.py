"""Routes of the SMSI, one module per capability (all on the ``smsi`` blueprint)."""

from . import actions, documents, incidents, organisations, overview, review, soa  # noqa: F401 — importing a module declares its routes
