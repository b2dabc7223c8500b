"""Routes of the risks domain, one module per capability (all on the ``risks`` blueprint)."""

from . import ebios, hygiene, parcours, register, scale  # noqa: F401 — importing a module declares its routes
