"""The syndicate's application catalogue and its members' subscriptions."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from accounts.models import Organisation, str_enum
from core.db import Base, SortNameMixin, TenantScoped, TimestampMixin, VersionedMixin, today
from core.enums import LabelledEnum
from core.security import Permission


class AppDomain(LabelledEnum):
    FINANCES = "finances", _l("Finances")
    RH = "rh", _l("Ressources humaines")
    ETAT_CIVIL = "etat_civil", _l("État civil")
    ELECTIONS = "elections", _l("Élections")
    ENFANCE = "enfance", _l("Enfance, famille, scolaire")
    ACTION_SOCIALE = "action_sociale", _l("Action sociale")
    SANTE = "sante", _l("Santé")
    LOGEMENT = "logement", _l("Logement")
    URBANISME = "urbanisme", _l("Urbanisme, hygiène")
    GED = "ged", _l("Courrier, GED, archives")
    SERVICES_TECHNIQUES = "services_techniques", _l("Services techniques")
    ADMINISTRATION = "administration", _l("Administration générale")
    CULTURE = "culture", _l("Culture, sports")
    INFORMATIQUE = "informatique", _l("Informatique, collaboratif")
    RESTAURATION = "restauration", _l("Restauration collective")
    AUTRE = "autre", _l("Autre")


class Hosting(LabelledEnum):
    DATACENTRE = "datacentre", _l("Centre de données")
    SAAS = "saas", _l("SaaS (éditeur)")
    MEMBER = "member", _l("Chez l'adhérent")


class Criticality(LabelledEnum):
    FAIBLE = "faible", _l("Faible")
    MOYENNE = "moyenne", _l("Moyenne")
    ELEVEE = "elevee", _l("Élevée")
    CRITIQUE = "critique", _l("Critique")

    @property
    def badge(self) -> str:
        return {"faible": "secondary", "moyenne": "info", "elevee": "warning", "critique": "danger"}[
            self.value
        ]


class Application(SortNameMixin, TimestampMixin, VersionedMixin, TenantScoped, Base):
    """A business application hosted or provided by a syndicate.

    Owned by the syndicate (``syndicate_id``). Visible to the syndicate, and to each member that
    subscribes to it (which then sees only its own subscription).
    """

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("syndicate_id", "name"),
        Index("ix_applications_syndicate_domain", "syndicate_id", "domain"),
        Index("ix_applications_syndicate_sort_name", "syndicate_id", "sort_name"),
    )

    syndicate_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    editor: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[AppDomain] = mapped_column(str_enum(AppDomain, "app_domain"))
    description: Mapped[str | None] = mapped_column(Text)
    hosting: Mapped[Hosting] = mapped_column(str_enum(Hosting, "app_hosting"))
    criticality: Mapped[Criticality] = mapped_column(str_enum(Criticality, "app_criticality"))
    has_personal_data: Mapped[bool] = mapped_column(Boolean, default=True)
    has_sensitive_data: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_on: Mapped[date | None] = mapped_column(Date)

    syndicate: Mapped[Organisation] = relationship(lazy="joined")
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="application", lazy="select", order_by="Subscription.started_on"
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def tenant_criteria(cls, org_id: int) -> ColumnElement[bool]:
        subscribed = select(Subscription.application_id).where(Subscription.organisation_id == org_id)
        return or_(cls.syndicate_id == org_id, cls.id.in_(subscribed))

    def allows(self, permission: Permission, org: Organisation) -> bool:
        """Only the owning syndicate edits its catalogue; subscribers read it."""
        if permission == Permission.CATALOGUE_MANAGE:
            return org is not None and org.id == self.syndicate_id
        return True


class Subscription(TimestampMixin, VersionedMixin, TenantScoped, Base):
    """A member's use of an application since a date (until a date once it ends).

    Visible to the subscriber and to the syndicate that owns the application (``syndicate_id`` is
    denormalised from the application so that both tenant criteria use one indexed column).
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("application_id", "organisation_id", "started_on"),
        Index("ix_subscriptions_organisation_active", "organisation_id", "ended_on"),
    )

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    syndicate_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    is_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="subscriptions")
    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id], lazy="joined")

    @classmethod
    def tenant_criteria(cls, org_id: int) -> ColumnElement[bool]:
        return or_(cls.organisation_id == org_id, cls.syndicate_id == org_id)

    @property
    def is_active(self) -> bool:
        return self.ended_on is None or self.ended_on >= today()
