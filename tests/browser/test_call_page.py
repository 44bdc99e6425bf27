"""A visitor on a small phone, JavaScript off, finds a call from the home page, reads what
it asks and checks whether their group may apply, all before registering."""

from __future__ import annotations

import datetime as dt
import itertools
from urllib.parse import parse_qs, urlsplit

from grantpool.platform.time import now_utc
from tests.browser.conftest import run_in_app
from tests.factories import make_call

PAGE_LIMIT = 60_000


def _heading_levels(page) -> list[int]:
    tags = page.locator("main h1, main h2, main h3, main h4").evaluate_all(
        "els => els.map(e => e.tagName)"
    )
    return [int(tag[1]) for tag in tags]


def test_a_visitor_checks_a_call_before_registering(browser, live_server):
    def setup(session):
        make_call(session, open_until=now_utc() + dt.timedelta(days=40), title={"en": "Later call"})
        return make_call(
            session,
            open_until=now_utc() + dt.timedelta(days=10),
            title={"en": "Clean water for Lake Victoria villages"},
            eligibility={"org_types": ["community_based", "informal_group"], "countries": ["KE"]},
            channels=["web", "odk"],
        ).id

    call_id = run_in_app(live_server, setup)
    context = browser.new_context(viewport={"width": 360, "height": 640}, java_script_enabled=False)
    page = context.new_page()
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.status == 200 else None)

    page.goto(live_server.url + "/")
    page.click("main a:has-text('Clean water for Lake Victoria villages')")
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/calls/{call_id}"
    assert page.title() == "Clean water for Lake Victoria villages – grantpool"
    who = page.locator("h2#who + ul li").all_inner_texts()
    assert who[0].startswith("Kinds of organisation: Community-based organisation and Informal")
    assert who[1] == "Working in Kenya."
    assert "Registered or not" in who[2]
    assert page.locator("h3:has-text('What will you do?')").count() == 1
    assert "up to 50 words" in page.inner_text("main")
    levels = _heading_levels(page)
    assert levels[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert sum(sizes) < PAGE_LIMIT

    # Not eligible: the reasons, in plain words; the answers stay chosen.
    page.select_option("#org_type", "national_ngo")
    page.select_option("#country", "KE")
    page.click("#eligibility button[type=submit]")
    assert "You cannot apply to this call" in page.inner_text("#eligibility")
    assert "only for these kinds of organisation" in page.inner_text("#eligibility")
    assert page.title().startswith("You cannot apply to this call: ")

    # Eligible: on to registration, with the answers carried.
    page.select_option("#org_type", "informal_group")
    page.click("#eligibility button[type=submit]")
    assert "You can apply" in page.inner_text("#eligibility")
    page.click("#eligibility a:has-text('Register and start your application')")
    url = urlsplit(page.url)
    assert url.path == "/register"
    assert parse_qs(url.query) == {
        "next": [f"/calls/{call_id}/apply"],
        "org_type": ["informal_group"],
        "country": ["KE"],
    }
    assert page.locator("h1").inner_text() == "Register your organisation"
    context.close()
