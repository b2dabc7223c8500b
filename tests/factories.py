"""factory_boy factories: one per model, all writing through the session of the running test."""

from __future__ import annotations

import datetime as dt
import functools

import factory
from flask import has_app_context

from accounts.models import Membership, Organisation, OrgKind, OrgRelation, User
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from core.db import utcnow
from core.extensions import db
from core.security import Role

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


class _SessionHolder:
    session = None  # set by tests/conftest.py for tests that run outside an app context


def current_session():
    return db.session if has_app_context() else _SessionHolder.session


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"


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


class ApplicationFactory(BaseFactory):
    class Meta:
        model = Application

    syndicate_id = factory.LazyAttribute(lambda o: o.syndicate.id)
    name = factory.Sequence(lambda n: f"Application {n}")
    editor = "Éditeur"
    domain = AppDomain.FINANCES
    hosting = Hosting.DATACENTRE
    criticality = Criticality.MOYENNE

    class Params:
        syndicate = factory.SubFactory(SyndicateFactory)


class SubscriptionFactory(BaseFactory):
    class Meta:
        model = Subscription

    application = factory.SubFactory(ApplicationFactory)
    organisation_id = factory.LazyAttribute(lambda o: o.member.id)
    syndicate_id = factory.LazyAttribute(lambda o: o.application.syndicate_id)
    started_on = dt.date(2020, 1, 1)

    class Params:
        member = factory.SubFactory(OrganisationFactory)
