"""The fan-out kept in line with the organisations an incident affects: a breach nobody has worked on
is withdrawn (closed as sans objet, never deleted) when its organisation is no longer affected, one
the DPO worked on is kept and flagged, re-adding reopens the same breach; and the DPOs are told —
one e-mail each, to the address on the organisation's page and to the accounts holding the DPO role
there (the syndicate's mutualised DPO among them), none to the organisations left alone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accounts.models import Organisation, User
from core.audit import AuditEvent
from core.extensions import db
from core.mail import outbox
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import Breach, NotificationDecision
from registers.services import breaches as register_breaches
from smsi.models import Incident
from smsi.services import incidents as svc
from tests.accounts.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.catalogue.factories import ApplicationFactory, SubscriptionFactory
from tests.conftest import World, acting_as

DETECTED = dt.datetime(2026, 11, 30, 6, 15, tzinfo=dt.UTC)
BASE = {
    "title": "Rançongiciel sur le serveur applicatif",
    "detected_at": DETECTED,
    "category": "malware",
    "severity": "4",
    "impact_confidentiality": True,
    "has_personal_data": True,
    "status": "new",
}


@pytest.fixture
def members(world: World, app: Flask) -> dict[str, Any]:
    """Five members of syndicate A: three use the "Portail" application, two the "Élections" one;
    each has a DPO address on its page. A sixth uses another application. A mutualised DPO holds
    the DPO role in members 2 and 3 (and in the sixth); member 1's DPO has an account too, her
    address spelt in another case."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        portal = ApplicationFactory(syndicate=syndicate, name="Portail")
        elections = ApplicationFactory(syndicate=syndicate, name="Élections")
        other = ApplicationFactory(syndicate=syndicate, name="Paie")
        orgs = []
        for n in range(1, 6):
            org = OrganisationFactory(
                name=f"Commune {n}", syndicate=syndicate, dpo_email=f"dpo@commune{n}.fr"
            )
            SubscriptionFactory(application=portal if n <= 3 else elections, member=org)
            orgs.append(org)
        sixth = OrganisationFactory(name="Commune épargnée", syndicate=syndicate, dpo_email="dpo@epargnee.fr")
        SubscriptionFactory(application=other, member=sixth)
        mutualised = UserFactory(email="dpo.mutualise@syndicat.fr")
        for org in (orgs[1], orgs[2], sixth):
            MembershipFactory(user=mutualised, organisation=org, role=Role.DPO)
        own = UserFactory(email="DPO@Commune1.fr")
        MembershipFactory(user=own, organisation=orgs[0], role=Role.DPO)
        gone = UserFactory(email="ancien.dpo@commune1.fr")
        MembershipFactory(user=gone, organisation=orgs[0], role=Role.DPO, revoked_at=DETECTED)
        worker = UserFactory(email="dpo.travail@commune4.fr")
        MembershipFactory(user=worker, organisation=orgs[3], role=Role.DPO)
        db.session.commit()
        return {
            "portal": portal.id,
            "elections": elections.id,
            "orgs": [o.id for o in orgs],
            "sixth": sixth.id,
            "worker": worker.id,
        }


def _breaches() -> dict[int, Breach]:
    rows = db.session.scalars(select(Breach).order_by(Breach.id).execution_options(**UNSCOPED)).all()
    assert len({b.organisation_id for b in rows}) == len(rows)  # never two for one organisation
    return {b.organisation_id: b for b in rows}


def _mails() -> dict[str, Any]:
    to = [m.to.lower() for m in outbox]
    assert len(to) == len(set(to)), to  # one e-mail each
    return {m.to.lower(): m for m in outbox}


def test_each_dpo_gets_one_mail_with_a_link_to_her_breach_and_nobody_else_does(
    world: World, app: Flask, members: dict[str, Any]
) -> None:
    orgs = members["orgs"]
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        incident = svc.create_incident(
            db.session.merge(world.a.syndicate),
            None,
            {**BASE, "application_ids": [members["portal"], members["elections"]]},
        )
        db.session.commit()
        breaches = _breaches()
        assert sorted(breaches) == sorted(orgs)
        mails = _mails()
        assert sorted(mails) == sorted(
            [f"dpo@commune{n}.fr" for n in range(1, 6)]
            + ["dpo.mutualise@syndicat.fr", "dpo.travail@commune4.fr"]
        )  # not the spared member's DPO, not the revoked one; Commune 1's DPO once
        for n, org_id in enumerate(orgs, start=1):
            mail = mails[f"dpo@commune{n}.fr"]
            breach = breaches[org_id]
            assert mail.subject == f"Violation de données à évaluer : {breach.reference} (Commune {n})"
            assert f"/registers/breaches/{breach.id}" in mail.body
            assert re.search(rf"https?://[^\s]+/registers/breaches/{breach.id}\b", mail.body)
            assert "72 heures" in mail.body
            assert incident.reference in mail.body
            assert "03/12/2026 07:15" in mail.body  # the 72 h deadline, Paris time
        # The mutualised DPO: one e-mail for her two members, a link to each breach.
        mutualised = mails["dpo.mutualise@syndicat.fr"]
        assert (
            mutualised.subject
            == f"Incident {incident.reference} : 2 violations de données dans vos registres"
        )
        for org_id in orgs[1:3]:
            assert f"/registers/breaches/{breaches[org_id].id}" in mutualised.body
        assert f"/registers/breaches/{breaches[orgs[0]].id}" not in mutualised.body

        outbox.clear()  # saved again, nothing new: nobody is told again
        svc.update_incident(
            incident,
            None,
            {
                **BASE,
                "application_ids": [members["portal"], members["elections"]],
                "version": incident.version,
            },
        )
        assert outbox == []


