"""The audits' routes (they add themselves to ``audits.blueprint.bp``)."""

from audits.views import access, audits, findings  # noqa: F401
