"""Every page's footer names who runs the service, how to write to them and where the
privacy notice is; the notice says in plain words what is kept and who sees it. The form
macros tie each hint and error to its field and put the keyboard on the error summary."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from wtforms import BooleanField, StringField

from config.settings import load_settings
from grantpool.grants.forms import choice
from grantpool.platform import pages
from grantpool.platform.forms import CheckboxesField, Form

OWN = {"FUND_MANAGER_NAME": "Lake Region Trust", "CONTACT_EMAIL": "help@lake.example.org"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(OWN)


@pytest.fixture
def served(app: Flask) -> Flask:
    """The app with the privacy notice's blueprint, in case create_app does not register
    it yet (test_create_app_serves_the_privacy_notice requires that it does)."""
    if "pages" not in app.blueprints:
        pages.init_app(app)
    return app


def test_create_app_serves_the_privacy_notice(app: Flask) -> None:
    assert "pages" in app.blueprints, (
        "register grantpool.platform.pages in create_app: pages.init_app(app)"
    )


def test_the_settings_have_defaults_and_follow_the_environment() -> None:
    defaults = load_settings({})
    assert defaults["FUND_MANAGER_NAME"] and "@" in defaults["CONTACT_EMAIL"]
    assert defaults["PRIVACY_NOTICE_URL"] is None
    own = load_settings(
        {"GRANTPOOL_CONTACT_EMAIL": "a@b.example", "GRANTPOOL_FUND_MANAGER_NAME": "X"}
    )
    assert (own["CONTACT_EMAIL"], own["FUND_MANAGER_NAME"]) == ("a@b.example", "X")


def test_every_page_names_the_fund_manager_and_links_to_the_notice(
    served: Flask, client: FlaskClient
) -> None:
    for path in ("/calls", "/login", "/no-such-page"):
        footer = re.search(r"<footer.*</footer>", client.get(path).get_data(as_text=True), re.S)
        assert footer, path
        assert "Lake Region Trust" in footer.group(0)
        assert 'href="mailto:help@lake.example.org"' in footer.group(0)
        assert 'href="/privacy"' in footer.group(0)


def test_the_notice_says_what_is_kept_who_sees_it_and_how_to_be_credited(
    served: Flask, client: FlaskClient
) -> None:
    response = client.get("/privacy")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<title>Privacy notice – grantpool</title>" in page
    for words in (
        "This service is run by Lake Region Trust",
        "What we keep",
        "Who can see it",
        "reviewed blind",
        "How you are credited, or not",
        "anonymously",
        "withdraw your consent",
        "fewer than 3 grants",
        "put you or your organisation in danger",
        'href="mailto:help@lake.example.org"',
    ):
        assert words in page, words

    french = client.get("/privacy", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in french


def test_a_notice_of_the_fund_managers_own_replaces_the_built_in_one(
    served: Flask, client: FlaskClient
) -> None:
    served.config["PRIVACY_NOTICE_URL"] = "https://lake.example.org/privacy"
    response = client.get("/privacy")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://lake.example.org/privacy"
    footer = client.get("/calls").get_data(as_text=True)
    assert 'href="https://lake.example.org/privacy"' in footer


class _Sample(Form):
    name = StringField("Name", description="As it is registered")
    kinds = CheckboxesField("Kinds", choices=[choice("a", "A"), choice("b", "B")])
    agree = BooleanField("I agree")


_MACROS = """{% from "_forms.html" import error_summary, field, checkboxes %}
{{ error_summary(form) }}{{ field(form.name) }}{{ checkboxes(form.kinds) }}
{{ field(form.agree) }}"""


def _rendered(app: Flask, errors: dict[str, list[str]]) -> str:
    with app.test_request_context("/"):
        form = _Sample(formdata=None)
        for name, messages in errors.items():
            form[name].errors = list(messages)
        return render_template_string(_MACROS, form=form)


def _tag(html: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|fieldset)[^>]*id="{element_id}"[^>]*>', html)
    assert match, (element_id, html)
    return match.group(0)


def test_hints_and_errors_are_tied_to_their_fields(app: Flask) -> None:
    clean = _rendered(app, {})
    assert "error-summary" not in clean
    assert 'aria-describedby="name-hint"' in _tag(clean, "name")
    assert "aria-invalid" not in clean

    html = _rendered(
        app, {"name": ["Enter a name."], "kinds": ["Tick one."], "agree": ["Tick to agree."]}
    )
    name = _tag(html, "name")
    assert 'aria-invalid="true"' in name
    assert 'aria-describedby="name-hint name-error"' in name
    assert 'id="name-error"' in html and 'id="name-hint"' in html
    group = _tag(html, "kinds")
    assert 'aria-describedby="kinds-error"' in group
    assert 'aria-invalid="true"' in _tag(html, "kinds-0")
    agree = _tag(html, "agree")
    assert 'aria-invalid="true"' in agree and 'aria-describedby="agree-error"' in agree
    assert "Tick to agree." in html  # a single checkbox's message is shown too


def test_the_error_summary_takes_focus_and_links_to_each_field(app: Flask) -> None:
    html = _rendered(app, {"name": ["Enter a name."], "kinds": ["Tick one."]})
    summary = re.search(r'<div class="error-summary"[^>]*>', html)
    assert summary
    assert "autofocus" in summary.group(0) and 'tabindex="-1"' in summary.group(0)
    assert '<a href="#name">Enter a name.</a>' in html
    # A fieldset cannot take focus: the link goes to the group's first box.
    assert '<a href="#kinds-0">Tick one.</a>' in html
