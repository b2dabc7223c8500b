"""A template (model) changed: the member decides field by field — take the new value, keep its own,
or decide later — on a three-column page that marks the words that changed, and is told the outcome
with correct plurals."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from accounts.models import Organisation, User
from core.audit import AuditEvent
from core.extensions import db
from core.security import Role
from core.tenancy import UNSCOPED
from registers.display import model_update_message, word_diff
from registers.models import ProcessingActivity
from registers.services import activities as acts
from registers.services import inheritance
from tests import factories as f
from tests.conftest import World, acting_as

MODEL = {
    "name": "Portail famille",
    "purpose": "Inscriptions aux activités périscolaires et facturation mensuelle des familles",
    "legal_basis": "6.1.e",
    "legal_basis_text": "Code de l'éducation, art. L131-5",
    "sub_purposes": ["Inscriptions", "Facturation"],
}
NEW_PURPOSE = (
    "Inscriptions aux activités périscolaires, restauration scolaire "
    "et facturation trimestrielle des familles"
)


@contextmanager
def as_syndicate(app: Flask, world: World) -> Iterator[Organisation]:
    with (
        app.test_request_context(),
        acting_as(db.session.get(User, world.a.users[Role.DPO].id), world.a.syndicate),
    ):
        yield db.session.merge(world.a.syndicate)
        db.session.commit()


def load(activity_id: int) -> ProcessingActivity:
    session = f._SessionHolder.session
    session.expire_all()
    return session.scalar(
        select(ProcessingActivity).where(ProcessingActivity.id == activity_id).execution_options(**UNSCOPED)
    )


@pytest.fixture
def entry_id(app: Flask, world: World) -> int:
    """Ville A's entry of a model; the model then changed its purpose, legal text and sub-purposes,
    and Ville A had written its own legal text."""
    with as_syndicate(app, world) as syndicate:
        model = acts.create_activity(
            syndicate, None, {**MODEL, "application_ids": [world.a.application.id]}, is_model=True
        )
        entry = db.session.scalar(
            select(ProcessingActivity)
            .where(ProcessingActivity.model_id == model.id)
            .execution_options(**UNSCOPED)
        )
        acts.update_activity(
            entry,
            None,
            {**acts.content_of(entry), "legal_basis_text": "Délibération locale", "version": entry.version},
        )
        acts.update_activity(
            model,
            None,
            {
                **acts.content_of(model),
                "purpose": NEW_PURPOSE,
                "legal_basis_text": "Code de l'éducation, art. L131-5 et L551-1",
                "sub_purposes": ["Inscriptions", "Restauration", "Facturation"],
                "version": model.version,
            },
        )
        return entry.id


@pytest.fixture
def referent(world: World, login_as: Any) -> Any:
    return login_as(world.a.member_referent, world.a.member)


def page_of(client: Any, entry_id: int) -> str:
    response = client.get(f"/registers/activities/{entry_id}/model-update")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def checked(page: str, field: str) -> str | None:
    for tag in re.findall(rf'<input[^>]*name="decision_{field}"[^>]*>', page):
        if re.search(r"\bchecked\b", tag):
            return re.search(r'value="([^"]+)"', tag).group(1)
    return None


def flashes(client: Any) -> str:
    return html.unescape(client.get("/registers/activities/").get_data(as_text=True))


def journal_count(entry_id: int) -> int:
    return f._SessionHolder.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.object_type == "ProcessingActivity", AuditEvent.object_id == entry_id)
    )


# --- the page ---------------------------------------------------------------------------------


def test_each_field_offers_three_choices_with_the_safe_default(
    app: Flask, referent: Any, entry_id: int
) -> None:
    page = page_of(referent, entry_id)
    assert checked(page, "purpose") == "model"  # not touched locally: takes the model's value by default
    assert checked(page, "sub_purposes") == "model"
    assert checked(page, "legal_basis_text") == "mine"  # written locally: kept by default
    for label in ("Reprendre la nouvelle valeur du modèle", "Garder ma valeur", "Décider plus tard"):
        assert html.unescape(page).count(label) == 3
    assert "3 champs ont changé dans le modèle." in page


def test_changed_words_are_marked_inside_long_fields(app: Flask, referent: Any, entry_id: int) -> None:
    page = page_of(referent, entry_id)
    card = page[page.index(">Finalité principale<") :]
    card = card[: card.index("</fieldset>")]
    assert (
        '<del class="diff-word">périscolaires</del> et facturation <del class="diff-word">mensuelle</del>'
        in card
    )
    assert '<ins class="diff-word">périscolaires, restauration scolaire</ins> et facturation <ins' in card
    assert '<mark class="diff-word">mensuelle</mark> des familles' in card  # the fiche, against the new value
    # Unchanged words stay plain text, and the whole value is there, once per column.
    assert re.sub(r"<[^>]+>", "", card).count("Inscriptions aux activités périscolaires") == 3


def test_marked_words_are_escaped(app: Flask) -> None:
    before, after = word_diff("Texte sûr", "Texte <script>alert(1)</script> & sûr")
    assert before == [("Texte ", False), ("sûr", False)]
    assert ("<script>alert(1)</script> &", True) in [(t.strip(), c) for t, c in after]
    with app.test_request_context():
        from flask import render_template_string  # noqa: PLC0415

        template = (
            '{% for t, c in s %}{% if c %}<ins class="diff-word">{{ t }}</ins>{% else %}{{ t }}{% endif %}'
        )
        rendered = render_template_string(template + "{% endfor %}", s=after)
    assert "<script>" not in rendered
    assert '<ins class="diff-word">&lt;script&gt;alert(1)&lt;/script&gt; &amp; </ins>' in rendered


def test_word_diff_keeps_every_character_of_both_texts() -> None:
    old, new = "un deux  trois\nquatre", "un trois\nquatre cinq"
    before, after = word_diff(old, new)
    assert "".join(t for t, _ in before) == old
    assert "".join(t for t, _ in after) == new
    assert [t for t, changed in before if changed] == ["deux  "]
    assert [t for t, changed in after if changed] == [" cinq"]


# --- deciding -----------------------------------------------------------------------------------


def test_decide_later_leaves_the_field_pending_and_settles_the_others(
    app: Flask, referent: Any, entry_id: int
) -> None:
    entry = load(entry_id)
    response = referent.post(
        f"/registers/activities/{entry_id}/model-update",
        data={
            "version": entry.version,
            "decision_purpose": "later",
            "decision_sub_purposes": "model",
            "decision_legal_basis_text": "mine",
        },
    )
    assert response.status_code == 302
    assert (
        "Décisions enregistrées : 1 champ repris du modèle, 1 champ gardé ; 1 champ reste à décider."
        in flashes(referent)
    )
    entry = load(entry_id)
    assert entry.sub_purposes == ["Inscriptions", "Restauration", "Facturation"]
    assert entry.legal_basis_text == "Délibération locale"
    assert entry.purpose == MODEL["purpose"]  # not decided: unchanged
    assert entry.has_model_update  # still something to decide
    with app.test_request_context():
        pending = inheritance.pending_changes(load(entry_id))
        assert [(c.field, c.before, c.after) for c in pending] == [("purpose", MODEL["purpose"], NEW_PURPOSE)]
        assert inheritance.overridden_fields(load(entry_id)) == {"legal_basis_text"}
    # The page asks again, for that field only; deciding it settles the change.
    page = page_of(referent, entry_id)
    assert checked(page, "purpose") == "model"
    assert 'name="decision_sub_purposes"' not in page
    done = referent.post(
        f"/registers/activities/{entry_id}/model-update",
        data={"version": load(entry_id).version, "decision_purpose": "model"},
    )
    assert done.status_code == 302
    assert "Mise à jour du modèle traitée : 1 champ repris du modèle, 0 champ gardé." in flashes(referent)
    entry = load(entry_id)
    assert entry.purpose == NEW_PURPOSE
    assert not entry.has_model_update


def test_everything_later_writes_nothing(app: Flask, referent: Any, entry_id: int) -> None:
    entry = load(entry_id)
    version, entries = entry.version, journal_count(entry_id)
    response = referent.post(
        f"/registers/activities/{entry_id}/model-update",
        data={f"decision_{name}": "later" for name in ("purpose", "sub_purposes", "legal_basis_text")}
        | {"version": version},
    )
    assert response.status_code == 302
    assert "Aucune décision enregistrée : 3 champs restent à décider." in flashes(referent)
    assert load(entry_id).version == version
    assert journal_count(entry_id) == entries
    assert load(entry_id).has_model_update


def test_a_missing_or_unknown_decision_is_refused_and_nothing_is_written(
    app: Flask, referent: Any, entry_id: int
) -> None:
    entry = load(entry_id)
    version = entry.version
    response = referent.post(
        f"/registers/activities/{entry_id}/model-update",
        data={"version": version, "decision_purpose": "model", "decision_sub_purposes": "peut-être"},
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Choisissez : reprendre, garder ou décider plus tard." in page  # legal_basis_text: no choice
    assert "N'est pas un choix valide." in page  # sub_purposes: junk (WTForms' own message, in French)
    assert checked(response.get_data(as_text=True), "purpose") == "model"  # what was chosen, shown again
    assert load(entry_id).version == version
    assert load(entry_id).purpose == MODEL["purpose"]


def test_keeping_every_value_settles_the_change_with_local_values(
    app: Flask, referent: Any, entry_id: int
) -> None:
    entry = load(entry_id)
    response = referent.post(
        f"/registers/activities/{entry_id}/model-update",
        data={f"decision_{name}": "mine" for name in ("purpose", "sub_purposes", "legal_basis_text")}
        | {"version": entry.version},
    )
    assert response.status_code == 302
    assert "Mise à jour du modèle traitée : 0 champ repris du modèle, 3 champs gardés." in flashes(referent)
    entry = load(entry_id)
    assert not entry.has_model_update
    assert entry.purpose == MODEL["purpose"]
    with app.test_request_context():
        assert inheritance.overridden_fields(entry) == {"purpose", "sub_purposes", "legal_basis_text"}


def test_a_reader_sees_the_choices_but_cannot_decide(
    app: Flask, world: World, login_as: Any, session: Any, entry_id: int
) -> None:
    reader = f.UserFactory(email="lecteur.villea@example.org")
    f.MembershipFactory(user=reader, organisation=world.a.member, role=Role.READER)
    session.flush()
    client = login_as(reader, world.a.member)
    page = page_of(client, entry_id)
    radios = re.findall(r'<input[^>]*name="decision_purpose"[^>]*>', page)
    assert len(radios) == 3
    assert all(re.search(r"\bdisabled\b", tag) for tag in radios)
    assert "Valider ma décision" not in page
    version = load(entry_id).version
    refused = client.post(
        f"/registers/activities/{entry_id}/model-update",
        data={"version": version, "decision_purpose": "model"},
    )
    assert refused.status_code == 403
    assert load(entry_id).version == version


def test_another_organisation_gets_404(world: World, login_as: Any, entry_id: int) -> None:
    other = login_as(world.b.member_referent, world.b.member)
    assert other.get(f"/registers/activities/{entry_id}/model-update").status_code == 404
    assert other.post(f"/registers/activities/{entry_id}/model-update", data={}).status_code == 404


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "french", "english"),
    [
        (
            (1, 3, 0),
            "Mise à jour du modèle traitée : 1 champ repris du modèle, 3 champs gardés.",
            "Template update processed: 1 field taken from the template, 3 fields kept.",
        ),
        (
            (2, 1, 1),
            "Décisions enregistrées : 2 champs repris du modèle, 1 champ gardé ; 1 champ reste à décider.",
            "Decisions saved: 2 fields taken from the template, 1 field kept; 1 field left to decide.",
        ),
        (
            (0, 0, 2),
            "Aucune décision enregistrée : 2 champs restent à décider.",
            "No decision saved: 2 fields left to decide.",
        ),
    ],
)
def test_messages_count_fields_with_correct_plurals(
    app: Flask, counts: tuple[int, int, int], french: str, english: str
) -> None:
    with app.test_request_context():
        with force_locale("fr"):
            assert model_update_message(*counts) == french
        with force_locale("en"):
            assert model_update_message(*counts) == english


def test_the_fiche_counts_the_fields_to_review(app: Flask, referent: Any, entry_id: int) -> None:
    page = html.unescape(referent.get(f"/registers/activities/{entry_id}").get_data(as_text=True))
    assert "Le modèle a changé (3 champs à relire)." in page


def test_a_field_left_for_later_is_still_offered_after_the_next_model_change(
    app: Flask, world: World, entry_id: int
) -> None:
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        entry = load(entry_id)
        inheritance.accept_model_update(
            entry, None, ["sub_purposes"], entry.version, later=["purpose", "legal_basis_text"]
        )
        db.session.commit()
    with as_syndicate(app, world):
        model = db.session.get(ProcessingActivity, load(entry_id).model_id, execution_options=UNSCOPED)
        acts.update_activity(
            model, None, {**acts.content_of(model), "name": "Portail famille 2", "version": model.version}
        )
    with app.test_request_context(), acting_as(world.a.member_referent, world.a.member):
        pending = {c.field: c for c in inheritance.pending_changes(load(entry_id))}
        assert set(pending) == {"name", "purpose", "legal_basis_text"}  # sub_purposes: settled
        assert pending["purpose"].before == MODEL["purpose"]  # still against the version last accepted
        assert pending["legal_basis_text"].is_overridden
        assert not pending["name"].is_overridden
