"""How a domain plugs into Égide: one :class:`Domain` record, and nothing else to edit.

A domain package (``accounts``, ``catalogue``, ``registers``, ``smsi``…) declares ``DOMAIN =
Domain(...)`` in its ``__init__.py`` and names it in ``pyproject.toml``::

    [project.entry-points."egide.domains"]
    smsi = "smsi:DOMAIN"

The app factory reads every record (Python's standard entry points, as pytest and Flask find their
plugins), orders them by :attr:`Domain.order` and installs each: its blueprint, its menu partial, its
journal action labels and object types (who may read their content, how their fields and values
read, where their pages are), the permissions it grants to
roles, its demo loader and its home-page widgets. Adding a domain therefore touches no shared template
and no ``core/`` module; the route walkers, the cross-organisation test and the i18n test find its
routes and templates through the app itself.

``core`` imports no domain: the records come to it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import entry_points
from typing import Any

from flask import Blueprint, Flask, current_app

from core import api, journal
from core.cli import demo_loader
from core.security import Role, can, grant_permissions

ENTRY_POINT_GROUP = "egide.domains"
EXTENSION = "egide_domains"


@dataclass(frozen=True)
class Widget:
    """A card on the home page, shown to whoever holds ``permission`` in the active organisation
    (and passes ``visible``, when given). ``context`` computes the card's figures when the page is
    drawn — one or two aggregate queries, never a loop over rows; every figure links to its list."""

    key: str  # unique, "<domain>.<name>"
    template: str  # a partial, rendered inside the card
    permission: str | None = None
    context: Callable[[], Mapping[str, Any]] | None = None
    visible: Callable[[], bool] | None = None
    order: int = 100


@dataclass(frozen=True)
class DigestItem:
    """One line of the weekly digest (accounts.services.digest): a deadline of the coming week, or passed.
    ``due_on`` None: something waiting for a decision, without a date (a template change)."""

    organisation_id: int
    organisation_name: str
    kind: str  # what it is, as people read it: "Demande d'exercice de droits"
    title: str  # which one: "DR-2026-004 — Accès (art. 15)"
    due_on: date | None = None


# A domain's part of a user's weekly digest: (user, today, last day of the coming week) → the items
# of the organisations where the user's roles make them his (overdue ones included). A few queries
# per user whatever the number of items: the digest is sent to every DPO and referent each week.
DigestSource = Callable[[Any, date, date], Iterable[DigestItem]]


@dataclass(frozen=True)
class DomainPart:
    """A part of a domain written in a sub-package of its own (``audits``: the evidence store, the
    packs): what it adds to its domain's record — journal, permissions, widgets, demo, set-up. Its
    routes go on the domain's blueprint and its menu entries in the domain's partial, so the domain
    keeps one blueprint and one menu entry; the part brings its registrations without anyone merging
    them by hand into the domain's ``Domain(...)``."""

    name: str  # "<domain>.<part>", e.g. "audits.evidence": also the name of its demo step
    action_labels: Mapping[str, Any] = field(default_factory=dict)
    action_prefix_labels: Mapping[str, Any] = field(default_factory=dict)
    object_types: Mapping[str, str] = field(default_factory=dict)
    journal_types: Mapping[str, journal.JournalType] = field(default_factory=dict)
    permissions: Mapping[Role, Iterable[str]] = field(default_factory=dict)
    demo: Callable[[dict[str, Any]], None] | None = None  # runs after its domain's own step
    widgets: tuple[Widget, ...] = ()
    setup: Callable[[Flask], None] | None = None
    digest: DigestSource | None = None
    yearly_figures: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Domain:
    name: str  # the package, which is also the blueprint's name
    blueprint: Blueprint
    order: int = 100  # blueprints, menu entries and demo loaders follow this order
    nav: str | None = None  # menu partial (main section), e.g. "registers/_nav.html"
    admin_nav: str | None = None  # menu partial for the administration section
    action_labels: Mapping[str, Any] = field(default_factory=dict)  # journal: action code → label
    action_prefix_labels: Mapping[str, Any] = field(default_factory=dict)  # "session.revoke." → label
    object_types: Mapping[str, str] = field(default_factory=dict)  # journal: type → read permission
    # journal: type → how its entries read (what it is, its fields and values as on the forms, its page)
    journal_types: Mapping[str, journal.JournalType] = field(default_factory=dict)
    permissions: Mapping[Role, Iterable[str]] = field(default_factory=dict)  # grants the domain adds
    demo: Callable[[dict[str, Any]], None] | None = None  # `flask demo load` step, idempotent
    widgets: tuple[Widget, ...] = ()
    # What the header and menu show besides the permissions, the organisation and the language:
    # computed on every request, hashable, and part of the key under which core/layout.py caches
    # the frame (e.g. registers: {"serves_as_dpo": True}). Menu partials read them as ``facts.<name>``.
    layout_facts: Callable[[], Mapping[str, Any]] | None = None
    setup: Callable[[Flask], None] | None = None  # the rest: signals, login loader, Jinja helpers
    digest: DigestSource | None = None  # its deadlines in the weekly digest (accounts.services.digest)
    # Its JSON API endpoints: an APIFlask APIBlueprint, mounted under /api/v1 (core.api), CSRF-exempt
    # (token authentication, no cookie), rate-limited.
    api: Blueprint | None = None
    # Its figures of a year for the annual report (core.figures.YearlyProvider): (a SELECT of
    # organisation ids, the year) → its YearlyFigures sections, from aggregate queries.
    yearly_figures: Callable[..., Any] | None = None
    parts: tuple[DomainPart, ...] = ()  # sub-packages adding their registrations (DomainPart)

    def pieces(self) -> tuple[Domain | DomainPart, ...]:
        """The record and its parts: what the app factory installs, in order."""
        return (self, *self.parts)


