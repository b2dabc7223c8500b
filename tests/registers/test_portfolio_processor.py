"""The DPO portfolio and the processor register: figures per organisation, consistency with the
catalogue after subscription changes, and who may see what."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from markupsafe import Markup

from catalogue.models import Hosting
from catalogue.services import applications as catalogue
from core.extensions import db
from core.security import Role
from core.templating import organisation_figure
from registers.services import activities as acts
from registers.services import portfolio, processor
from tests import factories as f
from tests.conftest import acting_as

MODEL = {
    "name": "Portail famille",
    "purpose": "Inscriptions périscolaires",
    "data_categories": [
        {"category": "etat_civil", "details": "", "active": "1 an", "intermediate": "", "final": ""}
    ],
    "security_measures": [{"measure": "sauvegarde", "details": "quotidienne"}],
}


@pytest.mark.usefixtures("app_ctx")
def test_processor_register_follows_the_subscriptions(world: Any) -> None:
    a = world.a
    syndicate = db.session.merge(a.syndicate)
    app = db.session.merge(a.application)
    app.hosting = Hosting.SAAS
    with acting_as(a.users[Role.DPO], syndicate):
        acts.create_activity(syndicate, None, {**MODEL, "application_ids": [app.id]}, is_model=True)
        register = processor.processor_register(syndicate)
        assert [c.name for c in register.controllers] == ["Ville A"]
        assert register.controllers[0].application_ids == (app.id,)
        [category] = register.applications[app.id].categories
        assert category.name == "Portail famille"
        assert category.data_categories
        assert [(m.label, m.details) for m in category.measures] == [
            ("Sauvegarde des données", "quotidienne")
        ]
        assert register.applications[app.id].sub_processors == []  # the editor's contract: not described
        assert any(app.editor in g.text for g in register.gaps)
        # A new member subscribes: it appears; the first one leaves the application: it disappears.
        newcomer = f.OrganisationFactory(name="Ville nouvelle", syndicate=syndicate)
        db.session.flush()
        catalogue.subscribe(app, newcomer, None, {"started_on": dt.date(2026, 1, 1)})
        sub = db.session.merge(a.subscription)
        catalogue.end_subscription(sub, None, {"ended_on": dt.date(2026, 2, 1), "version": sub.version})
        register = processor.processor_register(syndicate)
        assert [c.name for c in register.controllers] == ["Ville nouvelle"]
        assert register.total == 1
        # Tenant B's syndicate serves its own member only.
        other = processor.processor_register(db.session.merge(world.b.syndicate))
        assert [c.name for c in other.controllers] == ["Ville B"]


@pytest.mark.usefixtures("app_ctx")
def test_portfolio_counts_per_organisation(world: Any) -> None:
    a = world.a
    dpo = db.session.merge(a.users[Role.DPO])
    member = db.session.merge(a.member)
    f.MembershipFactory(user=dpo, organisation=member, role=Role.DPO)
    db.session.flush()
    with acting_as(dpo, member):
        acts.create_activity(
            member,
            None,
            {"name": "Vidéoprotection", "dpia_criteria": ["surveillance_systematique", "grande_echelle"]},
        )
        acts.create_activity(
            member,
            None,
            {
                **MODEL,
                "name": "Complet",
                "purpose": "x",
                "legal_basis": "6.1.b",
                "data_subjects": ["usagers"],
                "recipients": [{"type": "interne", "name": "Service", "organisation_id": None}],
            },
        )
        result = portfolio.portfolio(dpo)
        rows = {r.name: r for r in result.rows}
        assert set(rows) == {"Syndicat A", "Ville A"}
        assert rows["Ville A"].fiches == 2
        assert rows["Ville A"].dpia_missing == 1
        assert rows["Ville A"].completeness == 50  # one fiche complete, one empty
        assert rows["Syndicat A"].fiches == 0
        by_dpia = portfolio.portfolio(dpo, sort="dpia")
        assert by_dpia.rows[0].name == "Ville A"
        # Tenant B's DPO sees nothing of tenant A.
        other = portfolio.portfolio(db.session.merge(world.b.users[Role.DPO]))
        assert {r.name for r in other.rows} == {"Syndicat B"}


def test_portfolio_and_processor_pages(world: Any, login_as: Any) -> None:
    client = login_as(world.a.users[Role.DPO], world.a.syndicate)
    page = client.get("/registers/portfolio/?sort=completeness")
    assert page.status_code == 200
    assert "Syndicat A" in page.get_data(as_text=True)
    assert client.get("/registers/processor/").status_code == 200
    referent = login_as(world.a.member_referent, world.a.member)
    assert referent.get("/registers/processor/").status_code == 404  # a member has no processor register
    assert "Syndicat A" not in referent.get("/registers/portfolio/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "n", "url", "what", "classes"),
    [
        ("Commune 00051", 3, "/registers/breaches?status=open", "violations ouvertes", ""),
        ('<script>alert("x")</script> & Cie', 0, "/a?b=1&c=<2>", "d'« accès »", "text-danger"),
        ("Syndicat", Markup("<b>12</b>"), "/x", Markup("<i>déjà sûr</i>"), 'a"b'),
    ],
)
def test_a_portfolio_figure_escapes_as_markup_format(
    name: str, n: Any, url: str, what: Any, classes: str
) -> None:
    """The figure is written with an f-string for speed; its HTML is what Markup.format gave."""
    row = SimpleNamespace(organisation_id="51", name=name)
    expected = Markup(
        '<button type="submit" form="org-{org}" name="next" value="{url}" class="btn btn-link p-0 figure-link'
        ' {classes}">{n}<span class="visually-hidden"> {what} — {name}</span></button>'
    ).format(org=51, url=url, classes=classes, n=n, what=what, name=name)
    figure = organisation_figure(row, n, url, what, classes)
    assert figure == expected
    assert isinstance(figure, Markup)
    assert "<script>" not in figure
