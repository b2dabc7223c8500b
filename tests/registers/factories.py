"""Factories of the registers domain: bare rows written straight to the database (the services are
tested through their own API)."""

from __future__ import annotations

import datetime as dt

import factory
from cryptography.fernet import Fernet, MultiFernet

from core.config import TestConfig
from core.db import utcnow
from registers.models import (
    ActivityStatus,
    ActivityVersion,
    Breach,
    ImportPreset,
    ImportStatus,
    ProcessingActivity,
    Processor,
    RegisterImport,
    RightsRequest,
    RightType,
)
from registers.services.exchange import pending
from registers.services.exchange.reading import Table
from reports.models import DocumentJob, GeneratedReport
from tests.accounts.factories import OrganisationFactory
from tests.factory_base import BaseFactory


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


class ProcessorFactory(BaseFactory):
    class Meta:
        model = Processor

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    name = factory.Sequence(lambda n: f"Prestataire {n + 1}")
    service = "Hébergement des données"
    clauses = factory.LazyFunction(dict)
    transfers = factory.LazyFunction(list)
    certifications = factory.LazyFunction(list)

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
    """A register PDF as kept by the documents page (the report rows belong to reports.models)."""

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


class DocumentJobFactory(BaseFactory):
    """A register PDF being built by the worker (reports.models.DocumentJob), 40 % laid out."""

    class Meta:
        model = DocumentJob

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    kind = "register"
    title = "Registre en préparation CANARY-A"
    options = factory.LazyFunction(dict)
    locale = "fr"
    status = "running"
    progress = 40
    item_count = 250

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)


def _sealed_sample() -> bytes:
    """The cells of a small CNIL-layout file, sealed as the import keeps them (TestConfig's key)."""
    table = Table("csv", ["Nom / sigle", "Finalité principale"], [(2, ["Paie CANARY", "Payer les agents"])])
    return pending._seal(table, MultiFernet([Fernet(TestConfig.ENCRYPTION_KEYS.encode())]).encrypt)


class RegisterImportFactory(BaseFactory):
    """A pending import (its cells sealed), owned by ``user`` in ``organisation``."""

    class Meta:
        model = RegisterImport

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    user_id = factory.LazyAttribute(lambda o: o.user.id)
    status = ImportStatus.PENDING
    created_at = factory.LazyFunction(utcnow)
    expires_at = factory.LazyFunction(lambda: utcnow() + dt.timedelta(days=365 * 50))
    filename = "registre-CANARY.csv"
    fmt = "csv"
    sha256 = "0" * 64
    row_count = 1
    headers = factory.LazyFunction(lambda: ["Nom / sigle", "Finalité principale"])
    mapping = factory.LazyFunction(lambda: ["name", "purpose"])
    payload = factory.LazyFunction(_sealed_sample)

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
        user = None


class ImportPresetFactory(BaseFactory):
    class Meta:
        model = ImportPreset

    organisation_id = factory.LazyAttribute(lambda o: o.organisation.id)
    name = factory.Sequence(lambda n: f"Modèle CANARY {n}")
    mapping = factory.LazyFunction(lambda: {"nom sigle": "name"})

    class Params:
        organisation = factory.SubFactory(OrganisationFactory)