def discover() -> list[Domain]:
    """Every registered domain record, in order."""
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        record = entry.load()
        if not isinstance(record, Domain):
            raise TypeError(f"{entry.value}: an {ENTRY_POINT_GROUP} entry point must name a Domain")
        found.append(record)
    if not found:
        raise RuntimeError(
            f"No domain registered under the {ENTRY_POINT_GROUP!r} entry points: "
            "install the project (`pip install -e .`, which `make` does)."
        )
    return sorted(found, key=lambda d: (d.order, d.name))


def install(app: Flask, domains: list[Domain]) -> None:
    keys = [w.key for d in domains for piece in d.pieces() for w in piece.widgets]
    if len(keys) != len(set(keys)):
        raise ValueError(f"home-page widget keys must be unique: {sorted(keys)}")
    for domain in domains:
        app.register_blueprint(domain.blueprint)
        if domain.api is not None:
            api.install_blueprint(app, domain.api)
        for piece in domain.pieces():
            journal.ACTION_LABELS.update(piece.action_labels)
            journal.PREFIX_LABELS.update(piece.action_prefix_labels)
            journal.register_object_types(piece.object_types)
            journal.register_journal_types(piece.journal_types)
            grant_permissions(piece.permissions)
            if piece.demo is not None:
                demo_loader(piece.name)(piece.demo)
            if piece.setup is not None:
                piece.setup(app)
    app.extensions[EXTENSION] = domains
    app.jinja_env.globals.update(nav_partials=nav_partials, home_widgets=home_widgets)


def installed() -> list[Domain]:
    return current_app.extensions[EXTENSION]


def digest_items(user: Any, today: date, until: date) -> list[DigestItem]:
    """Every installed domain's part of ``user``'s weekly digest, by organisation then date."""
    items = [
        item
        for d in installed()
        for piece in d.pieces()
        if piece.digest is not None
        for item in piece.digest(user, today, until)
    ]
    return sorted(items, key=lambda i: (i.organisation_name, i.organisation_id, i.due_on or until, i.title))


def nav_partials(section: str = "main") -> list[str]:
    attribute = "nav" if section == "main" else "admin_nav"
    return [p for d in installed() if (p := getattr(d, attribute))]


@dataclass(frozen=True)
class ShownWidget:
    widget: Widget
    context: Mapping[str, Any]


def home_widgets() -> list[ShownWidget]:
    """The widgets of the home page for the current user in the active organisation, in order."""
    every = (w for d in installed() for piece in d.pieces() for w in piece.widgets)
    widgets = sorted(every, key=lambda w: (w.order, w.key))
    shown = []
    for widget in widgets:
        if widget.permission is not None and not can(widget.permission):
            continue
        if widget.visible is not None and not widget.visible():
            continue
        shown.append(ShownWidget(widget, dict(widget.context()) if widget.context else {}))
    return shown
