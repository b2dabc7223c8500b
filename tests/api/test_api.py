"""The JSON API (core.api, accounts.api, registers.api): tokens, tenancy, roles, writes through the
services, ETag/If-Match, problem details in both languages, the OpenAPI document and its page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accounts.models import ApiTokenScope
from core.audit import AuditEvent
from core.db import local_today, utcnow
from core.security import Role
from tests import factories as f
from tests.api.conftest import ApiClient, make_token
from tests.conftest import World

PROBLEM = "application/problem+json"


def _events(action: str, object_id: int | None = None) -> list[Any]:
    session = f.current_session()
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return list(session.scalars(stmt))


def _new_request(**extra: Any) -> dict[str, Any]:
    return {
        "right": "acces",
        "requester_name": "Paul Durand",
        "received_on": local_today().isoformat(),
        **extra,
    }


# --- authentication ----------------------------------------------------------------------------


def test_without_a_token_the_api_answers_401_problem(app: Flask) -> None:
    response = ApiClient(app, None).get("/rights-requests")
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["status"] == 401
    assert body["title"] == "Authentification requise"


def test_an_unknown_token_answers_401(app: Flask, world: World) -> None:
    response = ApiClient(app, "egide_pat_" + "x" * 43).get("/rights-requests")
    assert response.status_code == 401
    assert "invalide" in response.get_json()["detail"]


def test_the_session_cookie_is_not_accepted_on_the_api(world: World, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO])
    assert client.get("/registers/requests").status_code == 200  # the cookie works on the pages
    response = client.get("/api/v1/rights-requests")
    assert response.status_code == 401
    response = client.post("/api/v1/rights-requests", json=_new_request())
    assert response.status_code == 401
    assert _events("rights_request.create") == []


def test_a_valid_token_reads_its_organisations_requests(world: World, api_as: Any) -> None:
    mine = f.RightsRequestFactory(organisation=world.a.syndicate)
    f.RightsRequestFactory(organisation=world.b.syndicate, requester_name="CANARY-B")
    response = api_as(world.a.users[Role.DPO], world.a.syndicate).get("/rights-requests?status=all")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [mine.id]
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 1, "pages": 1}
    assert "CANARY-B" not in response.get_data(as_text=True)


def test_expired_revoked_and_disabled_tokens_answer_401(app: Flask, world: World) -> None:
    user, org = world.a.users[Role.DPO], world.a.syndicate
    expired, _ = make_token(user, org, expires_on=local_today() - dt.timedelta(days=1))
    revoked, _ = make_token(user, org, revoked_at=utcnow())
    assert ApiClient(app, expired).get("/rights-requests").status_code == 401
    assert ApiClient(app, revoked).get("/rights-requests").status_code == 401
    valid, _ = make_token(user, org)
    assert ApiClient(app, valid).get("/rights-requests").status_code == 200
    user.is_enabled = False
    f.current_session().flush()
    assert ApiClient(app, valid).get("/rights-requests").status_code == 401


def test_a_token_stops_when_its_user_loses_the_role(app: Flask, world: World) -> None:
    user, org = world.a.users[Role.DPO], world.a.syndicate
    secret, _ = make_token(user, org)
    assert ApiClient(app, secret).get("/rights-requests").status_code == 200
    for membership in user.memberships:
        membership.revoke()
    f.current_session().flush()
    assert ApiClient(app, secret).get("/rights-requests").status_code == 401


def test_the_users_roles_still_apply(world: World, api_as: Any) -> None:
    admin = api_as(world.a.users[Role.ADMIN], world.a.syndicate)  # reads no register content
    response = admin.get("/rights-requests")
    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    reader = api_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.get("/rights-requests").status_code == 200
    assert reader.post("/rights-requests", json=_new_request()).status_code == 403


def test_a_read_token_cannot_write(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate, ApiTokenScope.READ)
    response = api.post("/rights-requests", json=_new_request())
    assert response.status_code == 403
    assert response.get_json()["detail"] == "Ce jeton ne permet que la lecture."
    assert _events("rights_request.create") == []


def test_every_use_is_journalled(app: Flask, world: World) -> None:
    secret, row = make_token(world.a.users[Role.DPO], world.a.syndicate)
    api = ApiClient(app, secret)
    assert api.get("/rights-requests").status_code == 200
    assert api.get("/rights-requests/999999").status_code == 404
    uses = _events("api_token.use", row.id)
    assert len(uses) == 2
    assert {use.chain for use in uses} == {world.a.syndicate.id}
    f.current_session().refresh(row)
    assert row.last_used_at is not None


# --- tenancy -----------------------------------------------------------------------------------


def test_another_organisations_ids_answer_404(world: World, api_as: Any) -> None:
    theirs = f.RightsRequestFactory(organisation=world.b.syndicate, requester_name="CANARY-B")
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    for response in (
        api.get(f"/rights-requests/{theirs.id}"),
        api.patch(f"/rights-requests/{theirs.id}", json={"details": "x"}, headers={"If-Match": 'W/"1"'}),
        api.get(f"/organisations/{world.b.syndicate.id}"),
    ):
        assert response.status_code == 404
        assert response.mimetype == PROBLEM
        assert "CANARY-B" not in response.get_data(as_text=True)
    assert _events("rights_request.update", theirs.id) == []


def test_a_token_for_another_organisation_sees_that_one_only(world: World, api_as: Any) -> None:
    # The DPO of A also refers for B's member town: his token for that town does not see A.
    user = world.a.users[Role.DPO]
    f.MembershipFactory(user=user, organisation=world.b.member, role=Role.REFERENT)
    ours = f.RightsRequestFactory(organisation=world.a.syndicate)
    api = api_as(user, world.b.member)
    assert api.get(f"/rights-requests/{ours.id}").status_code == 404
    assert api.get("/rights-requests?status=all").get_json()["items"] == []


def test_organisations_are_those_the_page_shows(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    response = api.get("/organisations")
    assert response.status_code == 200
    names = {o["name"] for o in response.get_json()["items"]}
    assert names == {"Syndicat A", "Ville A"}
    detail = api.get(f"/organisations/{world.a.member.id}")
    assert detail.status_code == 200
    assert detail.headers["ETag"] == f'W/"{world.a.member.version}"'


# --- writes ------------------------------------------------------------------------------------


def test_create_goes_through_the_service_and_the_journal(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    response = api.post("/rights-requests", json=_new_request(details="Par courrier"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reference"].startswith(f"DRO-{local_today().year}-")
    assert body["is_open"] is True
    assert response.headers["ETag"] == 'W/"1"'
    events = _events("rights_request.create", body["id"])
    assert len(events) == 1
    assert events[0].actor_id == world.a.users[Role.DPO].id


def test_service_rules_answer_422_with_field_errors(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    future = (local_today() + dt.timedelta(days=3)).isoformat()
    response = api.post("/rights-requests", json=_new_request(received_on=future))
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    errors = response.get_json()["errors"]
    assert errors["received_on"] == ["La date de réception ne peut pas être dans le futur."]


def test_schema_errors_answer_422_in_english_when_asked(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate, lang="en")
    response = api.post("/rights-requests", json={"right": "nope"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["title"] == "Invalid data"
    assert body["detail"] == "The data sent is not valid."
    assert {"right", "requester_name", "received_on"} <= set(body["errors"])
    future = (local_today() + dt.timedelta(days=3)).isoformat()
    response = api.post("/rights-requests", json=_new_request(received_on=future))
    assert response.get_json()["errors"]["received_on"] == ["The date of receipt cannot be in the future."]


def test_update_needs_if_match_and_refuses_a_stale_version(world: World, api_as: Any) -> None:
    req = f.RightsRequestFactory(organisation=world.a.syndicate, received_on=local_today())
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    url = f"/rights-requests/{req.id}"
    etag = api.get(url).headers["ETag"]
    missing = api.patch(url, json={"details": "Pièce reçue"})
    assert missing.status_code == 428
    assert missing.mimetype == PROBLEM
    stale = api.patch(url, json={"details": "Pièce reçue"}, headers={"If-Match": 'W/"99"'})
    assert stale.status_code == 412
    assert _events("rights_request.update", req.id) == []
    done = api.patch(url, json={"details": "Pièce reçue"}, headers={"If-Match": etag})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["details"] == "Pièce reçue"
    assert done.headers["ETag"] != etag
    events = _events("rights_request.update", req.id)
    assert len(events) == 1
    again = api.patch(url, json={"details": "Encore"}, headers={"If-Match": etag})
    assert again.status_code == 412  # the ETag read before the first change is stale now


def test_pagination_and_filters(world: World, api_as: Any) -> None:
    for n in range(3):
        f.RightsRequestFactory(organisation=world.a.syndicate, requester_name=f"Personne {n}")
    f.RightsRequestFactory(organisation=world.a.syndicate, requester_name="Autre", right="effacement")
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    page = api.get("/rights-requests?status=all&per_page=2&page=2").get_json()
    assert page["meta"] == {"page": 2, "per_page": 2, "total": 4, "pages": 2}
    assert len(page["items"]) == 2
    assert api.get("/rights-requests?status=all&q=personne").get_json()["meta"]["total"] == 3
    assert api.get("/rights-requests?status=all&right=effacement").get_json()["meta"]["total"] == 1
    too_many = api.get("/rights-requests?per_page=101")
    assert too_many.status_code == 422
    assert "per_page" in too_many.get_json()["errors"]


def test_unknown_api_url_and_method_are_problems(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    response = api.get("/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    response = api.open("/rights-requests", "DELETE")
    assert response.status_code == 405
    assert response.get_json()["title"] == "Méthode non autorisée"


# --- the document and its page ------------------------------------------------------------------


def test_openapi_document_is_3_1_and_lists_the_endpoints(app: Flask) -> None:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    assert {"/api/v1/rights-requests", "/api/v1/rights-requests/{rights_request_id}"} <= set(spec["paths"])
    assert "/api/v1/organisations" in spec["paths"]
    assert not any(p.startswith("/registers") for p in spec["paths"])  # pages are not in it
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_docs_page_uses_vendored_assets_only(app: Flask) -> None:
    response = app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/static/vendor/redoc/redoc.standalone.js" in page
    assert "http://" not in page
    assert "https://" not in page
    assert "<script>" not in page  # no inline script
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    asset = app.test_client().get("/static/vendor/redoc/redoc.standalone.js")
    assert asset.status_code == 200
    asset.close()


# --- tokens on "Mon compte" ----------------------------------------------------------------------


def _csrf(client: Any, url: str) -> str:
    from tests.conftest import csrf_token_from  # noqa: PLC0415

    return csrf_token_from(client.get(url).get_data(as_text=True))


def test_a_token_is_created_on_my_account_shown_once_and_stored_hashed(
    app: Flask, world: World, login_as: Any
) -> None:
    user = world.a.users[Role.DPO]
    client = login_as(user)
    expires = (local_today() + dt.timedelta(days=90)).isoformat()
    data = {
        "csrf_token": _csrf(client, "/account/"),
        "name": "Export nocturne",
        "organisation_id": world.a.syndicate.id,
        "scope": "read",
        "expires_on": expires,
    }
    response = client.post("/account/api-tokens", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = page.split('id="api-token-secret">')[1].split("<")[0].strip()
    assert secret.startswith("egide_pat_")
    assert len(secret) >= 50
    account = client.get("/account/").get_data(as_text=True)
    assert "Export nocturne" in account
    assert secret not in account  # shown once
    from accounts.models import ApiToken  # noqa: PLC0415

    row = f.current_session().scalar(select(ApiToken).where(ApiToken.name == "Export nocturne"))
    assert row.token_hash != secret
    assert len(row.token_hash) == 64
    assert secret.startswith(row.prefix)
    assert len(_events("api_token.create", row.id)) == 1
    assert ApiClient(app, secret).get("/rights-requests").status_code == 200
    # revoked from the same page: refused at once
    revoke = client.post(
        f"/account/api-tokens/{row.id}/revoke", data={"csrf_token": _csrf(client, "/account/")}
    )
    assert revoke.status_code == 302
    assert ApiClient(app, secret).get("/rights-requests").status_code == 401
    assert len(_events("api_token.revoke", row.id)) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expires_on", "past", "La date d'expiration doit être dans le futur."),
        ("expires_on", "far", "Un jeton vaut un an au plus."),
        ("organisation_id", "other", "Vous n'avez pas de rôle dans cette organisation."),
    ],
)
def test_token_form_refuses_bad_expiry_and_foreign_organisations(
    world: World, login_as: Any, field: str, value: str, message: str
) -> None:
    client = login_as(world.a.users[Role.DPO])
    values = {
        "past": local_today().isoformat(),
        "far": (local_today() + dt.timedelta(days=400)).isoformat(),
        "other": world.b.syndicate.id,
    }
    data = {
        "csrf_token": _csrf(client, "/account/"),
        "name": "Jeton",
        "organisation_id": world.a.syndicate.id,
        "scope": "read_write",
        "expires_on": (local_today() + dt.timedelta(days=30)).isoformat(),
        field: values[value],
    }
    response = client.post("/account/api-tokens", data=data)
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in response.get_data(as_text=True)
    assert _events("api_token.create") == []


def test_another_users_token_cannot_be_revoked(world: World, login_as: Any) -> None:
    _secret, row = make_token(world.a.users[Role.DPO], world.a.syndicate)
    client = login_as(world.a.users[Role.RSSI])
    response = client.post(
        f"/account/api-tokens/{row.id}/revoke", data={"csrf_token": _csrf(client, "/account/")}
    )
    assert response.status_code == 404
    assert row.revoked_at is None


# --- breaches, fiches, catalogue ------------------------------------------------------------------


def test_breaches_read_create_and_update_through_the_service(world: World, api_as: Any) -> None:
    theirs = f.BreachFactory(organisation=world.b.syndicate, title="CANARY-B")
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    assert api.get(f"/breaches/{theirs.id}").status_code == 404
    created = api.post(
        "/breaches",
        json={
            "title": "Courriel mal adressé",
            "discovered_at": "2026-11-30T10:00:00",
            "natures": ["confidentialite"],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["reference"].startswith("VIO-2026-")
    assert len(_events("breach.create", body["id"])) == 1
    listed = api.get("/breaches").get_json()
    assert [b["id"] for b in listed["items"]] == [body["id"]]
    url = f"/breaches/{body['id']}"
    assert api.patch(url, json={"measures": "Rappel"}).status_code == 428
    updated = api.patch(url, json={"measures": "Rappel"}, headers={"If-Match": created.headers["ETag"]})
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["measures"] == "Rappel"
    assert len(_events("breach.update", body["id"])) == 1
    bad = api.post(
        "/breaches", json={"title": "X", "discovered_at": "2026-11-30T10:00:00", "natures": ["nope"]}
    )
    assert bad.status_code == 422
    assert "natures" in bad.get_json()["errors"]


def test_dates_out_of_bounds_are_422_not_500(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    response = api.post("/rights-requests", json=_new_request(received_on="9999-12-31"))
    assert response.status_code == 422
    assert "received_on" in response.get_json()["errors"]
    response = api.post("/breaches", json={"title": "X", "discovered_at": "0001-01-01T00:00:00"})
    assert response.status_code == 422


def test_fiches_are_listed_as_on_the_register_page(world: World, api_as: Any) -> None:
    ours = f.ProcessingActivityFactory(organisation=world.a.syndicate)
    theirs = f.ProcessingActivityFactory(organisation=world.b.syndicate)
    api = api_as(world.a.users[Role.READER], world.a.syndicate)
    listed = api.get("/activities").get_json()
    assert [a["id"] for a in listed["items"]] == [ours.id]
    assert api.get(f"/activities/{ours.id}").status_code == 200
    assert api.get(f"/activities/{theirs.id}").status_code == 404


def test_catalogue_reads_and_subscriptions_through_the_service(world: World, api_as: Any) -> None:
    api = api_as(world.a.users[Role.RSSI], world.a.syndicate)
    apps = api.get("/applications").get_json()
    assert [a["name"] for a in apps["items"]] == ["Application A"]
    assert api.get(f"/applications/{world.b.application.id}").status_code == 404
    subs = api.get(f"/applications/{world.a.application.id}/subscriptions").get_json()["items"]
    assert [s["id"] for s in subs] == [world.a.subscription.id]
    other_member = f.OrganisationFactory(syndicate=world.a.syndicate)
    created = api.post(
        f"/applications/{world.a.application.id}/subscriptions",
        json={"organisation_id": other_member.id, "started_on": "2026-01-01"},
    )
    assert created.status_code == 201, created.get_json()
    assert len(_events("subscription.create", created.get_json()["id"])) == 1
    foreign = api.post(
        f"/applications/{world.a.application.id}/subscriptions",
        json={"organisation_id": world.b.member.id, "started_on": "2026-01-01"},
    )
    assert foreign.status_code == 404  # B's member town: not visible from A
    url = f"/subscriptions/{world.a.subscription.id}/end"
    assert api.post(url, json={"ended_on": "2026-11-30"}).status_code == 428
    etag = f'W/"{world.a.subscription.version}"'
    ended = api.post(url, json={"ended_on": "2026-11-30"}, headers={"If-Match": etag})
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["ended_on"] == "2026-11-30"
    reader = api_as(world.a.users[Role.READER], world.a.syndicate)
    assert reader.post(url, json={"ended_on": "2026-11-30"}, headers={"If-Match": etag}).status_code == 403


def test_the_api_is_rate_limited_with_a_problem(
    app: Flask, world: World, api_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.extensions import limiter  # noqa: PLC0415

    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    limiter.reset()
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    statuses = [api.get("/rights-requests").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/rights-requests")
    assert response.mimetype == PROBLEM
    assert response.get_json()["title"] == "Trop de requêtes"
    limiter.reset()


def test_the_api_blueprints_limit_is_checked_before_each_request(
    world: World, api_as: Any, limiter_checks: list[bool]
) -> None:
    """Pages without a limit skip Flask-Limiter's check before the request (core.extensions
    .PageLimiter, tests/core/test_request_fixed_cost.py); the API's blueprint limit keeps it."""
    api = api_as(world.a.users[Role.DPO], world.a.syndicate)
    limiter_checks.clear()
    assert api.get("/rights-requests").status_code == 200
    assert limiter_checks == [True]


