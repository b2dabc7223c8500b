"""The fiche form as a DPO fills it: applications picked from a filterable list of checkboxes, recipient
and transfer rows added without saving (by script, or by an "add a row" button without one), a summary
of errors that takes the focus after a failed save; and on the fiche, a DPIA box that never says "no
criterion" beside a criterion, one date format, the legal basis worded as in the register list."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import func, select

from core.audit import AuditEvent
from core.security import Role
from registers import reference as ref
from registers.models import ProcessingActivity
from tests import factories as f
from tests.conftest import World
from tests.registers.test_activity_views import blank_form, create_fiche, fiche_of

PUBLIC_TASK = "Mission d'intérêt public (Art. 6(1)(e))"


def body(response: Any) -> str:
    return response.get_data(as_text=True)


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def input_tag(page: str, name: str) -> str | None:
    found = re.search(rf'<(?:input|select)[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    return found.group(0) if found else None


def referent(world: World, login_as: Any) -> Any:
    return login_as(world.a.member_referent, world.a.member)


# --- applications -------------------------------------------------------------------------------


def test_applications_are_checkboxes_with_a_filter_for_the_script(
    world: World, login_as: Any, session: Any
) -> None:
    extra = f.ApplicationFactory(syndicate=world.a.syndicate, name="MÉLODIE")
    f.SubscriptionFactory(application=extra, member=world.a.member)
    session.flush()
    page = body(referent(world, login_as).get("/registers/activities/new"))
    boxes = re.findall(r'<input class="form-check-input" type="checkbox" name="application_ids"[^>]*>', page)
    assert len(boxes) == 2  # one per application the member subscribes to
    assert f'value="{extra.id}"' in " ".join(boxes)
    assert "<select" not in page.split('id="application-list"')[1].split("</ul>")[0]  # no Ctrl+click list
    # The filter is for the script (hidden without it), which the page loads with its nonce.
    assert re.search(r'<input type="search"[^>]*id="application-filter"[^>]*\shidden>', page)
    assert re.search(r'<script src="/static/js/fiche_form\.js" nonce="[^"]+" defer></script>', page)
    assert "Applications cochées : 0." in page


def test_ticked_applications_are_saved_and_shown_ticked_again(
    world: World, login_as: Any, session: Any
) -> None:
    client = referent(world, login_as)
    assert create_fiche(client, application_ids=[world.a.application.id]).status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    assert [a.id for a in fiche.applications] == [world.a.application.id]
    page = body(client.get(f"/registers/activities/{fiche.id}/edit"))
    tag = re.search(
        rf'<input[^>]*name="application_ids"[^>]*value="{world.a.application.id}"[^>]*>', page
    ).group(0)
    assert " checked" in tag
    assert "Applications cochées : 1." in page


# --- rows added without saving ------------------------------------------------------------------


def test_the_page_carries_a_blank_row_of_each_list_for_the_script(world: World, login_as: Any) -> None:
    page = body(referent(world, login_as).get("/registers/activities/new"))
    recipients = re.search(r'<template id="recipients-template">(.*?)</template>', page, re.S).group(1)
    transfers = re.search(r'<template id="transfers-template">(.*?)</template>', page, re.S).group(1)
    assert 'name="recipients-__index__-type"' in recipients
    assert 'aria-label="Destinataire, ligne __number__"' in recipients
    assert "Destinataires internes (services de l&#39;organisme)" in recipients  # the row's choices too
    assert 'name="transfers-__index__-country"' in transfers
    for name in ("recipients", "transfers"):
        assert re.search(
            rf'<button type="submit" name="add_row" value="{name}" formnovalidate[^>]*data-add-row="{name}"',
            page,
        )


def test_add_a_row_without_script_keeps_what_was_typed_and_saves_nothing(
    world: World, login_as: Any, session: Any
) -> None:
    client = referent(world, login_as)
    before = count(session, ProcessingActivity), count(session, AuditEvent)
    data = blank_form() | {
        "name": "Cantine",
        "purpose": "Réservation des repas",
        "recipients-0-name": "Cuisine",
    }
    once = client.post("/registers/activities/new", data=data | {"add_row": "recipients"})
    assert once.status_code == 200
    page = body(once)
    assert (count(session, ProcessingActivity), count(session, AuditEvent)) == before
    assert 'value="Cantine"' in input_tag(page, "name")
    assert 'value="Cuisine"' in input_tag(page, "recipients-0-name")
    new_row = input_tag(page, "recipients-3-type")
    assert new_row is not None
    assert "autofocus" in new_row  # the new row, with the focus
    assert input_tag(page, "recipients-4-type") is None
    assert 'id="error-summary"' not in page  # not a failed save: no errors shown
    twice = client.post("/registers/activities/new", data=data | {"add_row": "transfers"})
    assert input_tag(body(twice), "transfers-0-recipient") is not None
    assert "autofocus" in input_tag(body(twice), "transfers-0-recipient")


def test_rows_added_by_the_script_are_saved(world: World, login_as: Any, session: Any) -> None:
    client = referent(world, login_as)
    response = create_fiche(
        client,
        **{
            "recipients-7-type": "organisme_externe",  # an index the script gave: any number goes
            "recipients-7-name": "Caisse d'allocations familiales",
            "transfers-3-recipient": "Éditeur SaaS",
            "transfers-3-country": "Suisse",
            "transfers-3-safeguard": ref.transfer_safeguards()[0].id,
        },
    )
    assert response.status_code == 302
    fiche = fiche_of(session, world.a.member.id)
    assert [r["name"] for r in fiche.recipients] == ["Service état civil", "Caisse d'allocations familiales"]
    assert [t["country"] for t in fiche.transfers] == ["Suisse"]


def test_adding_a_row_to_a_stored_fiche_changes_nothing(world: World, login_as: Any, session: Any) -> None:
    client = referent(world, login_as)
    create_fiche(client)
    fiche = fiche_of(session, world.a.member.id)
    version = fiche.version
    data = blank_form() | {"name": "Nouveau nom", "version": version, "add_row": "transfers"}
    response = client.post(f"/registers/activities/{fiche.id}/edit", data=data)
    assert response.status_code == 200
    assert 'value="Nouveau nom"' in input_tag(body(response), "name")
    fiche = fiche_of(session, world.a.member.id)
    assert (fiche.version, fiche.name) == (version, "Gestion de l'état civil")


def test_an_unknown_list_is_not_a_row_to_add(world: World, login_as: Any, session: Any) -> None:
    client = referent(world, login_as)
    response = client.post("/registers/activities/new", data=blank_form() | {"add_row": "categories"})
    assert response.status_code == 422  # an ordinary save, refused for the missing name
    assert count(session, ProcessingActivity) == 0


# --- errors -------------------------------------------------------------------------------------


def test_a_failed_save_lists_every_error_with_a_link_to_its_field(world: World, login_as: Any) -> None:
    response = create_fiche(referent(world, login_as), name="", **{"recipients-1-name": "Trésorerie"})
    assert response.status_code == 422
    page = body(response)
    summary = re.search(
        r'<div class="alert alert-danger" id="error-summary" tabindex="-1"[^>]*>(.*?)</div>', page, re.S
    )
    assert summary is not None
    text = html.unescape(summary.group(1))
    assert "La fiche n'est pas enregistrée : 2 erreurs à corriger." in text
    assert '<a href="#name" class="alert-link">Nom du traitement : Ce champ est requis.</a>' in text
    assert (
        '<a href="#recipients-1-type" class="alert-link">Destinataires, ligne 2 — Type : '
        "Choisissez le type de destinataire.</a>"
    ) in text
    assert 'id="name"' in page
    assert 'id="recipients-1-type"' in page


def test_the_summary_reads_in_english(world: World, login_as: Any) -> None:
    client = referent(world, login_as)
    client.post("/language", data={"lang": "en"})
    page = html.unescape(body(create_fiche(client, name="")))
    assert "The record is not saved: 1 error to correct." in page


# --- the fiche ----------------------------------------------------------------------------------


def dpia_box(page: str) -> str:
    box = re.search(r'<div class="border rounded p-3 h-100" id="dpia">(.*?)</div></div>', page, re.S)
    assert box is not None
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", box.group(1))))


def test_the_dpia_box_never_says_no_criterion_beside_a_criterion(
    world: World, login_as: Any, session: Any
) -> None:
    client = referent(world, login_as)
    create_fiche(client, sensitive_data=["sante"], data_subjects=["usagers"])  # suggests "données sensibles"
    fiche = fiche_of(session, world.a.member.id)
    suggested = dpia_box(body(client.get(f"/registers/activities/{fiche.id}")))
    assert "Aucun critère" not in suggested
    assert "le contenu de la fiche suggère 1 critère à examiner" in suggested
    assert "Critères à examiner : Données sensibles" in suggested

    fiche.dpia_criteria = ["grande_echelle"]
    session.flush()
    one = dpia_box(body(client.get(f"/registers/activities/{fiche.id}")))
    assert "Aucun critère" not in one
    assert "Critères remplis : " in one

    plain = f.ProcessingActivityFactory(organisation=world.a.member, reference="TRT-900")
    session.flush()
    none = dpia_box(body(client.get(f"/registers/activities/{plain.id}")))
    assert "Aucun critère du G29 n'est rempli" in none
    assert "Critères" not in none.replace("Aucun critère", "")


def test_the_fiche_shows_one_date_format(world: World, login_as: Any, session: Any) -> None:
    client = referent(world, login_as)
    create_fiche(client, next_review_on="2027-03-15")
    fiche = fiche_of(session, world.a.member.id)
    page = html.unescape(body(client.get(f"/registers/activities/{fiche.id}")))
    assert "15 mars 2027" in page
    assert re.search(r"modifiée le \d{1,2} \w+\.? \d{4} à \d{2}:\d{2}", page)
    assert not re.search(r"\b\d{2}/\d{2}/\d{4}\b", page)  # no short numeric date beside the long ones


def test_the_legal_basis_reads_the_same_in_the_list_the_fiche_and_the_form(
    world: World, login_as: Any, session: Any
) -> None:
    client = referent(world, login_as)
    create_fiche(client, legal_basis="6.1.e", legal_basis_text="CGCT")
    fiche = fiche_of(session, world.a.member.id)
    listing = html.unescape(body(client.get("/registers/activities/")))
    detail = html.unescape(body(client.get(f"/registers/activities/{fiche.id}")))
    form = html.unescape(body(client.get(f"/registers/activities/{fiche.id}/edit")))
    row = re.search(r"<tbody>(.*?)</tbody>", listing, re.S).group(1)
    assert f'<td class="small">{PUBLIC_TASK}</td>' in row
    assert f'<dd class="col-sm-8">{PUBLIC_TASK}</dd>' in detail
    assert re.search(rf'<option selected value="6\.1\.e">{re.escape(PUBLIC_TASK)}</option>', form)
    assert re.search(rf'<option value="6\.1\.e" *>{re.escape(PUBLIC_TASK)}</option>', listing)  # the filter
    assert ">6.1.e<" not in row


def test_another_organisation_cannot_add_rows_to_a_fiche(world: World, login_as: Any, session: Any) -> None:
    create_fiche(referent(world, login_as))
    fiche = fiche_of(session, world.a.member.id)
    other = login_as(world.b.member_referent, world.b.member)
    response = other.post(
        f"/registers/activities/{fiche.id}/edit", data=blank_form() | {"add_row": "recipients"}
    )
    assert response.status_code == 404
    assert (
        login_as(world.a.users[Role.READER], world.a.syndicate)
        .post("/registers/activities/new", data=blank_form() | {"add_row": "recipients"})
        .status_code
        == 403
    )


def test_reference_lists_are_indexed_once_and_read_in_the_readers_language(app: Any) -> None:
    """registers.reference.by_id keeps the index of each cached list (a register list looked the
    legal bases up on every row); the labels still follow each request's language."""
    from flask_babel import force_locale  # noqa: PLC0415

    from registers import reference as ref  # noqa: PLC0415

    bases = ref.legal_bases()
    assert ref.by_id(bases) is ref.by_id(ref.legal_bases())
    fresh = tuple(reversed(bases))  # another list with the same items: its own, correct index
    assert ref.by_id(fresh) == ref.by_id(bases)
    assert ref.by_id(fresh[:1]) == {fresh[0].id: fresh[0]}
    with app.test_request_context():
        with force_locale("fr"):
            french = ref.legal_basis_label(bases[0].id)
        with force_locale("en"):
            english = ref.legal_basis_label(bases[0].id)
    assert french.startswith(bases[0].label_fr)
    assert english.startswith(bases[0].label_en)
