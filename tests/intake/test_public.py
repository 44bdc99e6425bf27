"""Before registering, a visitor reads what a call asks and checks whether they may apply."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import User
from grantpool.organisations.models import Organisation
from grantpool.platform.audit import AuditEvent
from grantpool.platform.sqlcount import HEADER
from grantpool.platform.time import now_utc
from tests.conftest import login
from tests.factories import PASSWORD, make_call, make_organisation, make_user

ELIGIBILITY = {
    "org_types": ["community_based", "local_ngo"],
    "countries": ["KE", "UG"],
    "registered_only": True,
}


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"SQL_COUNT_HEADER": True}


def questions() -> list[dict[str, object]]:
    return [
        {
            "key": "summary",
            "kind": "long_text",
            "label": {"en": "What will you do?", "fr": "Que ferez-vous ?"},
            "help": {"en": "A few sentences."},
            "required": True,
            "word_limit": 150,
            "section": "Your project",
        },
        {
            "key": "place",
            "kind": "single_choice",
            "label": {"en": "Where?"},
            "choices": ["Village", "Town"],
            "section": "Your project",
        },
        {
            "key": "has_partner",
            "kind": "yes_no",
            "label": {"en": "Do you work with a partner?"},
            "required": True,
        },
        {
            "key": "partner_name",
            "kind": "short_text",
            "label": {"en": "Partner's name"},
            "required": True,
            "show_if": {"has_partner": "yes"},
        },
        {
            "key": "budget",
            "kind": "budget_table",
            "label": {"en": "Your budget"},
            "required": True,
        },
        {
            "key": "registration",
            "kind": "file",
            "label": {"en": "Registration certificate"},
            "required": True,
            "file_kinds": ["document", "photo"],
            "max_bytes": 2 * 1024 * 1024,
        },
        {
            "key": "voice",
            "kind": "file",
            "label": {"en": "A voice note about your group"},
            "file_kinds": ["audio"],
        },
    ]


def open_call(session: Session, **fields: object):
    closes = (now_utc() + dt.timedelta(days=10)).replace(hour=20, minute=59, second=0)
    fields.setdefault("questions", questions())
    return make_call(session, open_until=closes, **fields)


def text(response) -> str:
    """The page's readable text, tags dropped and spaces collapsed."""
    body = response.get_data(as_text=True).split('<main id="main"', 1)[1]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_visitor_reads_who_may_apply_what_is_asked_and_until_when(
    session: Session, client: FlaskClient
) -> None:
    call = open_call(session, eligibility=ELIGIBILITY, channels=["web", "odk", "spreadsheet"])
    response = client.get(f"/calls/{call.id}")
    assert response.status_code == 200
    page = text(response)
    # Who may apply, each rule a sentence.
    assert "Kinds of organisation: Community-based organisation and Local NGO." in page
    assert "Working in Kenya or Uganda." in page
    assert "Registered organisations only: informal groups cannot apply." in page
    # What the form asks, step by step, with limits.
    assert "Between $1,000.00 and $5,000.00, in US dollars (USD)." in page
    assert "Your project" in page
    assert "What will you do? A few sentences. Required. A written answer, up to 150 words." in (
        page
    )
    assert "Optional. One of: Village or Town." in page
    assert "Only if you answer yes to “Do you work with a partner?”." in page
    assert "A budget: each item with its amount in US dollars (USD)." in page
    # The documents to have ready: the file questions, with kinds and sizes.
    documents = page.split("Documents to have ready", 1)[1].split("Ways to apply", 1)[0]
    assert "Registration certificate" in documents and "A voice note" in documents
    assert "Required. One file: documents" in documents and "up to 2 MB" in documents
    assert "Optional. One file: voice recordings" in documents
    assert "What will you do?" not in documents
    # The ways to apply.
    ways = page.split("Ways to apply", 1)[1]
    assert "Online, on this website" in ways and "ODK Collect" in ways
    assert "spreadsheet" in ways and "API" not in ways.split("Start your application")[0]
    # The closing date to the minute, in the fund's zone.
    assert re.search(r"Closes \w+day, \w+ \d+, \d{4}, 11:59 PM \(Africa/Nairobi\)", page)
    assert not re.search(r"\d:\d\d:\d\d", page)


