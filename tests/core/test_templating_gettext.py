"""Templates' ``_`` keeps the texts it translated, per language (core/templating.py): the kept text
must be exactly what Jinja's own newstyle gettext gives, in the language of the page being drawn."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale
from markupsafe import Markup

TEMPLATE = '{{ _("Filtrer") }}|{{ _("100 %%") }}|{{ _("Bonjour %(name)s", name=who) }}|{{ _(dynamic) }}'


@pytest.mark.parametrize("rounds", [1, 3])
def test_kept_texts_follow_the_language_of_each_page(app: Flask, rounds: int) -> None:
    with app.test_request_context("/"):
        for _ in range(rounds):  # the second and third rounds are served from the kept texts
            with force_locale("fr"):
                assert render_template_string(TEMPLATE, who="<b>", dynamic="Filtrer") == (
                    "Filtrer|100 %|Bonjour &lt;b&gt;|Filtrer"
                )
            with force_locale("en"):
                assert render_template_string(TEMPLATE, who="<b>", dynamic="Filtrer") == (
                    "Filter|100 %|Hello &lt;b&gt;|Filter"
                )


def test_kept_texts_are_the_same_as_jinja_newstyle_gettext(app: Flask) -> None:
    env = app.jinja_env
    plain = env.globals["gettext"]  # Jinja's newstyle gettext, which ``_`` stands in for
    with app.test_request_context("/"), force_locale("en"):
        for text in ("Filtrer", "100 %%", "Aller au contenu", "a <b> & c"):
            ours = env.from_string("{{ _(t) }}").render(t=text)
            theirs = env.from_string("{{ gettext(t) }}").render(t=text)
            assert ours == theirs
        assert env.globals["_"] is not plain
        markup = env.from_string("{% set x = _('Filtrer') %}{{ x.__class__.__name__ }}").render()
        assert markup == Markup.__name__


def test_static_urls_are_the_routers_own(app: Flask) -> None:
    """``static_url`` (core/templating.py) gives url_for's URL, for the application mounted at the
    root as under a prefix (the prefix is part of what it keeps)."""
    from flask import url_for  # noqa: PLC0415

    from core.templating import static_url  # noqa: PLC0415

    for root in ("", "/egide"):
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            for _ in range(2):
                assert static_url("css/egide.css") == url_for("static", filename="css/egide.css")
                assert static_url("css/egide.css") == f"{root}/static/css/egide.css"
