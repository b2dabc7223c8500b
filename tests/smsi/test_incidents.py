"""The incident log: the rules (closure, dates), the affected organisations derived from the
subscriptions, the fan-out of an incident with personal data to one breach per affected
controller (72 h clock from the detection, no duplicate, none elsewhere), the timeline, the pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts.models import Nis2Entity
from core import audit
from core.audit import AuditEvent
from core.extensions import db
from core.forms import FieldError
from core.security import Role
from core.tenancy import UNSCOPED
from registers.models import Breach
from registers.services import activities as acts
from registers.services import breaches as register_breaches
from smsi.models import Incident, IncidentStatus
from smsi.services import incidents as svc
from tests.accounts.factories import OrganisationFactory
from tests.catalogue.factories import ApplicationFactory, SubscriptionFactory
from tests.conftest import World, acting_as
from tests.smsi.factories import IncidentFactory

UTC = dt.UTC
DETECTED = dt.datetime(2026, 11, 30, 6, 15, tzinfo=UTC)
BASE = {
    "title": "Rançongiciel sur le serveur applicatif",
    "detected_at": DETECTED,
    "category": "malware",
    "severity": "4",
    "impact_confidentiality": True,
    "status": "new",
}


def _errors(exc: pytest.ExceptionInfo[FieldError]) -> set[str]:
    return {e.field for e in getattr(exc.value, "errors", [exc.value])}


def _breaches(session: Any = None) -> list[Breach]:
    session = session or db.session
    return list(
        session.scalars(select(Breach).order_by(Breach.organisation_id).execution_options(**UNSCOPED))
    )


@pytest.fixture
def five(world: World, app: Flask) -> dict[str, Any]:
    """Tenant A's application used by five members (Ville A and four more); a sixth member uses
    another application only."""
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        shared = db.session.merge(a.application)
        other_app = ApplicationFactory(syndicate=syndicate, name="Logiciel des élections")
        members = [db.session.merge(a.member)]
        for n in range(4):
            member = OrganisationFactory(name=f"Commune {n + 1}", syndicate=syndicate)
            SubscriptionFactory(application=shared, member=member)
            members.append(member)
        sixth = OrganisationFactory(name="Commune épargnée", syndicate=syndicate)
        SubscriptionFactory(application=other_app, member=sixth)
        db.session.commit()
        return {
            "app": shared.id,
            "other_app": other_app.id,
            "members": [m.id for m in members],
            "sixth": sixth.id,
        }


def test_an_incident_with_personal_data_opens_one_breach_per_affected_controller(
    world: World, app: Flask, five: dict[str, Any]
) -> None:
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
        syndicate = db.session.merge(a.syndicate)
        # Ville A's register has a fiche on the application: its breach is pre-filled from it.
        with acting_as(a.member_referent, a.member):
            acts.create_activity(
                db.session.merge(a.member),
                None,
                {
                    "name": "État civil",
                    "application_ids": [five["app"]],
                    "data_categories": [{"category": "etat_civil"}],
                    "data_subjects": ["administres"],
                },
            )
        incident = svc.create_incident(
            syndicate, None, {**BASE, "has_personal_data": True, "application_ids": [five["app"]]}
        )
        db.session.commit()
        breaches = _breaches()
        assert sorted(b.organisation_id for b in breaches) == sorted(five["members"])
        assert all(b.source_incident_id == incident.id for b in breaches)
        assert all(b.discovered_at == DETECTED for b in breaches)  # the 72 h clock from the detection
        assert all(b.natures == ["confidentialite"] for b in breaches)
        ville_a = next(b for b in breaches if b.organisation_id == a.member.id)
        assert ville_a.data_categories == ["etat_civil"]
        assert "État civil" in ville_a.description
        assert incident.reference in ville_a.title
        shown = svc.derived_breaches(incident)
        assert [b.organisation for b in shown][:1] == ["Commune 1"]
        assert {b.clock.deadline for b in shown} == {DETECTED + dt.timedelta(hours=72)}

        # Saved again, and with a second application: the missing breach only, no duplicate.
        svc.update_incident(
            incident,
            None,
            {
                **BASE,
                "has_personal_data": True,
                "application_ids": [five["app"], five["other_app"]],
                "version": incident.version,
            },
        )
        db.session.commit()
        assert sorted(b.organisation_id for b in _breaches()) == sorted([*five["members"], five["sixth"]])
        # Tenant B's registers: untouched.
        assert (
            db.session.scalar(
                select(func.count()).select_from(Breach).where(Breach.organisation_id == world.b.member.id)
            )
            == 0
        )


def test_without_personal_data_no_breach_and_taken_out_organisations_get_none(
    world: World, app: Flask, five: dict[str, Any]
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        incident = svc.create_incident(syndicate, None, {**BASE, "application_ids": [five["app"]]})
        assert _breaches() == []
        assert sorted(svc.affected_ids(incident)) == sorted(five["members"])
        spared = five["members"][1]
        svc.update_incident(
            incident,
            None,
            {
                **BASE,
                "has_personal_data": True,
                "application_ids": [five["app"]],
                "excluded_organisation_ids": [spared],
                "added_organisation_ids": [five["sixth"]],
                "version": incident.version,
            },
        )
        expected = sorted({*five["members"], five["sixth"]} - {spared})
        assert sorted(svc.affected_ids(incident)) == expected
        assert sorted(b.organisation_id for b in _breaches()) == expected


def test_closing_asks_for_the_root_cause_and_the_lessons_and_dates_are_checked(
    world: World, app: Flask
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        with pytest.raises(FieldError) as exc:
            svc.create_incident(
                syndicate,
                None,
                {**BASE, "status": "closed", "detected_at": dt.datetime(2999, 1, 1, tzinfo=UTC)},
            )
        assert _errors(exc) == {"root_cause", "lessons_learned", "detected_at"}
        assert db.session.scalars(select(Incident)).all() == []
        incident = svc.create_incident(syndicate, None, BASE)
        assert incident.reference == "INC-2026-001"
        with pytest.raises(FieldError) as exc:
            svc.add_event(incident, None, "containment", DETECTED - dt.timedelta(minutes=1), "Serveur isolé")
        assert _errors(exc) == {"at"}
        svc.add_event(incident, None, "containment", DETECTED + dt.timedelta(hours=1), "Serveur isolé")
        closed = svc.update_incident(
            incident,
            None,
            {
                **BASE,
                "status": "closed",
                "root_cause": "Compte de maintenance sans double authentification",
                "lessons_learned": "Double authentification sur tous les comptes à privilèges",
                "version": incident.version,
            },
        )
        assert closed.status is IncidentStatus.CLOSED
        assert closed.closed_at is not None
        assert not closed.is_open
        kinds = [e.kind.value for e in svc.timeline(closed)]
        assert kinds == ["detection", "containment", "closure"]


# --- pages ---------------------------------------------------------------------------------------


def _html(response: Any) -> str:
    return response.get_data(as_text=True)


def _form(**changes: Any) -> dict[str, Any]:
    data = {
        "title": "Hameçonnage ciblant la messagerie",
        "detected_at": "2026-11-30T07:15",
        "category": "phishing",
        "severity": "2",
        "impact_confidentiality": "y",
        "status": "new",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_rssi_records_an_incident_and_a_member_dpo_finds_the_breach(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    assert rssi.get("/smsi/incidents/new").status_code == 200
    bad = rssi.post("/smsi/incidents/new", data=_form(title="", status="closed", description="Texte tapé"))
    assert bad.status_code == 422
    page = _html(bad)
    assert "Texte tapé" in page
    assert "indiquez sa cause première." in page  # beside the missing title
    assert "indiquez les enseignements tirés." in page
    response = rssi.post(
        "/smsi/incidents/new",
        data=_form(has_personal_data="y", application_ids=str(world.a.application.id)),
    )
    assert response.status_code == 302, _html(response)[:2000]
    incident = session.scalars(select(Incident)).one()
    detail = _html(rssi.get(response.location))
    assert "Ville A" in detail
    assert re.search(r"VIO-2026-\d{3}", detail)
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.create")).one().object_id
        == incident.id
    )
    # A timeline entry dated before the detection: refused, what was typed stays.
    early = rssi.post(
        f"/smsi/incidents/{incident.id}/timeline",
        data={"kind": "containment", "at": "2026-11-30T06:00", "text": "Isolement du poste"},
    )
    assert early.status_code == 422
    assert "Isolement du poste" in _html(early)
    assert "ne peut précéder la détection" in _html(early)

    # The member's referent sees the breach in his register; tenant B sees nothing of it.
    referent = login_as(world.a.member_referent, world.a.member)
    assert incident.reference in _html(referent.get("/registers/breaches"))
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.get(f"/smsi/incidents/{incident.id}").status_code == 404
    assert other.post(f"/smsi/incidents/{incident.id}/timeline", data={}).status_code == 404


def test_a_reader_reads_and_does_not_write(world: World, app: Flask, login_as: Any) -> None:
    with app.app_context():
        incident = IncidentFactory(organisation=db.session.merge(world.a.syndicate))
        db.session.commit()
        incident_id = incident.id
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get(f"/smsi/incidents/{incident_id}").status_code == 200
    assert reader.get("/smsi/incidents/new").status_code == 403
    assert reader.post(f"/smsi/incidents/{incident_id}/timeline", data={}).status_code == 403


def test_the_rssi_home_page_counts_open_incidents_by_severity(
    world: World, app: Flask, login_as: Any
) -> None:
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        svc.create_incident(syndicate, None, BASE)  # critical
        svc.create_incident(syndicate, None, {**BASE, "title": "Panne", "severity": "2"})
        closed = {
            **BASE,
            "title": "Ancien",
            "status": "closed",
            "root_cause": "Cause",
            "lessons_learned": "Leçon",
        }
        svc.create_incident(syndicate, None, closed)
        db.session.commit()
    home = _html(login_as(world.a.users[Role.RSSI], world.a.syndicate).get("/"))
    total = re.search(r'data-figure="incidents" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert total is not None
    assert total.group(2) == "2"
    critical = re.search(r'data-figure="incidents-4" href="([^"]+)"><span[^>]*>(\d+)</span>', home)
    assert critical is not None
    assert critical.group(2) == "1"
    assert "severity=4" in critical.group(1)
    assert 'data-figure="incidents-3"' not in home  # no major one open: no line
    reader_home = _html(login_as(world.a.users[Role.READER], world.a.syndicate).get("/"))
    assert 'data-figure="incidents"' not in reader_home


def test_external_notifications_and_the_nis2_deadlines(world: World, app: Flask, login_as: Any) -> None:
    from core.db import utcnow  # noqa: PLC0415

    detected = (utcnow() - dt.timedelta(hours=30)).replace(microsecond=0)
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        syndicate = db.session.merge(world.a.syndicate)
        plain = svc.create_incident(syndicate, None, {**BASE, "detected_at": detected})
        assert svc.nis2_steps(plain, []) == []  # not a significant incident: no NIS2 deadline
        # An organisation that is no NIS2 entity never has a significant incident under NIS2.
        assert syndicate.nis2_entity is Nis2Entity.NONE
        outside = svc.create_incident(
            syndicate, None, {**BASE, "detected_at": detected, "nis2_significant": True}
        )
        assert outside.nis2_significant is False
        assert svc.nis2_steps(outside, []) == []
        syndicate.nis2_entity = Nis2Entity.IMPORTANT
        incident = svc.create_incident(
            syndicate, None, {**BASE, "detected_at": detected, "nis2_significant": True}
        )
        steps = svc.nis2_steps(incident, svc.notifications(incident))
        assert [(s.kind.value, s.due - detected, s.state) for s in steps] == [
            ("early_warning", dt.timedelta(hours=24), "overdue"),
            ("notification", dt.timedelta(hours=72), "running"),
            ("final_report", dt.timedelta(hours=72) + dt.timedelta(days=30), "running"),
        ]
        with pytest.raises(FieldError) as exc:
            svc.add_notification(
                incident,
                None,
                {
                    "recipient": "cert_fr",
                    "kind": "early_warning",
                    "notified_at": detected - dt.timedelta(hours=1),
                },
            )
        assert _errors(exc) == {"notified_at"}
        # An insurer's information does not meet a NIS2 deadline; the CERT-FR's early warning does (late).
        svc.add_notification(
            incident, None, {"recipient": "insurer", "kind": "early_warning", "notified_at": detected}
        )
        svc.add_notification(
            incident,
            None,
            {
                "recipient": "cert_fr",
                "kind": "early_warning",
                "notified_at": detected + dt.timedelta(hours=25),
                "reference": "CERTFR-2026-123",
            },
        )
        steps = svc.nis2_steps(incident, svc.notifications(incident))
        assert steps[0].state == "late"
        db.session.commit()
        incident_id = incident.id
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = _html(rssi.get(f"/smsi/incidents/{incident_id}"))
    assert "Échéances NIS2" in page
    assert "faite en retard" in page
    assert "CERTFR-2026-123" in page
    assert 'name="nis2_significant"' in _html(rssi.get("/smsi/incidents/new"))
    # Another syndicate, no NIS2 entity: the form does not offer the flag.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert 'name="nis2_significant"' not in _html(other.get("/smsi/incidents/new"))


def test_the_fan_out_numbers_each_register_after_its_own_breaches_and_each_chain_verifies(
    world: World, app: Flask, five: dict[str, Any]
) -> None:
    a = world.a
    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):
        # Ville A's register already numbers its breaches of 2026 up to 7.
        with acting_as(a.member_referent, a.member):
            typed = register_breaches.create_breach(
                db.session.merge(a.member),
                None,
                {"reference": "VIO-2026-007", "title": "Courrier mal adressé", "discovered_at": DETECTED,
                 "natures": ["confidentialite"]},
            )  # fmt: skip
        incident = svc.create_incident(
            db.session.merge(a.syndicate),
            None,
            {
                **BASE,
                "title": "Fuite du portail",
                "has_personal_data": True,
                "application_ids": [five["app"]],
            },
        )
        db.session.commit()
        opened = {b.organisation_id: b for b in _breaches() if b.source_incident_id == incident.id}
        assert sorted(opened) == sorted(five["members"])
        assert opened[a.member.id].reference == "VIO-2026-008"
        assert typed.reference == "VIO-2026-007"
        assert {b.reference for org, b in opened.items() if org != a.member.id} == {"VIO-2026-001"}
        for org_id, breach in opened.items():
            entry = db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.chain == org_id, AuditEvent.action == "breach.create_from_incident"
                )
            ).one()
            assert (entry.organisation_id, entry.object_id) == (org_id, breach.id)
            assert audit.verify_chain(org_id).ok

    with app.test_request_context(), acting_as(a.users[Role.RSSI], a.syndicate):  # the syndicate's list
        found = list(db.session.scalars(svc.incidents_query(svc.IncidentFilters(q="PORTAIL", status="all"))))
        assert [i.id for i in found] == [incident.id]
        by_reference = svc.IncidentFilters(q=incident.reference.lower(), status="all")
        assert [i.id for i in db.session.scalars(svc.incidents_query(by_reference))] == [incident.id]
        accents = svc.IncidentFilters(q="fuité", status="all")  # accents ignored on both sides
        assert [i.id for i in db.session.scalars(svc.incidents_query(accents))] == [incident.id]