def test_a_call_without_rules_says_anyone_may_apply_and_asks_nothing(
    session: Session, client: FlaskClient
) -> None:
    call = open_call(session, questions=None)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Any kind of organisation or group." in page
    assert "Working in any country." in page
    assert "Registered or not: informal groups are welcome." in page
    assert "Any organisation or group can apply to this call." in page
    assert 'name="check"' not in page
    assert "This call asks for no documents." in page


def test_the_check_asks_only_what_the_rules_ask(session: Session, client: FlaskClient) -> None:
    call = open_call(session, eligibility={"registered_only": True})
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'name="registered"' in page
    assert 'name="org_type"' not in page and 'name="country"' not in page


def test_an_eligible_visitor_is_sent_to_register_with_their_answers(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    call = open_call(session, eligibility=ELIGIBILITY)
    counts = [
        session.scalar(select(func.count()).select_from(m))
        for m in (Organisation, User, AuditEvent)
    ]
    response = client.get(
        f"/calls/{call.id}?check=1&org_type=community_based&country=UG&registered=yes"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You can apply" in page
    assert "<title>You can apply: " in page
    link = unescape(re.search(r'<a class="button" href="([^"]+)">Register and start', page)[1])
    url = urlsplit(link)
    assert url.path == "/register"
    assert parse_qs(url.query) == {
        "next": [f"/calls/{call.id}/apply"],
        "org_type": ["community_based"],
        "country": ["UG"],
        "registered": ["yes"],
    }
    # The answers stay in the form, for a second look.
    assert '<option selected value="community_based">' in page
    # Nothing is stored: no rows, and nothing of the answers in the session.
    session.expire_all()
    assert counts == [
        session.scalar(select(func.count()).select_from(m))
        for m in (Organisation, User, AuditEvent)
    ]
    cookie = client.get_cookie("session")
    if cookie is not None:
        stored = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
        assert "community_based" not in repr(stored) and "UG" not in repr(stored)


def test_an_ineligible_visitor_reads_why_in_plain_words(
    session: Session, client: FlaskClient
) -> None:
    call = open_call(session, eligibility=ELIGIBILITY)
    response = client.get(
        f"/calls/{call.id}?check=1&org_type=national_ngo&country=other&registered=no"
    )
    assert response.status_code == 200
    page = text(response)
    assert "You cannot apply to this call" in page
    assert "This call is only for these kinds of organisation" in page
    assert "This call is only for organisations working in Kenya, Uganda." in page
    assert "This call is only for registered organisations." in page
    assert "See other calls" in page
    assert "Register and start" not in page


def test_bad_answers_get_a_message_beside_each_field(session: Session, client: FlaskClient) -> None:
    call = open_call(session, eligibility=ELIGIBILITY)
    response = client.get(f"/calls/{call.id}?check=1&org_type=spaceship&country=FR")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert '<a href="#org_type">Choose the kind of organisation or group.</a>' in page
    assert '<a href="#country">Choose the country where you work.</a>' in page
    assert '<a href="#registered-0">Answer yes or no.</a>' in page
    assert "You can apply" not in page and "You cannot apply" not in page
    assert "<title>Error: " in page


def test_a_signed_in_member_goes_straight_to_the_form(
    session: Session, client: FlaskClient
) -> None:
    call = open_call(session, eligibility={"countries": ["KE"]})
    person = make_user(session, "applicant", organisations=[make_organisation(session)])
    login(client, person.email, PASSWORD)
    page = client.get(f"/calls/{call.id}?check=1&country=KE").get_data(as_text=True)
    assert f'<a class="button" href="/calls/{call.id}/apply">Start your application</a>' in page


def test_a_closed_call_offers_no_check(session: Session, client: FlaskClient) -> None:
    from grantpool.calls.services import close_call

    call = open_call(session, eligibility=ELIGIBILITY)
    close_call(session, None, call)  # type: ignore[arg-type]
    response = client.get(f"/calls/{call.id}?check=1&org_type=local_ngo&country=KE&registered=yes")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This call closed on" in page
    assert 'name="check"' not in page and "You can apply" not in page
    assert "Who can apply" in page and "What the form asks" in page


def test_texts_in_the_readers_language_fall_back_to_the_calls(
    session: Session, client: FlaskClient
) -> None:
    call = open_call(
        session,
        title={"en": "Wells for villages", "fr": "Des puits pour les villages"},
        eligibility={"countries": ["KE"]},
    )
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Des puits pour les villages</h1>" in page
    assert "Que ferez-vous ?" in page
    # A question written only in English is marked as English for screen readers.
    assert '<h3 lang="en">Do you work with a partner?</h3>' in page
    closes = re.search(r"\w+ \d+ \w+ \d{4}[^(<]*23:59 \(Africa/Nairobi\)", unescape(page))
    assert closes, "the closing date in French, to the minute"


def test_the_signed_out_home_page_leads_to_the_open_calls(
    session: Session, client: FlaskClient
) -> None:
    from grantpool.calls.services import close_call

    soonest = open_call(session)
    later = make_call(session, open_until=now_utc() + dt.timedelta(days=30))
    closed = open_call(session)
    close_call(session, None, closed)  # type: ignore[arg-type]
    draft = make_call(session)
    page = client.get("/").get_data(as_text=True)
    assert '<a class="button" href="/calls">See all calls</a>' in page
    assert page.index(f'href="/calls/{soonest.id}"') < page.index(f'href="/calls/{later.id}"')
    assert re.search(rf'href="/calls/{soonest.id}">[^<]+</a>: closes \w+day', page)
    assert f'href="/calls/{closed.id}"' not in page and f'href="/calls/{draft.id}"' not in page


def test_the_calls_page_lists_open_calls_apart_from_closed_ones(
    session: Session, client: FlaskClient
) -> None:
    from grantpool.calls.services import close_call

    current = open_call(session)
    closed = open_call(session)
    close_call(session, None, closed)  # type: ignore[arg-type]
    page = client.get("/calls").get_data(as_text=True)
    open_part, closed_part = page.split("Closed or not yet open", 1)
    assert f'href="/calls/{current.id}"' in open_part
    assert f'href="/calls/{closed.id}"' in closed_part


# One SELECT of the call with its fund; in tests the request's transaction is a savepoint
# of the test's, which adds its SAVEPOINT and RELEASE.
PAGE_STATEMENTS = 3


def _statements(session: Session, client: FlaskClient, path: str) -> int:
    session.commit()
    session.expunge_all()
    response = client.get(path)
    assert response.status_code == 200
    return int(response.headers[HEADER])


def test_the_call_page_reads_no_statement_per_question(
    session: Session, client: FlaskClient
) -> None:
    small = open_call(session, eligibility=ELIGIBILITY, questions=questions()[:1])
    many = [
        {"key": f"q{n}", "kind": "long_text", "label": {"en": f"Question {n}"}, "word_limit": 9}
        for n in range(40)
    ] + questions()
    large = open_call(session, eligibility=ELIGIBILITY, questions=many)
    check = "?check=1&org_type=local_ngo&country=KE&registered=yes"
    for suffix in ("", check):
        counts = [_statements(session, client, f"/calls/{c.id}{suffix}") for c in (small, large)]
        assert counts[0] == counts[1] <= PAGE_STATEMENTS, suffix
    assert _statements(session, client, "/") <= PAGE_STATEMENTS
