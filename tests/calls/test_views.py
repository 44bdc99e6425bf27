"""A fund manager builds a call through the pages."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.calls.models import Call
from tests.conftest import login
from tests.factories import PASSWORD, make_call, make_fund, make_user


def token_from(client: FlaskClient, url: str) -> str:
    """The CSRF token on a page the signed-in user sees.

    The `app` fixture keeps one app context open for the whole test, so Flask's `g` (where
    flask-wtf caches the token) outlives each request; sign-in clears the session, so
    the cached token must be dropped to get the new session's one.
    """
    import re

    from flask import g

    g.pop("csrf_token", None)

    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match
    return match.group(1)


def test_manager_creates_a_call_adds_questions_and_opens_it(
    session: Session, client: FlaskClient
) -> None:
    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager, timezone="Africa/Nairobi")
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    assert client.get(f"/manage/funds/{fund.id}/calls/new").status_code == 200
    closes = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post(
        f"/manage/funds/{fund.id}/calls/new",
        data={
            "csrf_token": token,
            "title_en": "Water",
            "budget": "lots",
            "min_request": "100",
            "max_request": "500",
            "closes_at": closes,
        },
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Enter the total budget" in page and 'value="Water"' in page
    response = client.post(
        f"/manage/funds/{fund.id}/calls/new",
        data={
            "csrf_token": token,
            "title_en": "Water",
            "title_fr": "Eau",
            "budget": "10,000",
            "min_request": "100",
            "max_request": "500",
            "closes_at": closes,
            "channels": ["web", "api"],
            "countries": "KE, UG",
        },
    )
    assert response.status_code == 302
    call = session.scalar(select(Call).where(Call.fund_id == fund.id))
    assert call is not None and call.title == {"en": "Water", "fr": "Eau"}
    assert call.eligibility["countries"] == ["KE", "UG"]

    refused = client.post(
        f"/manage/calls/{call.id}/open", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Add at least one question" in refused.get_data(as_text=True)
    assert call.state == "draft"

    added = client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={
            "csrf_token": token,
            "key": "wells",
            "kind": "number",
            "label_en": "How many wells?",
            "required": "y",
        },
    )
    assert added.status_code == 302
    bad_q = client.post(
        f"/manage/calls/{call.id}/questions/new",
        data={"csrf_token": token, "key": "wells", "kind": "single_choice", "label_en": "x"},
    )
    assert bad_q.status_code == 422
    assert "Another question already uses this key" in bad_q.get_data(as_text=True)
    opened = client.post(f"/manage/calls/{call.id}/open", data={"csrf_token": token})
    assert opened.status_code == 302
    session.refresh(call)
    assert call.state == "open" and [q["key"] for q in call.questions] == ["wells"]
    show = client.get(f"/manage/calls/{call.id}").get_data(as_text=True)
    assert "How many wells?" in show and "Close the call now" in show
    edit = client.get(f"/manage/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="10000.00"' in edit


def test_another_funds_manager_cannot_see_the_call(session: Session, client: FlaskClient) -> None:
    call = make_call(session)
    other = make_user(session, ("fund_manager", make_fund(session).id, None))
    login(client, other.email, PASSWORD)
    assert client.get(f"/manage/calls/{call.id}").status_code == 404


def test_a_question_with_answers_is_kept_and_the_manager_told_why(
    session: Session, client: FlaskClient
) -> None:
    from grantpool.intake import services as intake
    from grantpool.platform.money import Money
    from tests.factories import make_organisation

    manager = make_user(session, "fund_manager")
    now = dt.datetime.now(dt.UTC)
    call = make_call(session, manager=manager, open_until=now + dt.timedelta(days=5))
    organisation = make_organisation(session)
    applicant = make_user(session, organisations=[organisation])
    intake.submit_application(
        session,
        applicant,
        call,
        organisation,
        {"summary": "Plant trees", "has_partner": "no"},
        Money(200000, "USD"),
        "web",
        "en",
        now,
    )
    keys = [q["key"] for q in call.questions]
    login(client, manager.email, PASSWORD)
    token = token_from(client, "/")
    refused = client.post(
        f"/manage/calls/{call.id}/questions/summary/delete",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "already has answers and cannot be removed" in refused.get_data(as_text=True)
    session.refresh(call)
    assert [q["key"] for q in call.questions] == keys
    moved = client.post(
        f"/manage/calls/{call.id}/questions/summary/move",
        data={"csrf_token": token, "direction": "down"},
    )
    assert moved.status_code == 302
    session.refresh(call)
    assert [q["key"] for q in call.questions] == [keys[1], keys[0], *keys[2:]]
