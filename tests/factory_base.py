"""What every domain's factories share: the session they write through (one place: ``_SessionHolder``)."""

from __future__ import annotations

import factory
from flask import has_app_context

from core.extensions import db


class _SessionHolder:
    session = None  # set by tests/conftest.py for tests that run outside an app context


def current_session():
    return db.session if has_app_context() else _SessionHolder.session


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"
