"""Routes of the RGPD registers, one module per capability (all on the ``registers`` blueprint)."""

from . import activities, breaches, documents, dpia, exchange, portfolio, processor, publication, rights  # noqa: F401
