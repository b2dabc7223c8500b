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
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    Breach,
    ProcessingActivity,
    RightsRequest,
    RightType,
)
from reports.models import GeneratedReport

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


# --- RGPD registers ----------------------------------------------------------------------------


class ProcessingActivityFactory(BaseFactory):
    """A bare fiche written straight to the database (services are tested through their own API)."""

    class Meta:
        model = ProcessingActivity

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"TRT-{n + 1:03d}")
    name = factory.Sequence(lambda n: f"Traitement {n}")
    purpose = "Finalité CANARY-A"
    status = ActivityStatus.DRAFT

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class ActivityVersionFactory(BaseFactory):
    class Meta:
        model = ActivityVersion

    activity_id = factory.LazyAttribute(lambda o: o.activity.id)
    organisation_id = factory.LazyAttribute(lambda o: o.activity.organisation_id)
    number = 1
    action = "activity.create"
    data = factory.LazyAttribute(
        lambda o: {"name": o.activity.name, "purpose": o.activity.purpose, "reference": o.activity.reference}
    )

    class Params:
        activity = factory.SubFactory(ProcessingActivityFactory)


class RightsRequestFactory(BaseFactory):
    class Meta:
        model = RightsRequest

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"DRO-2026-{n + 1:03d}")
    right = RightType.ACCES
    requester_name = "Jeanne Martin"
    received_on = dt.date(2026, 11, 2)
    due_on = dt.date(2026, 12, 2)
    is_open = True

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class BreachFactory(BaseFactory):
    class Meta:
        model = Breach

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    reference = factory.Sequence(lambda n: f"VIO-2026-{n + 1:03d}")
    title = "Courriel envoyé au mauvais destinataire"
    discovered_at = factory.LazyFunction(utcnow)
    natures = factory.LazyFunction(lambda: ["confidentialite"])

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


class GeneratedReportFactory(BaseFactory):
    class Meta:
        model = GeneratedReport

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    kind = "register"
    title = "Rapport CANARY-A"
    filename = "registre.pdf"
    sha256 = "0" * 64
    size = 8
    content = b"%PDF-1.4"

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
