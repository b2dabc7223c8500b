"""An auditor invited to one audit: sees that audit, its organisations and frameworks, read-only
except its findings; 404 outside (other audits, other organisations), nothing after expiry or
revocation; MFA required; every page opened journalled and shown to the RSSI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import func, select

from audits import access
from audits.models import AuditorAccess, Finding
from audits.services import audits as audit_svc
from audits.services import findings as svc
from core.audit import AuditEvent
from core.db import local_today
from core.extensions import db
from core.security import Role
from tests import factories as f
from tests.conftest import World, acting_as, login

START = local_today() - dt.timedelta(days=3)
END = local_today() + dt.timedelta(days=21)


def _setup(app: Flask, world: World, session: Any, **user: Any) -> dict[str, Any]:
    """An audit of tenant A's syndicate over the syndicate and its member (Annex A only), with a
    finding; another audit of the same syndicate; the auditor invited to the first one."""
    auditor = f.UserFactory(email="auditeur@audit.example.org", full_name="Alice Auditrice", **user)
    session.flush()
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        rssi = db.session.merge(world.a.users[Role.RSSI])
        org = db.session.merge(world.a.syndicate)
        base = {
            "type": "external",
            "status": "in_progress",
            "frameworks": ["annex_a"],
            "organisation_ids": [world.a.syndicate.id, world.a.member.id],
            "start_on": START,
            "end_on": END,
        }
        audit = audit_svc.create_audit(org, rssi, {**base, "title": "Audit de certification"})
        other = audit_svc.create_audit(org, rssi, {**base, "title": "Audit confidentiel"})
        finding = svc.create_finding(
            audit,
            rssi,
            {"title": "Sauvegardes", "level": "NCmin", "requirement_kind": "none", "status": "open"},
        )
        other_finding = svc.create_finding(
            other, rssi, {"title": "Secret", "level": "PS", "requirement_kind": "none", "status": "open"}
        )
        row = access.invite(
            audit, rssi, {"email": "Auditeur@audit.example.org", "full_name": "Alice Auditrice"}
        )
        db.session.commit()
        return {
            "auditor": db.session.merge(auditor),
            "audit": audit.id,
            "other": other.id,
            "finding": finding.id,
            "other_finding": other_finding.id,
            "access": row.id,
        }


def test_the_invited_auditor_sees_their_audit_only_and_edits_only_its_findings(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    s = _setup(app, world, session)
    client = login_as(s["auditor"], world.a.syndicate)
    listing = client.get("/audits/").get_data(as_text=True)
    assert "Audit de certification" in listing
    assert "Audit confidentiel" not in listing
    assert client.get(f"/audits/{s['audit']}").status_code == 200
    assert client.get(f"/audits/findings/{s['finding']}/edit").status_code == 200
    assert client.get(f"/audits/{s['audit']}/findings/new").status_code == 200
    # other audits of the same organisation, their findings: 404
    assert client.get(f"/audits/{s['other']}").status_code == 404
    assert client.get(f"/audits/findings/{s['other_finding']}").status_code == 404
    # read-only everywhere else: the audit itself, its access page, the SMSI's writes
    assert client.get(f"/audits/{s['audit']}/edit").status_code == 403
    assert client.get(f"/audits/{s['audit']}/auditors").status_code == 403
    assert client.get("/smsi/actions/new").status_code == 404  # outside the SoA: out of scope
    assert client.post("/smsi/soa/control?control=A.5.1", data={}).status_code == 403  # the SoA: read-only
    # Annex A in scope: the Statement of Applicability reads; the register (not in scope) does not
    assert client.get("/smsi/soa/").status_code == 200
    assert client.get("/smsi/incidents/").status_code == 404  # the SMSI beyond the SoA: out of scope
    assert client.get("/smsi/actions/").status_code == 404
    assert client.get("/registers/").status_code == 404
    assert client.get("/journal/").status_code == 403
    # another tenant's audit: 404 (the walkers check every route the same way)
    # the finding of their audit is editable
    finding = session.get(Finding, s["finding"])
    response = client.post(
        f"/audits/findings/{s['finding']}/edit",
        data={
            "title": "Sauvegardes non testées",
            "level": "NCmin",
            "requirement_kind": "none",
            "status": "open",
            "version": finding.version,
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Finding, s["finding"]).title == "Sauvegardes non testées"


def test_the_auditor_reads_the_member_organisation_of_the_scope_and_nothing_of_another_tenant(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    s = _setup(app, world, session)
    client = login_as(s["auditor"], world.a.member)
    assert client.get("/audits/").status_code == 200
    assert client.get(f"/audits/findings/{s['finding']}/edit").status_code in (
        403,
        404,
    )  # not the audit's organisation
    assert client.post(
        "/active-organisation", data={"organisation_id": world.b.syndicate.id}
    ).status_code in (302, 403, 404)
    assert client.get(f"/organisations/{world.b.syndicate.id}").status_code in (403, 404)


def test_nothing_is_readable_after_the_access_expires_or_is_revoked(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    s = _setup(app, world, session)
    client = login_as(s["auditor"], world.a.syndicate)
    assert client.get(f"/audits/{s['audit']}").status_code == 200
    with time_machine.travel(dt.datetime.combine(END + dt.timedelta(days=1), dt.time(10)), tick=False):
        late = app.test_client()
        response = login(late, s["auditor"])
        assert response.status_code != 302 or not response.location.startswith("/audits")
        for url in (f"/audits/{s['audit']}", "/audits/", f"/audits/findings/{s['finding']}"):
            assert late.get(url).status_code in (302, 403, 404), url
            assert client.get(url).status_code in (302, 403, 404), url
        # The administration's accounts list reads the same rule: the ended role is not shown as held.
        with app.test_request_context():
            from accounts.services.users import memberships_of  # noqa: PLC0415

            held = memberships_of([db.session.merge(s["auditor"])])[s["auditor"].id]
            assert [m.role for m in held if m.role == Role.AUDITOR] == []
    # revoked: nothing either, at once
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        row = db.session.get(AuditorAccess, s["access"])
        access.revoke(row, db.session.merge(world.a.users[Role.RSSI]))
        db.session.commit()
    for url in (f"/audits/{s['audit']}", "/audits/", "/smsi/soa/"):
        assert client.get(url).status_code in (302, 403, 404), url


def test_mfa_is_required_of_an_invited_auditor(app: Flask, world: World, session: Any) -> None:
    s = _setup(app, world, session, totp_secret_enc=None, totp_enabled_at=None)
    client = app.test_client()
    assert login(client, s["auditor"]).location == "/account/mfa/enrol"
    assert client.get(f"/audits/{s['audit']}").location == "/account/mfa/enrol"


def test_every_page_the_auditor_opens_is_journalled_and_shown_to_the_rssi(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    s = _setup(app, world, session)
    client = login_as(s["auditor"], world.a.syndicate)
    before = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auditor.view")
    )
    assert client.get(f"/audits/{s['audit']}").status_code == 200
    assert client.get(f"/audits/{s['other']}").status_code == 404
    after = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auditor.view")
    )
    assert after - before == 2
    page = login_as(world.a.users[Role.RSSI]).get(f"/audits/{s['audit']}/auditors").get_data(as_text=True)
    assert "Alice Auditrice" in page
    assert f"/audits/{s['other']}" in page
    assert f"/audits/{s['audit']}" in page
    # the RSSI's own pages are not journalled as an auditor's
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auditor.view")
        )
        == after
    )


def test_the_invitation_checks_its_input(app: Flask, world: World, session: Any, login_as: Any) -> None:
    s = _setup(app, world, session)
    client = login_as(world.a.users[Role.RSSI])
    response = client.post(
        f"/audits/{s['audit']}/auditors", data={"full_name": "Bob", "email": "pas-une-adresse"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Indiquez une adresse électronique valide." in page
    assert 'value="pas-une-adresse"' in page
    again = client.post(
        f"/audits/{s['audit']}/auditors", data={"full_name": "Alice", "email": "auditeur@audit.example.org"}
    )
    assert again.status_code == 422
    assert "Cet auditeur a déjà accès à cet audit." in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AuditorAccess)) == 1


def test_the_auditor_home_page_shows_their_audit_and_the_days_left(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    s = _setup(app, world, session)
    page = login_as(s["auditor"], world.a.syndicate).get("/").get_data(as_text=True)
    days = (END - local_today()).days + 1
    assert "Mes audits" in page
    assert "Audit de certification" in page
    assert f"accès encore {days} jours" in page


def test_the_invited_auditors_menu_offers_only_the_pages_of_their_frameworks(
    app: Flask, world: World, session: Any, login_as: Any
) -> None:
    """Annex A only: the SMSI's Statement of Applicability is in the menu, not its incidents,
    actions or weekly review (404 for the auditor); the RSSI's menu keeps them all."""
    s = _setup(app, world, session)
    menu = login_as(s["auditor"], world.a.syndicate).get("/").get_data(as_text=True)
    assert 'href="/smsi/soa/"' in menu
    for hidden in ('href="/smsi/incidents/"', 'href="/smsi/actions/"', 'href="/smsi/review/"'):
        assert hidden not in menu
    assert 'href="/audits/"' in menu
    rssi_menu = login_as(world.a.users[Role.RSSI], world.a.syndicate).get("/").get_data(as_text=True)
    assert 'href="/smsi/incidents/"' in rssi_menu
    assert 'href="/smsi/soa/"' in rssi_menu
