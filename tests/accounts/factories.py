"""Factories of the accounts domain: organisations, users and their roles."""

from __future__ import annotations

import datetime as dt
import functools

import factory

from accounts.models import ApiToken, ApiTokenScope, Membership, Organisation, OrgKind, OrgRelation, User
from core.db import utcnow
from core.security import Role
from tests.factory_base import BaseFactory

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # every factory user is enrolled with it


@functools.cache
def password_hash() -> str:
    """One hash of PASSWORD with the test configuration's cheap argon2 parameters."""
    from argon2 import PasswordHasher  # noqa: PLC0415

    from core.config import TestConfig  # noqa: PLC0415

    return PasswordHasher(**TestConfig.ARGON2_PARAMS).hash(PASSWORD)


@functools.cache
def encrypted_totp_secret() -> str:
    """TOTP_SECRET encrypted with the test configuration's key ring (as core.crypto would)."""
    from cryptography.fernet import Fernet  # noqa: PLC0415

    from core.config import TestConfig  # noqa: PLC0415

    return Fernet(TestConfig.ENCRYPTION_KEYS.encode()).encrypt(TOTP_SECRET.encode()).decode()


class SyndicateFactory(BaseFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Syndicat {n}")
    kind = OrgKind.SYNDICAT
    relation = OrgRelation.SYNDICATE
    city = "Ivry-sur-Seine"


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Commune {n}")
    kind = OrgKind.VILLE
    relation = OrgRelation.MEMBER
    syndicate = factory.SubFactory(SyndicateFactory)
    joined_on = dt.date(2010, 1, 1)


class UserFactory(BaseFactory):
    class Meta:
        model = User

    full_name = factory.Sequence(lambda n: f"Agent {n}")
    email = factory.Sequence(lambda n: f"agent{n}@example.org")
    password_hash = factory.LazyFunction(lambda: password_hash())
    is_enabled = True
    totp_secret_enc = factory.LazyFunction(lambda: encrypted_totp_secret())
    totp_enabled_at = factory.LazyFunction(utcnow)


class MembershipFactory(BaseFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.READER


class ApiTokenFactory(BaseFactory):
    """A read token; its secret is unknown (tests/api/conftest.py make_token makes a usable one)."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Jeton {n}")
    prefix = "egide_pat_abcdef"
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    scope = ApiTokenScope.READ
    expires_on = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=30))
