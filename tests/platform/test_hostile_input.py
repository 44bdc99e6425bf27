"""Hostile input gets a 4xx that says what is wrong, and nothing is written: integers past
64 bits in query strings and bodies, NUL characters and lone surrogates in text, JSON
nested hundreds deep or with a 10,000-digit number, extreme years in filters, a language
that is not one, a `next=` that leaves the site or breaks the Location header, and HEAD."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.accounts.services import create_api_token
from grantpool.funds.models import Fund
from grantpool.organisations.models import Organisation
from grantpool.platform.audit import AuditEvent
from tests.conftest import csrf_token, login, signed_in_client
from tests.factories import PASSWORD, make_fund, make_organisation, make_user

HUGE = str(2**64)
FUND = {"name": "Coastal Fund", "base_currency": "KES", "timezone": "Africa/Nairobi"}


def _written(session: Session) -> tuple[int, int, int]:
    """Rows a refused request must not have added."""
    return (
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        session.scalar(select(func.count()).select_from(Fund)) or 0,
        session.scalar(select(func.count()).select_from(Organisation)) or 0,
    )


def _bearer(session: Session, role: str = Role.FUND_MANAGER.value) -> dict[str, str]:
    user = make_user(session, role)
    _token, secret = create_api_token(session, user, "hostile")
    return {"Authorization": f"Bearer {secret}"}


def _post_json(client: FlaskClient, path: str, body: str, headers: dict[str, str]) -> Any:
    return client.post(
        path,
        data=body.encode("utf-8", "surrogatepass"),
        headers=headers,
        content_type="application/json",
    )


def _refused(response: Any, status: int, field: str, text: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "unreadable_input" if status == 400 else body["code"]
    assert any(text in message for message in body["errors"][field]), body


# Integers past 64 bits ---------------------------------------------------------------


def test_huge_page_cursors_and_years_in_query_strings_are_ignored(app, session):
    admin = signed_in_client(app, make_user(session, Role.ADMIN.value))
    for path in (
        f"/admin/users?after={HUGE}",
        f"/admin/audit?before={HUGE}",
        f"/organisations/?after={HUGE}",
        f"/published/?after={HUGE}&year=99999999999999999999",
        "/published/?after=-1&year=١٩٩٩",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path


def test_a_huge_integer_in_an_api_query_is_a_field_error(client, session):
    before = _written(session)
    headers = _bearer(session, Role.ADMIN.value)
    before = _written(session)
    response = client.get(f"/api/v1/organisations?after={HUGE}", headers=headers)
    assert response.status_code == 422
    assert "after" in response.get_json()["errors"]
    assert _written(session) == before


def test_an_amount_of_ten_to_the_nineteen_is_a_field_error_before_any_write(client, session):
    headers = _bearer(session, Role.ADMIN.value)
    organisation = {"name": "Big Budget Group", "org_type": "community_based", "country": "KE"}
    before = _written(session)
    for budget in (10**19, str(10**19), 10**25):
        response = client.post(
            "/api/v1/organisations",
            json={**organisation, "annual_budget_minor": budget},
            headers=headers,
        )
        assert response.status_code == 422, budget
        assert "annual_budget_minor" in response.get_json()["errors"]
    assert _written(session) == before


def test_ids_past_64_bits_in_a_body_are_field_errors(client, session):
    organisation = make_organisation(session)
    applicant = make_user(session, Role.APPLICANT.value, organisations=[organisation])
    _token, secret = create_api_token(session, applicant, "hostile")
    before = _written(session)
    response = client.post(
        "/api/v1/calls/1/applications",
        json={
            "organisation_id": 2**63,
            "answers": {},
            "requested_minor": 100,
            "currency": "USD",
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 422
    assert "organisation_id" in response.get_json()["errors"]
    assert _written(session) == before


def test_a_ten_thousand_digit_number_is_refused(client, session):
    headers = _bearer(session)
    before = _written(session)
    body = '{"name": "Fund", "base_currency": "KES", "timezone": "UTC", "x": ' + "9" * 10_000
    response = _post_json(client, "/api/v1/funds", body + "}", headers)
    _refused(response, 400, "x", "too large")
    assert "no number here has more than 30 digits" in response.get_data(as_text=True)
    assert _written(session) == before


def test_nan_and_infinity_are_not_json(client, session):
    headers = _bearer(session)
    before = _written(session)
    for constant in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = json.dumps(FUND)[:-1] + f', "rate": {constant}}}'
        response = _post_json(client, "/api/v1/funds", body, headers)
        assert response.status_code == 400, constant
    assert _written(session) == before


# JSON nested deep ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 100_000])
def test_json_nested_hundreds_deep_is_refused(client, session, depth):
    headers = _bearer(session)
    before = _written(session)
    body = json.dumps(FUND)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    response = _post_json(client, "/api/v1/funds", body, headers)
    assert response.status_code == 400
    assert (
        "nested too deeply"
        in response.get_json()["errors"][next(iter(response.get_json()["errors"]))][0]
    )
    assert _written(session) == before


def test_a_body_that_is_not_json_is_a_400_with_a_message(client, session):
    headers = _bearer(session)
    response = _post_json(client, "/api/v1/funds", '{"name": ', headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.get_data(as_text=True)


# NUL characters and lone surrogates --------------------------------------------------


def test_nul_in_a_json_field_is_refused_with_the_field(client, session):
    headers = _bearer(session)
    before = _written(session)
    response = client.post(
        "/api/v1/funds", json={**FUND, "name": "Coastal\x00Fund"}, headers=headers
    )
    _refused(response, 400, "name", "cannot be stored")
    assert _written(session) == before


def test_a_lone_surrogate_in_json_is_refused(client, session):
    headers = _bearer(session)
    before = _written(session)
    body = json.dumps(FUND).replace("Coastal Fund", "Coastal \\ud800 Fund")
    response = _post_json(client, "/api/v1/funds", body, headers)
    _refused(response, 400, "name", "cannot be stored")
    nested = json.dumps({**FUND, "tags": [{"\\udfff": 1}]}).replace("\\\\udfff", "\\udfff")
    assert _post_json(client, "/api/v1/funds", nested, headers).status_code == 400
    assert _written(session) == before


def test_nul_in_a_form_field_is_refused_before_any_write(app, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    browser = signed_in_client(app, manager)
    before = _written(session)
    response = browser.post(
        "/funds/new",
        data={**FUND, "name": "Coastal\x00Fund", "csrf_token": csrf_token(browser)},
    )
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)
    assert _written(session) == before


def test_nul_in_a_query_string_or_a_path_is_refused(app, client, session):
    admin = signed_in_client(app, make_user(session, Role.ADMIN.value))
    assert admin.get("/admin/users?q=a%00b").status_code == 400
    headers = _bearer(session, Role.ADMIN.value)
    response = client.get("/api/v1/applications/GP-2026%0000001", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["code"] == "unreadable_input"


def test_nul_in_a_header_is_refused(client, session):
    headers = {**_bearer(session, Role.FINANCE_OFFICER.value), "Idempotency-Key": "a\x00b"}
    fund = make_fund(session)
    response = client.post(f"/api/v1/funds/{fund.id}/contributions", json={}, headers=headers)
    assert response.status_code == 400


# Filters with extreme years -------------------------------------------------------------


def test_extreme_years_in_filters_are_named_not_a_server_error(app, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    fund = make_fund(session, manager)
    browser = signed_in_client(app, manager)
    page = browser.get(f"/dashboard/funds/{fund.id}?from=0001-01-01&to=9999-12-31&call={HUGE}")
    assert page.status_code == 422  # the figures, unfiltered, with the filters' mistakes
    assert "Enter a date such as 2026-01-31." in page.get_data(as_text=True)
    admin = signed_in_client(app, make_user(session, Role.ADMIN.value))
    assert admin.get("/admin/audit?since=0001-01-01&until=9999-12-31").status_code == 200


# Language ------------------------------------------------------------------------------


def test_a_language_that_is_not_offered_changes_nothing(app, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    browser = signed_in_client(app, user)
    before = _written(session)
    for value in ("fr<script>", "fr\r\n", "e\u20ac", "x" * 300):
        response = browser.post(
            "/language", data={"locale": value, "next": "/", "csrf_token": csrf_token(browser)}
        )
        assert response.status_code in {302, 400}
        with browser.session_transaction() as cookie_session:
            assert cookie_session.get("locale") is None
    assert _written(session) == before


def test_an_application_language_that_is_not_offered_is_a_field_error(client, session):
    organisation = make_organisation(session)
    applicant = make_user(session, Role.APPLICANT.value, organisations=[organisation])
    _token, secret = create_api_token(session, applicant, "hostile")
    from tests.grants.helpers import make_world

    call = make_world(session).call
    before = _written(session)
    response = client.post(
        f"/api/v1/calls/{call.id}/applications",
        json={
            "organisation_id": organisation.id,
            "answers": {"summary": "Seeds.", "has_partner": "no"},
            "requested_minor": 200000,
            "currency": "USD",
            "language": "e\u20ac<b>",
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 422
    assert "language" in response.get_json()["errors"]
    assert _written(session) == before


# next= ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/grants/\r\nSet-Cookie: stolen=1",
        "/x\nLocation: https://evil.example",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_goes_only_to_a_path_on_this_site(client, session, target):
    user = make_user(session, Role.FUND_MANAGER.value)
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "stolen" not in str(response.headers)


def test_sign_in_keeps_a_local_next(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    client.get("/login?next=/grants/%3Fpage%3D2")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "/grants/?page=2",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/grants/?page=2"


# HEAD ----------------------------------------------------------------------------------


def test_head_answers_like_get_without_a_body(app, client, session):
    head = client.head("/login")
    assert head.status_code == 200
    assert head.get_data() == b""
    assert client.head("/api/v1/calls").status_code == 200
    user = make_user(session, Role.FUND_MANAGER.value)
    login(client, user.email, PASSWORD)
    assert client.head("/account/password").status_code == 200


# SQLite stores any integer in any column: there is nothing it refuses.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_value_the_database_refuses_is_a_400_and_keeps_nothing(
    app: Any, session: Session, client: FlaskClient
) -> None:
    """The safety net behind the schemas: should a value the database cannot hold ever get
    through (a number past what its column takes), the answer is 400 and nothing written
    in that request is kept."""
    from sqlalchemy import text

    from grantpool.extensions import db

    def store_a_huge_number() -> str:
        make_organisation(db.session, name="Written before the refusal")
        db.session.execute(text("SELECT CAST(:value AS smallint)"), {"value": 10**6})
        return "unreachable"

    app.add_url_rule("/test-only/huge", "test_only_huge", store_a_huge_number, methods=["POST"])
    before = _written(session)
    response = client.post(
        "/test-only/huge",
        data={"csrf_token": csrf_token(client)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "unreadable_input"
    assert _written(session) == before
