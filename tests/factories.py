"""factory_boy factories, one module per domain (tests/<domain>/factories.py), all writing through the
session of the running test (tests/factory_base.py). This module gathers them under one name:
``from tests import factories as f`` then ``f.UserFactory``, ``f.BreachFactory``…"""

from __future__ import annotations

from tests.accounts.factories import (
    PASSWORD,
    TOTP_SECRET,
    ApiTokenFactory,
    MembershipFactory,
    OrganisationFactory,
    SyndicateFactory,
    UserFactory,
    encrypted_totp_secret,
    password_hash,
)
from tests.catalogue.factories import ApplicationFactory, SubscriptionFactory
from tests.factory_base import BaseFactory, _SessionHolder, current_session
from tests.registers.factories import (
    ActivityVersionFactory,
    BreachFactory,
    DocumentJobFactory,
    GeneratedReportFactory,
    ProcessingActivityFactory,
    RightsRequestFactory,
)

__all__ = [
    "PASSWORD",
    "TOTP_SECRET",
    "ActivityVersionFactory",
    "ApiTokenFactory",
    "ApplicationFactory",
    "BaseFactory",
    "BreachFactory",
    "DocumentJobFactory",
    "GeneratedReportFactory",
    "MembershipFactory",
    "OrganisationFactory",
    "ProcessingActivityFactory",
    "RightsRequestFactory",
    "SubscriptionFactory",
    "SyndicateFactory",
    "UserFactory",
    "_SessionHolder",
    "current_session",
    "encrypted_totp_secret",
    "password_hash",
]
