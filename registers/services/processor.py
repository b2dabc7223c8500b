"""The syndicate's processor register (Art. 30.2), derived from the catalogue and the subscriptions.

Nothing here is typed by anyone: for each controller served (a member with an active subscription
to an application that processes personal data), the categories of processing carried out on its
behalf are the models written on those applications (or, without a model, the application itself),
with their transfers and security measures; sub-processors are the editors of SaaS applications.
Change a subscription or a model and the register follows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select

from accounts.models import Organisation
from catalogue.models import Application, Hosting, Subscription
from core.db import today
from core.extensions import db
from core.tenancy import UNSCOPED
from core.text import fold
from registers import reference as ref
from registers.models import ActivityStatus, ProcessingActivity, activity_applications


@dataclass(frozen=True)
class ProcessingCategory:
    application_id: int
    application: str
    editor: str | None
    hosting: str  # label
    is_saas: bool
    model_id: int | None
    model_reference: str | None
    name: str  # the model's name, or the application's when it has no model
    purpose: str | None
    data_categories: list[str]  # labels
    has_sensitive_data: bool
    transfers: list[dict[str, Any]]
    security_measures: list[str]  # labels


@dataclass
class ControllerServed:
    organisation_id: int
    name: str
    siren: str | None
    address: str
    dpo: str
    processings: list[ProcessingCategory] = field(default_factory=list)

    @property
    def sub_processors(self) -> list[str]:
        return sorted({p.editor for p in self.processings if p.is_saas and p.editor})

    @property
    def transfers(self) -> list[dict[str, Any]]:
        return [t for p in self.processings for t in p.transfers]

    @property
    def security_measures(self) -> list[str]:
        return sorted({m for p in self.processings for m in p.security_measures})


@dataclass
class ProcessorRegister:
    syndicate_id: int
    syndicate: str
    address: str
    dpo: str
    controllers: list[ControllerServed]
    total: int  # controllers served, whatever the page


def _address(org: Organisation) -> str:
    return " ".join(part for part in (org.address, org.postal_code, org.city) if part)


def _dpo(org: Organisation) -> str:
    return " — ".join(part for part in (org.dpo_name, org.dpo_email, org.dpo_phone) if part)


def _served(syndicate: Organisation, q: str = "") -> Any:
    stmt = (
        select(Organisation.id)
        .join(Subscription, Subscription.organisation_id == Organisation.id)
        .join(Application, Application.id == Subscription.application_id)
        .where(
            Subscription.syndicate_id == syndicate.id,
            Organisation.id != syndicate.id,
            or_(Subscription.ended_on.is_(None), Subscription.ended_on >= today()),
            Application.has_personal_data.is_(True),
            Application.retired_on.is_(None),
        )
        .group_by(Organisation.id)
    )
    if q:
        stmt = stmt.where(Organisation.sort_name.like(f"%{fold(q)}%"))
    return stmt


def _categories(app: Application, models: list[ProcessingActivity]) -> list[ProcessingCategory]:
    measures = ref.by_id(ref.security_measures())
    categories = ref.by_id(ref.data_categories())
    hosting = app.hosting.label
    if not models:
        return [
            ProcessingCategory(
                app.id, app.name, app.editor, str(hosting), app.hosting == Hosting.SAAS, None, None,
                app.name, app.description, [], app.has_sensitive_data, [], [],
            )
        ]  # fmt: skip
    return [
        ProcessingCategory(
            application_id=app.id,
            application=app.name,
            editor=app.editor,
            hosting=str(hosting),
            is_saas=app.hosting == Hosting.SAAS,
            model_id=m.id,
            model_reference=m.reference,
            name=m.name,
            purpose=m.purpose,
            data_categories=[
                categories[row["category"]].label if row["category"] in categories else row["category"]
                for row in m.data_categories
            ],
            has_sensitive_data=m.has_sensitive_data or app.has_sensitive_data,
            transfers=list(m.transfers),
            security_measures=[
                measures[row["measure"]].label if row["measure"] in measures else row["measure"]
                for row in m.security_measures
            ],
        )
        for m in models
    ]


def processor_register(
    syndicate: Organisation, *, q: str = "", offset: int = 0, limit: int | None = None
) -> ProcessorRegister:
    """The register, controllers ordered by name; ``offset``/``limit`` page through controllers
    (the PDF takes them all). Four queries whatever the size: controllers, subscriptions,
    applications, models."""
    served = _served(syndicate, q).subquery()
    # unscoped: the syndicate reads the entries of the members it serves
    total = db.session.scalar(select(func.count()).select_from(served).execution_options(**UNSCOPED)) or 0
    orgs = list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(select(served.c.id)))
            .order_by(Organisation.sort_name)
            .offset(offset)
            .limit(limit)
            # unscoped: the syndicate reads the entries of the members it serves
            .execution_options(**UNSCOPED)
        )
    )
    subs = db.session.execute(
        select(Subscription.organisation_id, Subscription.application_id)
        .where(
            Subscription.syndicate_id == syndicate.id,
            Subscription.organisation_id.in_([o.id for o in orgs]),
            or_(Subscription.ended_on.is_(None), Subscription.ended_on >= today()),
        )
        .execution_options(**UNSCOPED)  # unscoped: the syndicate reads the entries of the members it serves
    ).all()
    app_ids = sorted({row.application_id for row in subs})
    apps = {
        a.id: a
        for a in db.session.scalars(
            select(Application)
            .where(
                Application.id.in_(app_ids),
                Application.has_personal_data.is_(True),
                Application.retired_on.is_(None),
            )
            # unscoped: the syndicate reads the entries of the members it serves
            .execution_options(**UNSCOPED)
        )
    }
    models: dict[int, list[ProcessingActivity]] = defaultdict(list)
    rows = db.session.execute(
        select(activity_applications.c.application_id, ProcessingActivity)
        .join(ProcessingActivity, ProcessingActivity.id == activity_applications.c.activity_id)
        .where(
            activity_applications.c.application_id.in_(list(apps)),
            ProcessingActivity.is_model.is_(True),
            ProcessingActivity.organisation_id == syndicate.id,
            ProcessingActivity.status != ActivityStatus.ARCHIVED,
        )
        .order_by(ProcessingActivity.sort_name)
        .execution_options(**UNSCOPED)  # unscoped: the syndicate reads the entries of the members it serves
    ).all()
    for app_id, model in rows:
        models[app_id].append(model)
    categories = {app_id: _categories(app, models.get(app_id, [])) for app_id, app in apps.items()}
    by_org: dict[int, list[int]] = defaultdict(list)
    for row in subs:
        if row.application_id in apps:
            by_org[row.organisation_id].append(row.application_id)
    controllers = []
    for org in orgs:
        processings = [
            c
            for app_id in sorted(by_org[org.id], key=lambda i: apps[i].sort_name)
            for c in categories[app_id]
        ]
        controllers.append(
            ControllerServed(org.id, org.name, org.siren, _address(org), _dpo(org), processings)
        )
    return ProcessorRegister(
        syndicate.id, syndicate.name, _address(syndicate), _dpo(syndicate), controllers, total
    )
