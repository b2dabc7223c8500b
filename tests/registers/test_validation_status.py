"""Only the DPO validates, by every path.

One rule (``registers.services.activities.resulting_status``, applied by the single writer ``_save``):
a write by someone without ``REGISTERS_VALIDATE`` in the fiche's organisation never yields
"validated", and sends a validated fiche back to review. The tables below go through every write
path, by the real HTTP route where there is one, for the DPO, a referent and the RSSI (who may not
edit at all). The public register and the register PDF show the last version the DPO validated,
never a referent's unreviewed text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, inspect, select, text

from accounts.models import Organisation, User
from core.extensions import alembic, db
from core.security import Role
from core.tenancy import UNSCOPED
from registers.documents import data as registers
from registers.documents import pdf as pdf_registers
from registers.models import ActivityStatus, ActivityVersion, ProcessingActivity, validated_versions
from registers.services import activities as acts
from registers.services import dpia, inheritance
from registers.services import publication as pub
from tests import factories as f
from tests.conftest import World, acting_as, reset_database
from tests.registers.test_activity_views import blank_form
from tests.registers.test_documents import _text as pdf_text
from tests.registers.test_exchange import csv_body, csv_rows

DRAFT, IN_REVIEW = ActivityStatus.DRAFT, ActivityStatus.IN_REVIEW
VALIDATED, ARCHIVED = ActivityStatus.VALIDATED, ActivityStatus.ARCHIVED
DPO, REFERENT, RSSI = Role.DPO, Role.REFERENT, Role.RSSI

VALIDATED_TEXT = "Tenue des listes électorales, texte validé par le DPO"
UNREVIEWED = "CANARY texte du référent jamais relu"
FICHE = {
    "name": "Gestion des listes électorales",
    "purpose": VALIDATED_TEXT,
    "legal_basis": "6.1.c",
    "data_subjects": ["electeurs"],
    "data_categories": [
        {"category": "etat_civil", "details": "", "active": "inscription", "intermediate": "", "final": ""}
    ],
}
MODEL = {**FICHE, "name": "Portail famille", "purpose": "Inscriptions"}


# --- the people and the setting ------------------------------------------------------------------


@pytest.fixture
def people(world: World, session: Any) -> dict[tuple[str, Role], User]:
    """Who writes: tenant A's users hold their roles in the syndicate; Ville A gets its own DPO and
    RSSI beside its referent (model updates are accepted in the member's register)."""
    member_dpo = f.UserFactory(email="dpo.villea@example.org")
    f.MembershipFactory(user=member_dpo, organisation=world.a.member, role=Role.DPO)
    member_rssi = f.UserFactory(email="rssi.villea@example.org")
    f.MembershipFactory(user=member_rssi, organisation=world.a.member, role=Role.RSSI)
    session.flush()
    return {
        **{("syndicate", role): world.a.users[role] for role in (DPO, REFERENT, RSSI)},
        ("member", DPO): member_dpo,
        ("member", REFERENT): world.a.member_referent,
        ("member", RSSI): member_rssi,
    }


def org_of(world: World, where: str) -> Organisation:
    return world.a.syndicate if where == "syndicate" else world.a.member


@contextmanager
def system(app: Flask, world: World, where: str = "syndicate") -> Iterator[Organisation]:
    """An app context for the setting: system writes (actor None), committed like a request."""
    user = world.a.users[DPO] if where == "syndicate" else world.a.member_referent
    with app.test_request_context(), acting_as(fresh(user), org_of(world, where)):
        yield db.session.merge(org_of(world, where))
        db.session.commit()


def fresh(user: User) -> User:
    """The user as stored now (a login since the fixture was made changed the row's version)."""
    return db.session.get(User, user.id)


def fiche(session: Any, activity_id: int) -> ProcessingActivity:
    session.expire_all()
    return session.scalar(
        select(ProcessingActivity).where(ProcessingActivity.id == activity_id).execution_options(**UNSCOPED)
    )


def validated_version(session: Any, activity_id: int) -> ActivityVersion | None:
    """The version the public register and the PDF read for this fiche (None: not published)."""
    return session.scalar(
        select(ActivityVersion)
        .join(validated_versions, validated_versions.c.version_id == ActivityVersion.id)
        .where(validated_versions.c.activity_id == activity_id)
        .execution_options(**UNSCOPED, populate_existing=True)
    )


def latest(session: Any, where: dict[str, Any]) -> ProcessingActivity | None:
    session.expire_all()
    return session.scalar(
        select(ProcessingActivity)
        .filter_by(**where)
        .order_by(ProcessingActivity.id.desc())
        .limit(1)
        .execution_options(**UNSCOPED)
    )


def new_fiche(app: Flask, world: World, status: ActivityStatus, where: str = "syndicate") -> int:
    with system(app, world, where) as org:
        return acts.create_activity(org, None, {**FICHE, "status": status}).id


def new_model_and_entry(app: Flask, world: World) -> tuple[int, int]:
    """A validated model of the syndicate, and Ville A's entry inheriting it, validated too."""
    with system(app, world) as syndicate:
        model = acts.create_activity(
            syndicate, None, {**MODEL, "application_ids": [world.a.application.id]}, is_model=True
        )
        entry = db.session.scalar(
            select(ProcessingActivity)
            .where(ProcessingActivity.model_id == model.id)
            .execution_options(**UNSCOPED)
        )
        acts.update_activity(entry, None, {"status": VALIDATED, "version": entry.version})
        return model.id, entry.id


def form_of(activity: ProcessingActivity, **changes: Any) -> dict[str, Any]:
    data = blank_form()
    data.update(
        {
            "name": activity.name,
            "purpose": activity.purpose or "",
            "legal_basis": activity.legal_basis or "",
            "data_subjects": list(activity.data_subjects),
            "categories-0-selected": "y",
            "categories-0-active": "inscription",
            "status": activity.status.value,
            "version": activity.version,
        }
    )
    if activity.is_model:
        data["application_ids"] = [a.id for a in activity.applications]
    data.update(changes)
    return data


@dataclass
class Case:
    app: Flask
    world: World
    session: Any
    client: Any
    upload_dir: Any


# --- write paths through the real routes ---------------------------------------------------------
# Each returns the HTTP status of the write and the id of the fiche written (None: none was made).


def edit_validated(c: Case) -> tuple[int, int | None]:
    """A validated fiche edited through the form, which still shows "validated"."""
    activity_id = new_fiche(c.app, c.world, VALIDATED)
    a = fiche(c.session, activity_id)
    response = c.client.post(f"/registers/activities/{a.id}/edit", data=form_of(a, purpose=UNREVIEWED))
    return response.status_code, activity_id


def edit_asking_validation(c: Case) -> tuple[int, int | None]:
    """A draft whose form is posted with status "validated" (the referent's form does not offer it)."""
    activity_id = new_fiche(c.app, c.world, DRAFT)
    a = fiche(c.session, activity_id)
    response = c.client.post(f"/registers/activities/{a.id}/edit", data=form_of(a, status="validated"))
    return response.status_code, activity_id


def create_validated(c: Case) -> tuple[int, int | None]:
    data = {**form_of(fiche(c.session, new_fiche(c.app, c.world, DRAFT))), "version": ""}
    data.update(name="Nouvelle fiche", status="validated")
    response = c.client.post("/registers/activities/new", data=data)
    created = latest(c.session, {"name": "Nouvelle fiche"})
    return response.status_code, created.id if created else None


def status_validated(c: Case) -> tuple[int, int | None]:
    activity_id = new_fiche(c.app, c.world, IN_REVIEW)
    a = fiche(c.session, activity_id)
    response = c.client.post(
        f"/registers/activities/{a.id}/status", data={"status": "validated", "version": a.version}
    )
    return response.status_code, activity_id


def status_archived(c: Case) -> tuple[int, int | None]:
    activity_id = new_fiche(c.app, c.world, VALIDATED)
    a = fiche(c.session, activity_id)
    response = c.client.post(
        f"/registers/activities/{a.id}/status", data={"status": "archived", "version": a.version}
    )
    return response.status_code, activity_id


def restore_validated_version(c: Case) -> tuple[int, int | None]:
    """Version 1 was validated; the fiche has since been changed and is in review: restore 1."""
    activity_id = new_fiche(c.app, c.world, VALIDATED)
    with system(c.app, c.world):
        a = db.session.get(ProcessingActivity, activity_id)
        acts.update_activity(a, None, {"purpose": UNREVIEWED, "status": IN_REVIEW, "version": a.version})
    a = fiche(c.session, activity_id)
    response = c.client.post(f"/registers/activities/{a.id}/versions/1/restore", data={"version": a.version})
    return response.status_code, activity_id


def dpia_screening(c: Case) -> tuple[int, int | None]:
    activity_id = new_fiche(c.app, c.world, VALIDATED)
    a = fiche(c.session, activity_id)
    data = {
        "version": a.version,
        "dpia_cnil_required": "",
        "dpia_cnil_exempt": "",
        "dpia_status": "not_started",
        "dpia_done_on": "",
        "dpia_justification": "",
        "criterion_grande_echelle": "y",
        "criterion_croisement": "y",
    }
    response = c.client.post(f"/registers/activities/{a.id}/dpia", data=data)
    return response.status_code, activity_id


def _import(c: Case, activity_id: int, header: str, value: str) -> int:
    """Export the register, change one cell of the fiche, upload, keep the proposed mapping, preview,
    confirm: the last status code."""
    reference = fiche(c.session, activity_id).reference
    exported = c.client.post("/registers/export.csv")
    if exported.status_code != 200:
        return exported.status_code
    rows = csv_rows(exported.data)
    row = next(r for r in rows[1:] if r[0] == reference)
    row[rows[0].index(header)] = value
    upload = c.client.post(
        "/registers/import",
        data={"file": (io.BytesIO(csv_body(rows)), "registre.csv")},
        content_type="multipart/form-data",
    )
    if upload.status_code != 302:
        return upload.status_code
    mapping = c.client.get(upload.location).get_data(as_text=True)
    data = dict(re.findall(r'<select[^>]*name="(col_\d+)".*?<option selected value="([^"]*)"', mapping, re.S))
    data["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', mapping).group(1)
    preview = c.client.post(f"{upload.location}/preview", data=data)
    if preview.status_code != 200:
        return preview.status_code
    fingerprint = re.search(
        r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', preview.get_data(as_text=True)
    )
    return c.client.post(f"{upload.location}/confirm", data={"fingerprint": fingerprint.group(1)}).status_code


def import_change(c: Case) -> tuple[int, int | None]:
    activity_id = new_fiche(c.app, c.world, VALIDATED)
    return _import(c, activity_id, "Finalité principale", UNREVIEWED), activity_id


def import_asking_validation(c: Case) -> tuple[int, int | None]:
    activity_id = new_fiche(c.app, c.world, DRAFT)
    return _import(c, activity_id, "Statut", "Validée"), activity_id


def model_accept(c: Case) -> tuple[int, int | None]:
    """Ville A's validated entry; the syndicate changed the model; Ville A takes the change."""
    model_id, entry_id = new_model_and_entry(c.app, c.world)
    with system(c.app, c.world) as _syndicate:
        model = db.session.get(ProcessingActivity, model_id)
        acts.update_activity(
            model,
            None,
            {**acts.content_of(model), "purpose": "Inscriptions et facturation", "version": model.version},
        )
    entry = fiche(c.session, entry_id)
    response = c.client.post(
        f"/registers/activities/{entry_id}/model-update",
        data={"decision_purpose": "model", "version": entry.version},
    )
    return response.status_code, entry_id


def revert_field(c: Case) -> tuple[int, int | None]:
    """Ville A's validated entry overrides the purpose; the field is given back to the model."""
    _model_id, entry_id = new_model_and_entry(c.app, c.world)
    with system(c.app, c.world, "member"):
        entry = db.session.get(ProcessingActivity, entry_id)
        acts.update_activity(entry, None, {"purpose": "Finalité locale", "version": entry.version})
    entry = fiche(c.session, entry_id)
    response = c.client.post(
        f"/registers/activities/{entry_id}/revert", data={"field": "purpose", "version": entry.version}
    )
    return response.status_code, entry_id


def model_edit(c: Case) -> tuple[int, int | None]:
    model_id, _entry_id = new_model_and_entry(c.app, c.world)
    model = fiche(c.session, model_id)
    response = c.client.post(
        f"/registers/activities/{model_id}/edit", data=form_of(model, purpose=UNREVIEWED)
    )
    return response.status_code, model_id


def model_create(c: Case) -> tuple[int, int | None]:
    """A new model posted as validated (the default of a model written by the syndicate's DPO)."""
    data = blank_form()
    data.update(
        {
            "name": "Nouveau modèle",
            "purpose": "Inscriptions",
            "application_ids": [c.world.a.application.id],
            "status": "validated",
        }
    )
    response = c.client.post("/registers/models/new", data=data)
    created = latest(c.session, {"name": "Nouveau modèle", "is_model": True})
    return response.status_code, created.id if created else None


HTTP_PATHS: dict[str, tuple[str, Callable[[Case], tuple[int, int | None]]]] = {
    "edit": ("syndicate", edit_validated),
    "edit_asking_validation": ("syndicate", edit_asking_validation),
    "create": ("syndicate", create_validated),
    "status": ("syndicate", status_validated),
    "archive": ("syndicate", status_archived),
    "restore": ("syndicate", restore_validated_version),
    "dpia": ("syndicate", dpia_screening),
    "import": ("syndicate", import_change),
    "import_asking_validation": ("syndicate", import_asking_validation),
    "model_accept": ("member", model_accept),
    "revert_to_model": ("member", revert_field),
    "model_edit": ("syndicate", model_edit),
    "model_create": ("syndicate", model_create),
}

# path, role → HTTP status of the write, status of the fiche afterwards (None: no fiche created).
# The RSSI may not edit registers (403: untouched). 422: the form or the import preview refuses.
HTTP_TABLE: list[tuple[str, Role, int, ActivityStatus | None]] = [
    ("edit", DPO, 302, VALIDATED),
    ("edit", REFERENT, 302, IN_REVIEW),
    ("edit", RSSI, 403, VALIDATED),
    ("edit_asking_validation", DPO, 302, VALIDATED),
    ("edit_asking_validation", REFERENT, 422, DRAFT),
    ("edit_asking_validation", RSSI, 403, DRAFT),
    ("create", DPO, 302, VALIDATED),
    ("create", REFERENT, 422, None),
    ("create", RSSI, 403, None),
    ("status", DPO, 302, VALIDATED),
    ("status", REFERENT, 403, IN_REVIEW),
    ("status", RSSI, 403, IN_REVIEW),
    ("archive", DPO, 302, ARCHIVED),
    ("archive", REFERENT, 403, VALIDATED),
    ("archive", RSSI, 403, VALIDATED),
    ("restore", DPO, 302, VALIDATED),
    ("restore", REFERENT, 302, IN_REVIEW),
    ("restore", RSSI, 403, IN_REVIEW),
    ("dpia", DPO, 302, VALIDATED),
    ("dpia", REFERENT, 302, IN_REVIEW),
    ("dpia", RSSI, 403, VALIDATED),
    ("import", DPO, 302, VALIDATED),
    ("import", REFERENT, 302, IN_REVIEW),
    ("import", RSSI, 403, VALIDATED),
    ("import_asking_validation", DPO, 302, VALIDATED),
    ("import_asking_validation", REFERENT, 422, DRAFT),
    ("import_asking_validation", RSSI, 403, DRAFT),
    ("model_accept", DPO, 302, VALIDATED),
    ("model_accept", REFERENT, 302, IN_REVIEW),
    ("model_accept", RSSI, 403, VALIDATED),
    ("revert_to_model", DPO, 302, VALIDATED),
    ("revert_to_model", REFERENT, 302, IN_REVIEW),
    ("revert_to_model", RSSI, 403, VALIDATED),
    ("model_edit", DPO, 302, VALIDATED),
    ("model_edit", REFERENT, 302, IN_REVIEW),
    ("model_edit", RSSI, 403, VALIDATED),
    ("model_create", DPO, 302, VALIDATED),
    ("model_create", REFERENT, 422, None),
    ("model_create", RSSI, 403, None),
]


def test_the_http_table_covers_every_route_path_and_role() -> None:
    assert {(p, r) for p, r, _c, _s in HTTP_TABLE} == {
        (p, r) for p in HTTP_PATHS for r in (DPO, REFERENT, RSSI)
    }


@pytest.mark.parametrize(
    ("path", "role", "code", "expected"), HTTP_TABLE, ids=[f"{p}-{r.value}" for p, r, _c, _s in HTTP_TABLE]
)
def test_status_after_a_write_through_the_routes(
    app: Flask,
    world: World,
    people: dict[tuple[str, Role], User],
    login_as: Any,
    session: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    role: Role,
    code: int,
    expected: ActivityStatus | None,
) -> None:
    where, write = HTTP_PATHS[path]
    client = login_as(people[(where, role)], org_of(world, where))
    status_code, activity_id = write(Case(app, world, session, client, tmp_path))
    assert status_code == code
    after = fiche(session, activity_id).status if activity_id is not None else None
    assert after == expected
    if after == VALIDATED:  # what the public register and the PDF read is this very content
        a = fiche(session, activity_id)
        version = validated_version(session, a.id)
        assert version is not None
        assert version.activity_id == a.id
        assert version.data["purpose"] == a.purpose


# --- write paths through the services ----------------------------------------------------------
# actor: "dpo", "referent" or "system" (None). The request's logged-in user is deliberately the
# other person: the rule reads the actor's roles in the fiche's organisation, never the request.


def _svc_create(org: Organisation, actor: User | None) -> ProcessingActivity:
    return acts.create_activity(org, actor, {**FICHE, "status": VALIDATED})


def _svc_create_model(org: Organisation, actor: User | None) -> ProcessingActivity:
    return acts.create_activity(org, actor, {**MODEL, "application_ids": [_app_id(org)]}, is_model=True)


def _app_id(org: Organisation) -> int:
    from catalogue.models import Application  # noqa: PLC0415

    return db.session.scalar(select(Application.id).where(Application.syndicate_id == org.id).limit(1))


def _validated(org: Organisation) -> ProcessingActivity:
    return acts.create_activity(org, None, {**FICHE, "status": VALIDATED})


def _svc_update(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = _validated(org)
    return acts.update_activity(a, actor, {"purpose": UNREVIEWED, "version": a.version})


def _svc_update_nothing(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = _validated(org)
    return acts.update_activity(a, actor, {**acts.content_of(a), "version": a.version})


def _svc_set_status(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = acts.create_activity(org, None, {**FICHE, "status": DRAFT})
    return acts.set_status(a, actor, VALIDATED, a.version)


def _svc_archive(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = _validated(org)
    return acts.set_status(a, actor, ARCHIVED, a.version)


def _svc_restore(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = _validated(org)
    acts.update_activity(a, None, {"purpose": UNREVIEWED, "status": DRAFT, "version": a.version})
    return acts.restore_version(a, actor, acts.versions_of(a)[-1], a.version)


def _svc_dpia(org: Organisation, actor: User | None) -> ProcessingActivity:
    a = _validated(org)
    criteria = ["grande_echelle", "croisement"]
    return dpia.save_screening(a, actor, {"dpia_criteria": criteria, "version": a.version})


def _entry(member: Organisation) -> ProcessingActivity:
    syndicate = db.session.get(Organisation, member.syndicate_id)
    model = acts.create_activity(
        syndicate, None, {**MODEL, "application_ids": [_app_id(syndicate)]}, is_model=True
    )
    entry = db.session.scalar(
        select(ProcessingActivity)
        .where(ProcessingActivity.model_id == model.id)
        .execution_options(**UNSCOPED)
    )
    acts.update_activity(entry, None, {"status": VALIDATED, "version": entry.version})
    acts.update_activity(model, None, {**acts.content_of(model), "purpose": "V2", "version": model.version})
    return entry


def _svc_model_accept(member: Organisation, actor: User | None) -> ProcessingActivity:
    entry = _entry(member)
    return inheritance.accept_model_update(entry, actor, ["purpose"], entry.version)


def _svc_model_decline(member: Organisation, actor: User | None) -> ProcessingActivity:
    """The update is settled without taking any field: still a write, by this actor."""
    entry = _entry(member)
    return inheritance.accept_model_update(entry, actor, [], entry.version)


def _svc_revert(member: Organisation, actor: User | None) -> ProcessingActivity:
    entry = _entry(member)
    acts.update_activity(entry, None, {"name": "Nom local", "version": entry.version})
    return inheritance.revert_to_model(entry, actor, "name", entry.version)


def _svc_inherit(member: Organisation, actor: User | None) -> ProcessingActivity:
    syndicate = db.session.get(Organisation, member.syndicate_id)
    model = acts.create_activity(
        syndicate, None, {**MODEL, "application_ids": [_app_id(syndicate)]}, is_model=True
    )
    entry = db.session.scalar(
        select(ProcessingActivity)
        .where(ProcessingActivity.model_id == model.id)
        .execution_options(**UNSCOPED)
    )
    db.session.delete(entry)  # created by the system when the model was written: made again by actor
    db.session.flush()
    return inheritance.create_inherited(model, member, actor)


def _svc_reopen(member: Organisation, actor: User | None) -> ProcessingActivity:
    entry = _entry(member)
    acts.set_status(entry, None, ARCHIVED, entry.version)
    return inheritance.create_inherited(inheritance.model_of(entry), member, actor)


SERVICE_PATHS: dict[str, tuple[str, Callable[[Organisation, User | None], ProcessingActivity]]] = {
    "create": ("syndicate", _svc_create),
    "create_model": ("syndicate", _svc_create_model),
    "update": ("syndicate", _svc_update),
    "update_changing_nothing": ("syndicate", _svc_update_nothing),
    "set_status": ("syndicate", _svc_set_status),
    "archive": ("syndicate", _svc_archive),
    "restore": ("syndicate", _svc_restore),
    "dpia": ("syndicate", _svc_dpia),
    "model_accept": ("member", _svc_model_accept),
    "model_accept_nothing": ("member", _svc_model_decline),
    "revert_to_model": ("member", _svc_revert),
    "inherited_creation": ("member", _svc_inherit),
    "inherited_reopening": ("member", _svc_reopen),
}

_RULE = {"dpo": VALIDATED, "referent": IN_REVIEW, "system": VALIDATED}
SERVICE_EXPECTED: dict[str, dict[str, ActivityStatus]] = {
    **dict.fromkeys(SERVICE_PATHS, _RULE),
    # A referent cannot archive either: the validated fiche it touched goes back to review.
    "archive": {"dpo": ARCHIVED, "referent": IN_REVIEW, "system": ARCHIVED},
    # A new or reopened inherited entry is a draft, whoever triggers it.
    "inherited_creation": {"dpo": DRAFT, "referent": DRAFT, "system": DRAFT},
    "inherited_reopening": {"dpo": DRAFT, "referent": DRAFT, "system": DRAFT},
}
SERVICE_TABLE = [
    (path, actor, expected) for path, row in SERVICE_EXPECTED.items() for actor, expected in row.items()
]


@pytest.mark.parametrize(
    ("path", "actor", "expected"), SERVICE_TABLE, ids=[f"{p}-{a}" for p, a, _e in SERVICE_TABLE]
)
def test_status_after_a_write_through_the_services(
    app: Flask,
    world: World,
    people: dict[tuple[str, Role], User],
    path: str,
    actor: str,
    expected: ActivityStatus,
) -> None:
    where, write = SERVICE_PATHS[path]
    org = org_of(world, where)
    writer = {"dpo": people[(where, DPO)], "referent": people[(where, REFERENT)], "system": None}[actor]
    logged_in = people[(where, REFERENT)] if actor == "dpo" else people[(where, DPO)]
    with app.test_request_context(), acting_as(logged_in, org):
        org = db.session.merge(org)
        activity = write(org, db.session.merge(writer) if writer is not None else None)
        db.session.flush()
        db.session.refresh(activity)
        assert activity.status == expected
        if expected == VALIDATED:
            version = validated_version(db.session, activity.id)
            assert version.data == {
                **acts.snapshot_json(activity, acts.ALL_FIELDS),
                "application_ids": [a.id for a in activity.applications],
            }
        if expected == ARCHIVED:
            assert validated_version(db.session, activity.id) is None


def test_the_permission_is_read_in_the_fiche_organisation(
    app: Flask, world: World, people: dict[tuple[str, Role], User]
) -> None:
    """The syndicate's DPO holds no role in Ville A: there, its writes are not validations."""
    syndicate_dpo = people[("syndicate", DPO)]
    with app.test_request_context(), acting_as(syndicate_dpo, world.a.syndicate):
        dpo = db.session.merge(syndicate_dpo)
        assert acts.may_validate(dpo, world.a.syndicate.id)
        assert not acts.may_validate(dpo, world.a.member.id)
        assert not acts.may_validate(dpo, world.b.syndicate.id)
        assert not acts.may_validate(db.session.merge(people[("syndicate", REFERENT)]), world.a.syndicate.id)
        assert not acts.may_validate(None, world.a.syndicate.id)
        member = db.session.merge(world.a.member)
        entry = acts.create_activity(member, None, {**FICHE, "status": VALIDATED})
        acts.update_activity(
            entry, dpo, {"purpose": UNREVIEWED, "status": VALIDATED, "version": entry.version}
        )
        assert entry.status == IN_REVIEW


def test_a_revoked_dpo_no_longer_validates(
    app: Flask, world: World, people: dict[tuple[str, Role], User], session: Any
) -> None:
    from accounts.models import Membership  # noqa: PLC0415
    from core.db import utcnow  # noqa: PLC0415

    member_dpo = people[("member", DPO)]
    for membership in session.scalars(select(Membership).where(Membership.user_id == member_dpo.id)):
        membership.revoked_at = utcnow()
    session.flush()
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        member = db.session.merge(world.a.member)
        a = acts.create_activity(member, db.session.merge(member_dpo), {**FICHE, "status": VALIDATED})
        assert a.status == IN_REVIEW
        assert validated_version(db.session, a.id) is None


# --- the public register and the register PDF -----------------------------------------------------


def _status_post(client: Any, session: Any, activity_id: int, status: str) -> None:
    a = fiche(session, activity_id)
    response = client.post(
        f"/registers/activities/{activity_id}/status", data={"status": status, "version": a.version}
    )
    assert response.status_code == 302


def test_the_public_register_shows_what_the_dpo_validated_never_the_referent_s_text(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    activity_id = new_fiche(app, world, IN_REVIEW)
    with system(app, world) as org:
        acts.create_activity(org, None, {**FICHE, "name": "CANARY jamais validée", "status": DRAFT})
    dpo = login_as(world.a.users[DPO])
    _status_post(dpo, session, activity_id, "validated")
    settings = {"is_published": "y", "slug": "syndicat-a", "fields": ["name", "purpose"], "version": ""}
    assert dpo.post("/registers/publication", data=settings).status_code == 302
    public = app.test_client()
    page = public.get("/registers/public/syndicat-a").get_data(as_text=True)
    assert VALIDATED_TEXT in page
    assert "CANARY" not in page  # the draft is absent

    referent = login_as(world.a.users[REFERENT])
    a = fiche(session, activity_id)
    edited = referent.post(
        f"/registers/activities/{activity_id}/edit",
        data=form_of(a, purpose=UNREVIEWED, name="CANARY nom changé par le référent"),
    )
    assert edited.status_code == 302
    assert fiche(session, activity_id).status == IN_REVIEW
    page = public.get("/registers/public/syndicat-a").get_data(as_text=True)
    assert VALIDATED_TEXT in page
    assert FICHE["name"] in page  # the validated name, not the new one
    assert "CANARY" not in page
    assert "1 à 1 sur 1" in page
    with app.test_request_context(), acting_as(fresh(world.a.users[DPO]), world.a.syndicate):
        assert pub.published_count(db.session.merge(world.a.syndicate)) == 1

    _status_post(dpo, session, activity_id, "validated")  # the DPO reviews and validates
    page = public.get("/registers/public/syndicat-a").get_data(as_text=True)
    assert UNREVIEWED in page
    assert VALIDATED_TEXT not in page

    _status_post(dpo, session, activity_id, "archived")  # archived: gone from the public register
    assert validated_version(session, activity_id) is None
    page = public.get("/registers/public/syndicat-a").get_data(as_text=True)
    assert UNREVIEWED not in page
    assert "1 à" not in page


def test_the_register_pdf_prints_the_validated_version_and_marks_the_rest(
    app: Flask, world: World, login_as: Any, session: Any
) -> None:
    activity_id = new_fiche(app, world, VALIDATED)
    with system(app, world) as org:
        draft = acts.create_activity(
            org, None, {**FICHE, "name": "Fiche en cours de rédaction", "status": DRAFT}
        )
        still = acts.create_activity(
            org, None, {**FICHE, "name": "Fiche validée inchangée", "status": VALIDATED}
        )
        draft_id, still_id = draft.id, still.id
    referent = login_as(world.a.users[REFERENT])
    a = fiche(session, activity_id)
    assert (
        referent.post(f"/registers/activities/{a.id}/edit", data=form_of(a, purpose=UNREVIEWED)).status_code
        == 302
    )
    with app.test_request_context(), acting_as(fresh(world.a.users[REFERENT]), world.a.syndicate):
        doc = registers.register_data(db.session.merge(world.a.syndicate), include_drafts=True)
        docs = {d.id: d for d in doc.activities}
        pending = docs[activity_id]
        assert pending.purpose == VALIDATED_TEXT
        assert pending.status == "Validée"
        assert pending.pending_status == "En relecture"
        assert pending.validated_at is not None
        assert docs[draft_id].status == "Brouillon"
        assert not docs[draft_id].is_validated
        assert docs[still_id].is_validated
        assert docs[still_id].pending_status is None
        text_, _pages = pdf_text(pdf_registers.register_pdf(doc))
        single, _pages = pdf_text(
            pdf_registers.activity_pdf(
                registers.activity_data(db.session.get(ProcessingActivity, activity_id))
            )
        )
    assert VALIDATED_TEXT in text_
    assert UNREVIEWED not in text_
    assert "Dernière version : Validée le" in text_
    assert "statut actuel : En relecture" in text_
    assert "Non validée par le DPO" in text_  # the draft, marked as such
    assert "Validée le" in text_  # the fiche validated and unchanged (by the system: nobody named)
    assert VALIDATED_TEXT in single
    assert UNREVIEWED not in single


def _count_queries(run: Callable[[], Any]) -> int:
    statements: list[str] = []

    def listener(*args: Any) -> None:
        statements.append(args[2])

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def test_validated_versions_are_read_in_batches(app: Flask, world: World, session: Any) -> None:
    """Public page and register PDF: the same number of queries for 2 or 6 fiches changed since
    their validation (no query per fiche)."""

    def add_pending(org: Organisation, referent: User, n: int) -> None:
        for i in range(n):
            a = acts.create_activity(
                org,
                None,
                {
                    **FICHE,
                    "name": f"Fiche {i}",
                    "status": VALIDATED,
                    "application_ids": [world.a.application.id],
                },
            )
            acts.update_activity(a, referent, {"purpose": f"{UNREVIEWED} {i}", "version": a.version})

    with app.test_request_context(), acting_as(world.a.users[DPO], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        referent = db.session.merge(world.a.users[REFERENT])
        pub.save_publication(
            org, None, {"is_published": True, "slug": "s-a", "fields": list(pub.PUBLIC_FIELDS)}
        )

        def measure() -> tuple[int, int]:
            db.session.flush()
            db.session.expire_all()
            register = pub.public_register("s-a")
            assert register is not None
            return (
                _count_queries(lambda: pub.public_page(register, 1, 50)),
                _count_queries(lambda: registers.register_data(org)),
            )

        add_pending(org, referent, 2)
        before = measure()
        add_pending(org, referent, 4)
        after = measure()
        register = pub.public_register("s-a")
        page = pub.public_page(register, 1, 50)
        assert page.total == 6
        assert all(
            UNREVIEWED not in " ".join(v for r in fiche_.rows for v in r.values) for fiche_ in page.items
        )
        doc = registers.register_data(org)
        assert {a.pending_status for a in doc.activities} == {"En relecture"}
        assert all(a.purpose == VALIDATED_TEXT for a in doc.activities)
    assert after == before


# --- the migration --------------------------------------------------------------------------------


@pytest.mark.no_isolation
def test_the_migration_points_validated_fiches_at_their_latest_version_and_goes_back(app: Flask) -> None:
    try:
        with app.app_context():
            alembic.upgrade()
            syndicate = f.SyndicateFactory(name="Syndicat migration")
            with app.test_request_context():
                validated = acts.create_activity(syndicate, None, {**FICHE, "status": VALIDATED})
                acts.update_activity(
                    validated, None, {"purpose": "Deuxième texte validé", "version": validated.version}
                )
                draft = acts.create_activity(syndicate, None, {**FICHE, "name": "Brouillon", "status": DRAFT})
            ids = (validated.id, draft.id)
            db.session.commit()
            db.session.close()
        with app.app_context():
            alembic.downgrade("20261124d")
        with app.app_context():
            assert "validated_versions" not in inspect(db.engine).get_table_names()
            alembic.upgrade()
        with app.app_context():
            rows = db.session.execute(text("SELECT activity_id, version_id FROM validated_versions")).all()
            latest_version = db.session.scalar(
                text("SELECT max(id) FROM activity_versions WHERE activity_id = :a"), {"a": ids[0]}
            )
            assert [tuple(r) for r in rows] == [(ids[0], latest_version)]  # the draft has none
            db.session.close()
    finally:
        with app.app_context():
            db.session.close()
            reset_database()
