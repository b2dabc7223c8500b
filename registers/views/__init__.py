"""Routes of the RGPD registers, one module per capability (all on the ``registers`` blueprint)."""

from . import (  # noqa: F401 — importing a module declares its routes
    activities,
    breaches,
    documents,
    dpia,
    exchange,
    portfolio,
    processor,
    processors,
    publication,
    rights,
)
