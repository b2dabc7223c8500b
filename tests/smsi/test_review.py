"""The weekly SMSI review: the agenda of a week (incidents detected, changed, closed, still open;
actions due, overdue, checked; breaches pending), the minutes (rules, conflict), the pages."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import delete, inspect, select, text

from core.audit.models import AuditEvent, AuditPayload
from core.cli import run_demo_loaders
from core.extensions import alembic, db
from core.forms import FieldError
from core.security import Role
from reports.models import GeneratedReport
from smsi.models import Action, WeeklyReview
from smsi.services import actions, incidents
from smsi.services import review as svc
from tests.conftest import World, acting_as

UTC = dt.UTC


def _incident(org: Any, title: str, detected: dt.datetime, **changes: Any) -> Any:
    data = {
        "title": title,
        "detected_at": detected,
        "category": "availability",
        "severity": "2",
        "status": "new",
    }
    return incidents.create_incident(org, None, {**data, **changes})


def test_the_agenda_of_a_week(world: World, app: Flask) -> None:
    today = svc.local_today()
    monday = svc.monday_of(today)
    start, _end = svc.week_bounds(monday)
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        this_week = _incident(org, "Cette semaine", start + dt.timedelta(minutes=5))
        older = _incident(org, "Ancien", start - dt.timedelta(days=20))
        closed_before = _incident(
            org,
            "Clos avant",
            start - dt.timedelta(days=30),
            status="closed",
            root_cause="Cause",
            lessons_learned="Leçon",
            closed_at=start - dt.timedelta(days=10),
        )
        owner = world.a.users[Role.RSSI].id
        base = {
            "origin": "other",
            "origin_detail": "Revue",
            "type": "corrective",
            "owner_id": owner,
            "status": "planned",
        }
        due = actions.create_action(
            org, None, {**base, "title": "À échéance", "due_on": monday + dt.timedelta(days=6)}
        )
        later = actions.create_action(
            org, None, {**base, "title": "Plus tard", "due_on": monday + dt.timedelta(days=40)}
        )
        late = actions.create_action(
            org, None, {**base, "title": "En retard", "due_on": monday + dt.timedelta(days=30)}
        )
        late.due_on = monday - dt.timedelta(days=3)  # written straight: the form refuses a past due date
        db.session.flush()
        agenda = svc.agenda(org, monday)
        assert [i.id for i in agenda.opened] == [this_week.id]
        assert closed_before.id not in {i.id for i in agenda.closed + agenda.still_open}
        assert {this_week.id, older.id} <= {i.id for i in agenda.still_open}
        assert [a.id for a in agenda.actions_due] == [due.id]
        assert [a.id for a in agenda.actions_overdue] == [late.id]
        assert later.id not in {a.id for a in agenda.actions_due + agenda.actions_overdue}
        # Last week's agenda: this week's incident is not there.
        assert this_week.id not in {i.id for i in svc.agenda(org, monday - dt.timedelta(days=7)).opened}


def test_minutes_rules_and_rewrite(world: World, app: Flask) -> None:
    monday = svc.monday_of(svc.local_today())
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        with pytest.raises(FieldError) as exc:
            svc.save_minutes(org, None, monday, {"held_on": monday - dt.timedelta(days=1), "minutes": ""})
        assert {e.field for e in getattr(exc.value, "errors", [exc.value])} == {"held_on", "minutes"}
        saved = svc.save_minutes(org, None, monday, {"held_on": monday, "minutes": "Point sur les incidents"})
        again = svc.save_minutes(
            org, None, monday + dt.timedelta(days=2), {"minutes": "Complété", "version": saved.version}
        )
        assert again.id == saved.id  # one review a week, whatever day is given
        assert again.minutes == "Complété"


def test_pages_and_a_stale_form(world: World, app: Flask, login_as: Any) -> None:
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    page = rssi.get("/smsi/review/?week=not-a-date")
    assert page.status_code == 200
    monday = svc.monday_of(svc.local_today()).isoformat()
    first = rssi.post("/smsi/review/minutes", data={"week": monday, "minutes": "Première version"})
    assert first.status_code == 302
    stale = rssi.post("/smsi/review/minutes", data={"week": monday, "minutes": "Ma version", "version": "0"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Ma version" in html
    assert "Première version" in html
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert "Première version" in reader.get(f"/smsi/review/?week={monday}").get_data(as_text=True)
    assert reader.post("/smsi/review/minutes", data={"week": monday, "minutes": "x"}).status_code == 403
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert "Première version" not in other.get(f"/smsi/review/?week={monday}").get_data(as_text=True)
    # A decision becomes an action: the form comes with its origin.
    new = rssi.get("/smsi/actions/new?origin=management_review&origin_detail=Revue+du+1er").get_data(
        as_text=True
    )
    assert 'value="Revue du 1er"' in new


# --- the review's PDF ------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


def test_review_pdf_prints_the_agenda_and_the_minutes(
    world: World, app: Flask, login_as: Any, session: Any, tmp_path: Any
) -> None:
    today = svc.local_today()
    monday = svc.monday_of(today)
    start, _end = svc.week_bounds(monday)
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        _incident(org, "Serveur de messagerie inondé", start + dt.timedelta(minutes=5), severity="3")
        actions.create_action(
            org,
            None,
            {
                "title": "Déplacer la baie",
                "origin": "other",
                "origin_detail": "Revue",
                "type": "corrective",
                "owner_id": world.a.users[Role.RSSI].id,
                "status": "planned",
                "due_on": monday + dt.timedelta(days=6),
            },
        )
        db.session.commit()
    with app.test_request_context(), acting_as(world.b.users[Role.RSSI], world.b.syndicate):
        _incident(
            db.session.merge(world.b.syndicate),
            "Incident de l'autre syndicat",
            start + dt.timedelta(minutes=9),
        )
        db.session.commit()

    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    # No minutes yet: the agenda, and lines to fill in by hand.
    assert rssi.post("/smsi/review/pdf", data={"week": monday.isoformat()}).status_code == 302
    report = session.scalar(select(GeneratedReport).where(GeneratedReport.kind == "smsi_review"))
    assert report is not None
    assert report.organisation_id == world.a.syndicate.id
    text = _pdf_text(report.content)
    assert "Revue hebdomadaire du SMSI" in text
    assert "Serveur de messagerie inondé" in text
    assert "Déplacer la baie" in text
    assert "Incident de l'autre syndicat" not in text
    assert "à compléter à la main" in text
    assert re.search(r"page 1 / \d+", text)
    journal = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "GeneratedReport", AuditEvent.object_id == report.id
        )
    ).all()
    assert journal == ["report.generate"]

    # With minutes: they are printed instead of the blank lines.
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        svc.save_minutes(
            db.session.merge(world.a.syndicate),
            None,
            monday,
            {
                "held_on": today,
                "attendees": "RSSI, DSI",
                "minutes": "Point sur l'inondation",
                "decisions": "",
            },
        )
        db.session.commit()
    assert rssi.post("/smsi/review/pdf", data={"week": monday.isoformat()}).status_code == 302
    latest = session.scalars(
        select(GeneratedReport)
        .where(GeneratedReport.kind == "smsi_review")
        .order_by(GeneratedReport.id.desc())
    ).first()
    text = _pdf_text(latest.content)
    assert "Point sur l'inondation" in text
    assert "RSSI, DSI" in text
    assert "à compléter à la main" not in text

    # A reader may print it; another organisation's reader gets its own week, not this one.
    other = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert other.post("/smsi/review/pdf", data={"week": monday.isoformat()}).status_code == 302
    theirs = session.scalars(
        select(GeneratedReport)
        .where(GeneratedReport.kind == "smsi_review")
        .order_by(GeneratedReport.id.desc())
    ).first()
    assert theirs.organisation_id == world.b.syndicate.id
    assert "Serveur de messagerie inondé" not in _pdf_text(theirs.content)
    assert "Incident de l'autre syndicat" in _pdf_text(theirs.content)
    assert rssi.get(f"/reports/{theirs.id}").status_code == 404

    if shutil.which("qpdf") is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "review.pdf"
    path.write_bytes(latest.content)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    assert result.returncode == 0, result.stdout + result.stderr


def test_long_lists_are_cut_with_their_totals(
    world: World, app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday = svc.monday_of(svc.local_today())
    start, _end = svc.week_bounds(monday)
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        for n in range(3):
            _incident(org, f"Alerte {n}", start + dt.timedelta(minutes=5 + n))
        db.session.commit()
        cut = svc.agenda(org, monday, limit=2)
        assert len(cut.opened) == 2
        assert cut.totals["opened"] == 3
        assert cut.more("opened") == 1
        assert cut.totals["still_open"] == 3
        assert cut.more("closed") == 0
        whole = svc.agenda(org, monday)
        assert [i.id for i in whole.opened[:2]] == [i.id for i in cut.opened]
    monkeypatch.setattr(svc, "PAGE_LIMIT", 2)
    page = login_as(world.a.users[Role.RSSI], world.a.syndicate).get("/smsi/review/").get_data(as_text=True)
    assert "et 1 autre : la liste complète est dans le PDF de la revue." in page


# --- decisions that become actions -----------------------------------------------------------------


def _action_form(world: World, **changes: Any) -> dict[str, str]:
    due = svc.local_today() + dt.timedelta(days=20)
    form = {
        "title": "Former les agents au hameçonnage",
        "origin": "management_review",
        "origin_detail": "Revue hebdomadaire",
        "type": "preventive",
        "priority": "normal",
        "owner_id": str(world.a.users[Role.RSSI].id),
        "due_on": due.isoformat(),
        "status": "planned",
    }
    return {**form, **changes}


def _new_action_link(html: str) -> str:
    found = re.search(r'href="(/smsi/actions/new\?[^"]+)">Nouvelle action</a>', html)
    assert found is not None, "the review page offers no link to a new action"
    return found.group(1).replace("&amp;", "&")


def test_a_decision_becomes_an_action_linked_both_ways(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    monday = svc.monday_of(svc.local_today())
    week = monday.isoformat()
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    # No minutes yet: nothing to link an action to, the page says so.
    empty = rssi.get(f"/smsi/review/?week={week}").get_data(as_text=True)
    assert "Enregistrez le compte rendu" in empty
    assert "Actions décidées" not in empty
    assert (
        rssi.post(
            "/smsi/review/minutes", data={"week": week, "minutes": "Point", "decisions": "Former les agents"}
        ).status_code
        == 302
    )
    review = session.scalars(select(WeeklyReview)).one()
    page = rssi.get(f"/smsi/review/?week={week}").get_data(as_text=True)
    assert "Aucune action créée depuis cette revue." in page
    link = _new_action_link(page)
    assert f"review_id={review.id}" in link
    assert "origin=management_review" in link
    # The form carries the review, says so, and the action keeps it.
    form_page = rssi.get(link).get_data(as_text=True)
    assert f'name="review_id" type="hidden" value="{review.id}"' in form_page
    assert "Décision de la revue hebdomadaire du" in form_page
    created = rssi.post("/smsi/actions/new", data=_action_form(world, review_id=str(review.id)))
    assert created.status_code == 302, created.get_data(as_text=True)[:1500]
    action = session.scalars(select(Action)).one()
    assert action.review_id == review.id
    # The action's page leads back to the review; the review lists the action.
    detail = rssi.get(created.headers["Location"]).get_data(as_text=True)
    assert "Décidée en revue hebdomadaire du" in detail
    assert f'href="/smsi/review/?week={week}"' in detail
    page = rssi.get(f"/smsi/review/?week={week}").get_data(as_text=True)
    decided = page.split('id="h-decided"', 1)[1]
    assert f'href="/smsi/actions/{action.id}">{action.reference}</a>' in decided
    assert "Former les agents au hameçonnage" in decided
    assert world.a.users[Role.RSSI].full_name in decided
    assert "planifiée" in decided
    # Another week's review does not list it; a reader sees it.
    assert action.reference not in rssi.get(
        f"/smsi/review/?week={(monday - dt.timedelta(days=7)).isoformat()}"
    ).get_data(as_text=True)
    reader = login_as(world.a.users[Role.READER], world.a.syndicate)
    assert (
        action.reference
        in reader.get(f"/smsi/review/?week={week}").get_data(as_text=True).split('id="h-decided"', 1)[1]
    )
    # The journal records the link.
    payload = session.scalars(
        select(AuditPayload.data)
        .join(AuditEvent, AuditEvent.id == AuditPayload.event_id)
        .where(AuditEvent.object_type == "Action", AuditEvent.action == "action.create")
    ).one()
    assert payload["changes"]["review_id"] == [None, review.id]
    # The review's PDF prints the decided actions after the minutes.
    assert rssi.post("/smsi/review/pdf", data={"week": week}).status_code == 302
    report = session.scalars(select(GeneratedReport).order_by(GeneratedReport.id.desc())).first()
    text = _pdf_text(report.content)
    assert "Actions décidées" in text
    assert "Former les agents au hameçonnage" in text.split("Actions décidées", 1)[1]
    # Editing the action keeps the link; taking another origin drops it.
    edit_page = rssi.get(f"/smsi/actions/{action.id}/edit").get_data(as_text=True)
    assert f'name="review_id" type="hidden" value="{review.id}"' in edit_page
    kept = rssi.post(
        f"/smsi/actions/{action.id}/edit",
        data=_action_form(world, title="Former tous les agents", review_id=str(review.id), version="1"),
    )
    assert kept.status_code == 302
    session.expire_all()
    assert session.get(Action, action.id).review_id == review.id
    moved = rssi.post(
        f"/smsi/actions/{action.id}/edit",
        data=_action_form(world, origin="other", review_id=str(review.id), version="2"),
    )
    assert moved.status_code == 302
    session.expire_all()
    assert session.get(Action, action.id).review_id is None


def test_another_organisations_review_is_never_linked(
    world: World, app: Flask, login_as: Any, session: Any
) -> None:
    monday = svc.monday_of(svc.local_today())
    theirs = login_as(world.b.users[Role.RSSI], world.b.syndicate)
    assert (
        theirs.post(
            "/smsi/review/minutes", data={"week": monday.isoformat(), "minutes": "Leur revue"}
        ).status_code
        == 302
    )
    their_review = session.scalars(select(WeeklyReview)).one()
    assert their_review.organisation_id == world.b.syndicate.id
    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate)
    # A link carrying their review's id: the form does not take it.
    form_page = rssi.get(
        f"/smsi/actions/new?origin=management_review&origin_detail=Revue&review_id={their_review.id}"
    ).get_data(as_text=True)
    assert 'name="review_id" type="hidden" value=""' in form_page
    assert "Décision de la revue hebdomadaire du" not in form_page
    # A forged post: refused, with a message, nothing recorded.
    forged = rssi.post("/smsi/actions/new", data=_action_form(world, review_id=str(their_review.id)))
    assert forged.status_code == 422
    assert "Revue hebdomadaire inconnue dans cette organisation." in forged.get_data(as_text=True)
    assert session.scalars(select(Action)).all() == []
    # Nor through the service (the API's way), nor with junk.
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        data = {**_action_form(world), "due_on": svc.local_today() + dt.timedelta(days=5)}
        data["owner_id"] = world.a.users[Role.RSSI].id
        with pytest.raises(FieldError) as exc:
            actions.create_action(org, None, {**data, "review_id": their_review.id})
        assert {e.field for e in getattr(exc.value, "errors", [exc.value])} == {"review_id"}
        junk = actions.create_action(org, None, {**data, "review_id": "9" * 40})
        assert junk.review_id is None
    assert (
        rssi.get(f"/smsi/review/?week={monday.isoformat()}").get_data(as_text=True).count("Leur revue") == 0
    )


def test_a_deleted_review_leaves_its_actions_unlinked(world: World, app: Flask) -> None:
    monday = svc.monday_of(svc.local_today())
    with app.test_request_context(), acting_as(world.a.users[Role.RSSI], world.a.syndicate):
        org = db.session.merge(world.a.syndicate)
        review = svc.save_minutes(org, None, monday, {"minutes": "Point"})
        data = {**_action_form(world), "due_on": svc.local_today() + dt.timedelta(days=5)}
        data["owner_id"] = world.a.users[Role.RSSI].id
        action = actions.create_action(org, None, {**data, "review_id": review.id})
        assert svc.agenda(org, monday).decided[0].id == action.id
        db.session.execute(delete(WeeklyReview).where(WeeklyReview.id == review.id))  # ON DELETE SET NULL
        db.session.expire_all()
        assert db.session.get(Action, action.id).review_id is None


@pytest.mark.no_isolation
def test_the_review_link_migration_goes_down_and_up_with_data(app: Flask) -> None:
    """Down and up again with the demonstration's rows, the tables that reference the actions (risks,
    parcours, audit findings) included: on SQLite the table is altered in place, never copied and
    dropped while referenced (no row lost, no reference broken); the models still match."""

    def inspected() -> Any:
        return inspect(db.engine)

    def linked_rows() -> tuple[int, ...]:
        tables = ("smsi_actions", "risk_actions", "parcours_measures", "audit_finding_actions")
        return tuple(db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables)  # noqa: S608

    def broken_references() -> list[Any]:
        if db.engine.dialect.name != "sqlite":
            return []  # PostgreSQL checks every foreign key as it goes
        return list(db.session.execute(text("PRAGMA foreign_key_check")))

    with app.app_context():
        alembic.upgrade()
        run_demo_loaders()
        db.session.commit()
        before = linked_rows()
        assert before[0] > 0
        db.session.close()
    try:
        with app.app_context():
            columns = {c["name"]: c for c in inspected().get_columns("smsi_actions")}
            assert columns["review_id"]["nullable"] is True
            keys = [
                k
                for k in inspected().get_foreign_keys("smsi_actions")
                if k["constrained_columns"] == ["review_id"]
            ]
            assert [(k["name"], k["referred_table"], k["options"].get("ondelete")) for k in keys] == [
                ("fk_smsi_actions_review_id_smsi_weekly_reviews", "smsi_weekly_reviews", "SET NULL")
            ]
            assert "ix_smsi_actions_review_id" in {i["name"] for i in inspected().get_indexes("smsi_actions")}
        with app.app_context():
            alembic.downgrade("20261204au")
        with app.app_context():
            assert "review_id" not in {c["name"] for c in inspected().get_columns("smsi_actions")}
            assert "ix_smsi_actions_review_id" not in {
                i["name"] for i in inspected().get_indexes("smsi_actions")
            }
            assert linked_rows() == before
            assert broken_references() == []
            db.session.close()
        with app.app_context():
            alembic.upgrade()
        with app.app_context():
            assert "review_id" in {c["name"] for c in inspected().get_columns("smsi_actions")}
            assert linked_rows() == before
            assert broken_references() == []
            assert alembic.compare_metadata() == []
            db.session.close()
    finally:  # the next tests start from an empty database (the migrations take the rows away)
        with app.app_context():
            alembic.downgrade("base")
        with app.app_context():
            alembic.upgrade()