def test_fiches_are_written_through_the_service_and_its_status_rule(world: World, api_as: Any) -> None:
    """Create and update a fiche through the API: the register's service (its checks, its journal,
    its one status rule: "validated" only for the DPO, a referent's write gives "in review"), the
    If-Match of every update, what is not sent left as it was."""
    from registers import reference as ref  # noqa: PLC0415

    basis = ref.legal_bases()[0].id
    dpo = api_as(world.a.users[Role.DPO], world.a.syndicate)
    created = dpo.post(
        "/activities",
        json={"name": "Gestion du personnel", "purpose": "Paie", "legal_basis": basis, "status": "validated"},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["status"], body["legal_basis"], body["purpose"]) == ("validated", basis, "Paie")
    assert body["reference"].startswith("TRT-")
    assert len(_events("activity.create", body["id"])) == 1
    url = f"/activities/{body['id']}"
    assert dpo.patch(url, json={"purpose": "Paie et carrière"}).status_code == 428
    stale = dpo.patch(url, json={"purpose": "X"}, headers={"If-Match": 'W/"999"'})
    assert stale.status_code == 412
    updated = dpo.patch(
        url, json={"purpose": "Paie et carrière"}, headers={"If-Match": created.headers["ETag"]}
    )
    assert updated.status_code == 200, updated.get_json()
    after = updated.get_json()
    assert (after["name"], after["purpose"], after["legal_basis"]) == (
        "Gestion du personnel",
        "Paie et carrière",
        basis,
    )
    assert after["status"] == "validated"  # not sent: kept
    assert len(_events("activity.update", body["id"])) == 1
    # the service's own checks, as 422 problems beside the field
    bad = dpo.post("/activities", json={"name": "X", "legal_basis": "inconnue"})
    assert bad.status_code == 422
    assert "legal_basis" in bad.get_json()["errors"]
    # a referent asking for "validated" gets "in review", in his own organisation only
    referent = api_as(world.a.member_referent, world.a.member)
    asked = referent.post("/activities", json={"name": "État civil", "status": "validated"})
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["status"] == "in_review"
    assert (
        referent.patch(url, json={"purpose": "Z"}, headers={"If-Match": updated.headers["ETag"]}).status_code
        == 404
    )
    # a read token may not write; a model of the syndicate is not a fiche of the API
    reader = api_as(world.a.users[Role.DPO], world.a.syndicate, scope=ApiTokenScope.READ)
    assert reader.post("/activities", json={"name": "Y"}).status_code == 403
    model = f.ProcessingActivityFactory(organisation=world.a.syndicate, is_model=True)
    assert (
        dpo.patch(f"/activities/{model.id}", json={"name": "Y"}, headers={"If-Match": "*"}).status_code == 404
    )
