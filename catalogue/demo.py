"""Demo catalogue: the ~98 applications of SIIM94 and SICIO with their subscribers."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from accounts.models import Organisation
from catalogue.models import AppDomain, Application, Criticality, Hosting, Subscription
from core.data import load_json
from core.extensions import db
from core.tenancy import UNSCOPED


def load_catalogue(context: dict[str, Any]) -> None:
    orgs: dict[str, Organisation] = context["organisations"]
    apps = {
        (a.syndicate_id, a.name): a
        # unscoped: demo loader (CLI): every catalogue
        for a in db.session.scalars(select(Application).execution_options(**UNSCOPED))
    }
    subs = {
        (s.application_id, s.organisation_id, s.started_on)
        for s in db.session.execute(
            select(Subscription.application_id, Subscription.organisation_id, Subscription.started_on)
        )
    }
    for record in load_json("demo_organisations.json")["applications"]:
        syndicate = orgs[record["syndicate"]]
        app = apps.get((syndicate.id, record["name"]))
        if app is None:
            description = record.get("description") or ""
            if record.get("uncertain"):
                description = (description + " [donnée incertaine]").strip()
            app = Application(
                syndicate_id=syndicate.id,
                name=record["name"],
                editor=record.get("editor"),
                domain=AppDomain(record["domain"]),
                description=description or None,
                hosting=Hosting(record["hosting"]),
                criticality=Criticality(record["criticality"]),
                has_personal_data=record.get("has_personal_data", True),
                has_sensitive_data=record.get("has_sensitive_data", False),
            )
            db.session.add(app)
            db.session.flush()
            apps[(syndicate.id, app.name)] = app
        for sub in record["subscribers"]:
            member = orgs[sub["organisation"]]
            started_on = date.fromisoformat(sub["since"])
            if (app.id, member.id, started_on) in subs:
                continue
            ended = sub.get("until")
            db.session.add(
                Subscription(
                    application_id=app.id,
                    organisation_id=member.id,
                    syndicate_id=syndicate.id,
                    started_on=started_on,
                    ended_on=date.fromisoformat(ended) if ended else None,
                    is_inferred=bool(sub.get("inferred")),
                )
            )
            subs.add((app.id, member.id, started_on))
