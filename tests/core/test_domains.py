"""A domain plugs in with one record (core/domains.py): blueprint, menu partial, journal labels and
object types, demo step and home-page widgets — read from the entry points, nothing else to edit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Blueprint, Flask, render_template, template_rendered
from jinja2 import ChoiceLoader, DictLoader

from core import domains, journal
from core.domains import Domain, Widget
from core.security import Permission, Role, login_and_org_required, login_required, require
from core.tenancy import syndicate_only
from tests.conftest import World, declared_status, install_blueprint, permissions_held
from tests.core.test_i18n import walk_in_english
from tests.core.test_pages import NOT_200, _page_urls, expected_statuses, walk

PACKAGES = ("accounts", "catalogue", "registers", "smsi", "risks", "audits", "reports")


def test_every_domain_package_is_found_through_its_entry_point_in_order(app: Flask) -> None:
    found = domains.discover()
    assert [d.name for d in found] == list(PACKAGES)
    installed = app.extensions[domains.EXTENSION]
    assert [d.name for d in installed] == list(PACKAGES)
    for domain in installed:
        assert domain.blueprint.name == domain.name  # house rule: blueprint name = package name
        assert app.blueprints[domain.name] is domain.blueprint


def test_each_domains_journal_registrations_are_installed(app: Flask) -> None:
    for domain in app.extensions[domains.EXTENSION]:
        for piece in domain.pieces():
            for object_type, permission in piece.object_types.items():
                assert journal.OBJECT_TYPE_PERMISSIONS[object_type] == permission
            for action, label in piece.action_labels.items():
                assert journal.ACTION_LABELS[action] == label


def test_the_menu_is_made_of_the_domains_partials(world: World, login_as: Any) -> None:
    dpo_menu = login_as(world.a.users[Role.DPO], world.a.syndicate).get("/").get_data(as_text=True)
    admin_menu = login_as(world.a.users[Role.ADMIN], world.a.syndicate).get("/").get_data(as_text=True)
    assert 'href="/registers/activities/"' in dpo_menu  # registers/_nav.html
    assert 'href="/catalogue/"' in dpo_menu  # catalogue/_nav.html
    assert 'href="/admin/users/"' not in dpo_menu
    assert 'href="/registers/activities/"' not in admin_menu  # the administrator reads no register
    assert "Administration" in admin_menu
    assert 'href="/admin/users/"' in admin_menu  # accounts/_admin_nav.html


def _widget_keys(html: str) -> set[str]:
    return set(re.findall(r'data-widget="([^"]+)"', html))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADMIN, {"accounts.organisations", "catalogue.catalogue", "accounts.accounts"}),
        (
            Role.DPO,
            {"accounts.organisations", "catalogue.catalogue", "registers.breaches", "registers.dpo"},
        ),
        (
            Role.REFERENT,
            {
                "accounts.organisations",
                "catalogue.catalogue",
                "registers.breaches",
                "registers.referent",
                "risks.hygiene",
            },
        ),
        (
            Role.RSSI,
            {
                "accounts.organisations",
                "catalogue.catalogue",
                "registers.breaches",
                "smsi.incidents",
                "smsi.actions",
                "audits.evidence",
                "smsi.review",
                "risks.register",
                "risks.hygiene",
                "smsi.soa",
                "audits.findings",
            },
        ),
        (Role.READER, {"accounts.organisations", "catalogue.catalogue"}),
    ],
)
def test_the_home_page_shows_each_role_the_widgets_it_may_see(
    world: World, login_as: Any, role: Role, expected: set[str]
) -> None:
    html = login_as(world.a.users[role], world.a.syndicate).get("/").get_data(as_text=True)
    assert _widget_keys(html) == expected


def test_a_new_domains_widget_appears_with_its_figures_without_editing_shared_files(
    app: Flask, world: World, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What SMSI will do: a record with a widget computing a figure, and one hidden by its predicate."""
    loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "probe/_widget.html": '<p class="figure">{{ shown.context.open }} incidents</p>',
                    "probe/_hidden.html": "<p>never</p>",
                }
            ),
            app.jinja_env.loader,
        ]
    )
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    probe = Domain(
        name="probe",
        blueprint=Blueprint("probe", __name__),
        widgets=(
            Widget(
                "probe.incidents", "probe/_widget.html", Permission.SMSI_VIEW, context=lambda: {"open": 3}
            ),
            Widget("probe.hidden", "probe/_hidden.html", visible=lambda: False),
        ),
    )
    monkeypatch.setitem(app.extensions, domains.EXTENSION, [*app.extensions[domains.EXTENSION], probe])

    rssi = login_as(world.a.users[Role.RSSI], world.a.syndicate).get("/").get_data(as_text=True)
    admin = login_as(world.a.users[Role.ADMIN], world.a.syndicate).get("/").get_data(as_text=True)

    assert "probe.incidents" in _widget_keys(rssi)
    assert '<p class="figure">3 incidents</p>' in rssi
    assert "probe.hidden" not in _widget_keys(rssi)
    assert "probe.incidents" not in _widget_keys(admin)  # no SMSI_VIEW


