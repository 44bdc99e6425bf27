"""An applicant comes back on a cheap phone (360×640, JavaScript off): the session has
expired in the middle of a draft, and signing in by code or by link lands on that page."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from grantpool.intake.services import start_application
from grantpool.platform.time import now_utc
from tests.browser.conftest import newest_mail, run_in_app
from tests.factories import make_call, make_organisation, make_user


def _draft(live_server) -> tuple[str, str]:
    def build(session):
        organisation = make_organisation(session)
        person = make_user(session, organisations=[organisation], password=None)
        call = make_call(session, open_until=now_utc() + dt.timedelta(days=10))
        draft = start_application(session, person, call, organisation, language="en")
        return person.email, f"/applications/{draft.id}/page/1"

    return run_in_app(live_server, build)


def _small_phone(browser):
    return browser.new_context(viewport={"width": 360, "height": 640}, java_script_enabled=False)


def test_back_to_the_draft_by_code_then_language_and_sign_out(browser, live_server):
    email, section = _draft(live_server)
    context = _small_phone(browser)
    page = context.new_page()

    page.goto(f"{live_server.url}{section}")
    assert page.url.startswith(f"{live_server.url}/login?next=")
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.locator("main h2").all_inner_texts() == [
        "Get a sign-in link by email",
        "Sign in with a password",
    ]
    form = page.locator("main form").first.bounding_box()
    assert form is not None and form["x"] + form["width"] <= 360

    page.fill("#link-email", email)
    page.click("main button:has-text('Send me a link')")
    assert page.locator("h1").inner_text() == "Check your email"
    code = re.search(r"sign-in page: (\d{6})", newest_mail(live_server, email)).group(1)
    page.fill("#code", code)
    page.click("main button:has-text('Sign in')")
    assert page.url == f"{live_server.url}{section}"

    # The header's language button comes back to the same section, keeping what was
    # typed there (it submits the section's form, which saves first).
    page.fill("#q-summary", "Typed before switching")
    page.click("header form.language button[value=fr]")
    assert page.url.rstrip("?") == f"{live_server.url}{section}"
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.input_value("#q-summary") == "Typed before switching"
    # Enter in a field still saves and goes on; it does not press a language button.
    amount = section.replace("/page/1", "/page/0")
    page.goto(f"{live_server.url}{amount}")
    page.fill("#q-requested_amount", "2000")
    page.press("#q-requested_amount", "Enter")
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}{section}"
    assert page.locator("html").get_attribute("lang") == "fr"

    # Signing out keeps the language on the sign-in page.
    page.click("header form[action='/logout'] button")
    assert page.url.startswith(f"{live_server.url}/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Se connecter"
    context.close()


def test_the_emailed_link_opens_the_page_it_was_asked_from(browser, live_server):
    email, section = _draft(live_server)
    asking = _small_phone(browser)
    page = asking.new_page()
    page.goto(f"{live_server.url}{section}")
    page.fill("#link-email", email)
    page.click("main button:has-text('Send me a link')")
    link = re.search(r"http://\S+/sign-in/\S+", newest_mail(live_server, email)).group(0)
    asking.close()

    # Opened on another phone, from the mail.
    reading = _small_phone(browser)
    page = reading.new_page()
    page.goto(link)
    page.click("main button:has-text('Sign in to grantpool')")
    assert page.url == f"{live_server.url}{section}"
    reading.close()


def test_registering_again_with_a_known_address_shows_the_same_and_mails_a_way_in(
    browser, live_server
):
    email, _section = _draft(live_server)
    context = _small_phone(browser)
    page = context.new_page()
    page.goto(f"{live_server.url}/register")
    page.fill("#organisation_name", "Kisumu Youth Collective")
    page.select_option("#org_type", "community_based")
    page.select_option("#country", "KE")
    page.fill("#contact_name", "Achieng Otieno")
    page.fill("#email", email)
    page.click("main form button[type=submit]")
    assert "We have emailed a sign-in link and a six-digit code" in page.inner_text("main")
    # The way in is mailed before the answer: the code on the page signs in to the account.
    code = re.search(r"\b(\d{6})\b", newest_mail(live_server, email)).group(1)
    page.fill("#code", code)
    page.click("main form button[type=submit]")
    assert "/my-applications" in page.url
    context.close()


AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text(encoding="utf-8")


def _serious_axe_problems(page) -> list[str]:
    page.evaluate(AXE)
    return list(
        page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.id}: ${v.help}`)"""
        )
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_sign_in_pages_pass_axe_and_fit_a_small_phone(browser, live_server, lang):
    email, section = _draft(live_server)
    # axe.run is asynchronous, so it needs JavaScript; the pages have no script of their own.
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, locale="fr-FR" if lang == "fr" else "en-GB"
    )
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(label: str) -> None:
        problems = _serious_axe_problems(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            problems.append(f"{width}px wide")
        if problems:
            found[label] = problems

    page.goto(f"{live_server.url}{section}")
    check("sign-in page")
    page.click("main button[formnovalidate]")  # no address typed
    check("check your email")
    page.fill("#email", email)
    page.fill("#code", "12")
    page.click("main button[type=submit]")
    assert page.locator("#code-error").is_visible()
    check("wrong code")
    page.goto(f"{live_server.url}/sign-in/not-a-real-token?next={section}")
    check("sign-in link")
    context.close()
    assert not found, found
