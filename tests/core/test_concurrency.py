"""Two people saving the same record: the second never overwrites the first silently."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from core.concurrency import EditConflict, check_version, conflict_rows, flush_or_conflict
from core.extensions import db
from tests import factories as f


def test_stale_form_version_is_a_conflict(app_ctx: Flask) -> None:
    org = f.OrganisationFactory()
    db.session.flush()
    check_version(org, org.version)  # the version the form was loaded with: fine
    for stale in (org.version - 1, None, "junk"):
        with pytest.raises(EditConflict):
            check_version(org, stale)


def test_race_between_two_flushes_is_a_conflict(app_ctx: Flask) -> None:
    """Both requests passed check_version; the database's version check catches the second.

    The other request's save is played as the SQL it sends (one connection cannot interleave two
    sessions' savepoints); this object still holds the version it loaded.
    """
    org = f.OrganisationFactory(name="Ville course")
    db.session.flush()
    db.session.execute(
        text("UPDATE organisations SET city = 'Saisie de l''autre', version = version + 1 WHERE id = :id"),
        {"id": org.id},
    )
    org.city = "Ma saisie"
    with pytest.raises(EditConflict) as caught:
        flush_or_conflict(org)
    assert caught.value.obj is org
    db.session.rollback()


def test_conflict_rows_show_both_values_with_choice_labels(app_ctx: Flask) -> None:
    from accounts.forms.organisations import OrganisationForm  # noqa: PLC0415

    org = f.OrganisationFactory(name="Stockée", city="Ivry")
    db.session.flush()
    form = OrganisationForm(data={"name": "Tapée", "city": "Ivry", "kind": "ccas", "relation": "member"})
    rows = {row.label: row for row in conflict_rows(form, org)}
    assert rows["Nom"].mine == "Tapée"
    assert rows["Nom"].theirs == "Stockée"
    assert rows["Nom"].differs
    assert not rows["Commune"].differs
    assert rows["Type"].mine == "CCAS"  # the label people read, not the stored value
    assert rows["Type"].theirs == "Ville / commune"


def test_check_version_reads_the_committed_version_so_a_save_in_between_is_a_conflict(app_ctx: Flask) -> None:
    """The form and the object loaded by this request agree, but another request committed since
    the object was loaded: the check (which reads the row, locked on PostgreSQL) says conflict at
    once, before anything is written — no StaleDataError from a later autoflush (a 500)."""
    org = f.OrganisationFactory(name="Ville chargée")
    db.session.flush()
    loaded = org.version
    db.session.execute(
        text("UPDATE organisations SET city = 'Saisie de l''autre', version = version + 1 WHERE id = :id"),
        {"id": org.id},
    )
    assert org.version == loaded  # this request's object still holds what it loaded
    with pytest.raises(EditConflict):
        check_version(org, loaded)
    db.session.rollback()


def test_check_version_does_not_flush_what_the_service_changed_before(app_ctx: Flask) -> None:
    org = f.OrganisationFactory(name="Avant")
    db.session.flush()
    org.name = "Après"
    check_version(org, org.version)  # reads the version without writing the change
    assert org in db.session.dirty