def test_a_domains_parts_bring_their_registrations_with_the_domains_blueprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """audits is written in parts (findings, evidence, packs): each part's labels, object types,
    set-up and widgets are installed with the domain, which keeps one blueprint."""
    monkeypatch.setattr(journal, "ACTION_LABELS", dict(journal.ACTION_LABELS))
    set_up: list[str] = []
    part = domains.DomainPart(
        name="probe.part",
        action_labels={"probe.part.create": "Création"},
        widgets=(Widget("probe.part", "x.html"),),
        setup=lambda app: set_up.append(app.name),
    )
    probe = Domain(name="probe", blueprint=Blueprint("probe", __name__), parts=(part,))
    app = Flask("other")
    domains.install(app, [probe])
    assert journal.ACTION_LABELS["probe.part.create"] == "Création"
    assert set_up == ["other"]
    assert list(app.blueprints) == ["probe"]
    assert [p.name for p in probe.pieces()] == ["probe", "probe.part"]
    twice = Domain(name="twice", blueprint=Blueprint("twice", __name__), parts=(part, part))
    with pytest.raises(ValueError, match="unique"):  # a part's widget keys count with the others
        domains.install(Flask("again"), [twice])


def test_widget_keys_must_be_unique(app: Flask) -> None:
    twice = Widget("same.key", "x.html")
    bad = Domain(name="bad", blueprint=Blueprint("bad", __name__), widgets=(twice, twice))
    with pytest.raises(ValueError, match="unique"):
        domains.install(Flask("other"), [bad])


def test_a_domain_grants_its_permissions_to_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import security  # noqa: PLC0415

    monkeypatch.setitem(security.ROLE_PERMISSIONS, Role.READER, security.ROLE_PERMISSIONS[Role.READER])
    security.grant_permissions({Role.READER: ["probe_view"]})
    assert "probe_view" in security.ROLE_PERMISSIONS[Role.READER]
    assert Permission.REGISTERS_VIEW in security.ROLE_PERMISSIONS[Role.READER]  # added, nothing lost


# --- a new domain's pages, walked by tests/core without editing them ------------------------------

PROBE_PAGE = (
    '{% extends "base.html" %}{% block title %}Probe{% endblock %}'
    "{% block content %}<p>Probe</p>{% endblock %}"
)


def _probe_blueprint() -> Blueprint:
    """A new domain's blueprint: a page for each kind of declaration, none named in tests/core."""
    bp = Blueprint("probe", __name__, url_prefix="/probe")
    bp.before_request(login_and_org_required)

    @bp.route("/")
    @require(Permission.SMSI_VIEW)  # the administrator lacks it
    def index() -> str:
        return render_template("probe/page.html")

    @bp.route("/platform")
    @require(Permission.USERS_MANAGE)  # the platform administrator's only
    def platform() -> str:
        return render_template("probe/page.html")

    @bp.route("/syndicate")
    @require(Permission.CATALOGUE_VIEW)
    @syndicate_only
    def syndicate() -> str:
        return render_template("probe/page.html")

    @bp.route("/mine")
    @login_required
    def mine() -> str:
        return render_template("probe/page.html")

    return bp


@pytest.fixture
def probe(app: Flask, world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The probe domain installed on the app for the test: its pages (endpoint → URL) as walkers find them."""
    loader = ChoiceLoader([DictLoader({"probe/page.html": PROBE_PAGE}), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    install_blueprint(app, _probe_blueprint(), monkeypatch)
    return {e: url for e, url in _page_urls(app, world).items() if e.startswith("probe.")}


def test_a_new_domains_pages_are_walked_and_their_refusals_follow_from_their_declarations(
    app: Flask, world: World, login_as: Any, probe: dict[str, str]
) -> None:
    """tests/core/test_pages.py walks the probe's pages and expects of each what its declarations say,
    with no line in NOT_200; the pages answer just that."""
    assert probe == {
        "probe.index": "/probe/",
        "probe.platform": "/probe/platform",
        "probe.syndicate": "/probe/syndicate",
        "probe.mine": "/probe/mine",
    }
    assert not [e for exceptions in NOT_200.values() for e in exceptions if e.startswith("probe.")]
    answers = dict.fromkeys(probe, 200)
    for role, refused in ((Role.RSSI, "probe.platform"), (Role.ADMIN, "probe.index")):
        client = login_as(world.a.users[role])
        statuses, problems = walk(client, probe, "fr")
        assert problems == []
        assert statuses == expected_statuses(app, world, role, probe) == {**answers, refused: 403}

    # From a member organisation, the syndicate-only page does not exist (core.tenancy.syndicate_only).
    referent, member = world.a.member_referent, world.a.member
    client = login_as(referent)  # the member's referent: active there
    held = permissions_held(app, referent, member)
    declared = {e: declared_status(app.view_functions[e], held, member) for e in probe}
    assert {e: client.get(url).status_code for e, url in probe.items()} == declared
    assert declared == {**answers, "probe.platform": 403, "probe.syndicate": 404}


def test_a_new_domains_pages_are_walked_in_english(
    app: Flask, world: World, login_as: Any, probe: dict[str, str]
) -> None:
    """tests/core/test_i18n.py's walk renders the probe's page template in English, with no line in PAGES."""
    rendered: set[str] = set()

    def record(sender: Flask, template: Any, context: Any, **extra: Any) -> None:
        rendered.add(template.name)

    with template_rendered.connected_to(record, app):
        walked = walk_in_english({Role.RSSI: login_as(world.a.users[Role.RSSI])}, probe)
    assert sorted(walked) == ["probe.index", "probe.mine", "probe.syndicate"]
    assert "probe/page.html" in rendered