def test_removing_an_application_withdraws_the_untouched_breaches_and_readding_reopens_them(
    world: World, app: Flask, members: dict[str, Any]
) -> None:
    orgs = members["orgs"]
    both = [members["portal"], members["elections"]]
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        incident = svc.create_incident(syndicate, None, {**BASE, "application_ids": both})
        db.session.commit()
        opened = {org: (b.id, b.reference, b.version) for org, b in _breaches().items()}
        outbox.clear()

        # The elections application was not hit after all: Communes 4 and 5 are no longer affected.
        svc.update_incident(
            incident, None, {**BASE, "application_ids": [members["portal"]], "version": incident.version}
        )
        db.session.commit()
        after = _breaches()
        assert sorted(after) == sorted(orgs)  # nothing deleted
        for org in orgs[3:]:
            breach = after[org]
            assert breach.is_closed
            assert breach.closed_on is not None
            assert breach.cnil_decision is NotificationDecision.NOT_REQUIRED
            assert "Sans objet" in breach.decision_reason
            assert incident.reference in breach.decision_reason
            assert register_breaches.clock(breach).state == "not_required"
        for org in orgs[:3]:  # untouched
            breach = after[org]
            assert not breach.is_closed
            assert breach.cnil_decision is NotificationDecision.PENDING
            assert breach.version == opened[org][2]
        withdrawals = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "breach.withdraw_from_incident")
        ).all()
        assert sorted((e.chain, e.object_id) for e in withdrawals) == sorted(
            (o, opened[o][0]) for o in orgs[3:]
        )
        mails = _mails()
        assert sorted(mails) == ["dpo.travail@commune4.fr", "dpo@commune4.fr", "dpo@commune5.fr"]
        assert mails["dpo@commune5.fr"].subject.startswith("Violation de données retirée :")
        assert "rien à faire" in mails["dpo@commune5.fr"].body
        page = svc.derived_breaches(incident)
        assert len(page) == 5

        # Re-added: the same breaches reopened, no duplicate.
        outbox.clear()
        svc.update_incident(incident, None, {**BASE, "application_ids": both, "version": incident.version})
        db.session.commit()
        again = _breaches()
        assert {org: b.id for org, b in again.items()} == {org: v[0] for org, v in opened.items()}
        for org in orgs[3:]:
            breach = again[org]
            assert not breach.is_closed
            assert breach.cnil_decision is NotificationDecision.PENDING
            assert breach.decision_reason is None
            assert breach.closed_on is None
            assert breach.reference == opened[org][1]
        assert sorted(_mails()) == ["dpo.travail@commune4.fr", "dpo@commune4.fr", "dpo@commune5.fr"]
        assert outbox[0].subject.startswith("Violation de données rouverte :")


def test_a_breach_the_dpo_worked_on_is_kept_and_flagged_for_her(
    world: World, app: Flask, members: dict[str, Any]
) -> None:
    orgs = members["orgs"]
    both = [members["portal"], members["elections"]]
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        incident = svc.create_incident(
            db.session.merge(world.a.syndicate), None, {**BASE, "application_ids": both}
        )
        db.session.commit()
        worked_id, incident_id = _breaches()[orgs[3]].id, incident.id
    # Commune 4's DPO starts assessing her breach.
    with app.test_request_context():
        user = db.session.get(User, members["worker"])
        member = db.session.get(Organisation, orgs[3])
        with acting_as(user, member):
            breach = db.session.get(Breach, worked_id)
            data = {name: getattr(breach, name) for name in register_breaches.FIELDS}
            register_breaches.update_breach(
                breach,
                user,
                {**data, "people_count": 1200, "description": "Analyse en cours.", "version": breach.version},
            )
            db.session.commit()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        incident = db.session.get(Incident, incident_id)
        outbox.clear()
        svc.update_incident(
            incident, None, {**BASE, "application_ids": [members["portal"]], "version": incident.version}
        )
        db.session.commit()
        after = _breaches()
        kept = after[orgs[3]]
        assert not kept.is_closed
        assert kept.people_count == 1200
        assert kept.description.startswith("Analyse en cours.")
        assert incident.reference in kept.description
        assert "au DPO de décider" in kept.description
        assert after[orgs[4]].is_closed  # nobody worked on Commune 5's: withdrawn
        flag = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "breach.flag_from_incident")
        ).one()
        assert (flag.chain, flag.object_id) == (orgs[3], worked_id)
        mails = _mails()
        assert mails["dpo.travail@commune4.fr"].subject.startswith("Violation de données à réexaminer :")
        assert f"/registers/breaches/{worked_id}" in mails["dpo.travail@commune4.fr"].body
        # Saved again: not flagged twice, nobody told again.
        outbox.clear()
        svc.update_incident(
            incident, None, {**BASE, "application_ids": [members["portal"]], "version": incident.version}
        )
        db.session.commit()
        assert outbox == []
        assert db.session.get(Breach, worked_id).description.count(incident.reference) == 1
        # Re-added: her breach stays as she left it, still one.
        svc.update_incident(incident, None, {**BASE, "application_ids": both, "version": incident.version})
        db.session.commit()
        assert len(_breaches()) == 5


def test_unticking_personal_data_withdraws_the_untouched_breaches(
    world: World, app: Flask, members: dict[str, Any]
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        incident = svc.create_incident(
            db.session.merge(world.a.syndicate), None, {**BASE, "application_ids": [members["portal"]]}
        )
        db.session.commit()
        svc.update_incident(
            incident,
            None,
            {
                **BASE,
                "has_personal_data": False,
                "application_ids": [members["portal"]],
                "version": incident.version,
            },
        )
        db.session.commit()
        assert all(b.is_closed for b in _breaches().values())
        assert len(_breaches()) == 3
