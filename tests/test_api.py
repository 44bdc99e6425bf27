"""The JSON API: tokens, OpenAPI, permissions and validation."""

from __future__ import annotations

from sqlalchemy import select

from grantpool.accounts import services
from grantpool.accounts.models import ApiToken, Role
from grantpool.funds.models import Fund
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_fund, make_organisation, make_user


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_openapi_and_docs_are_served(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "grantpool API"
    assert "/api/v1/funds" in spec["paths"]
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "GET /api/v1/funds" in docs


def test_api_needs_authentication(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


def test_token_is_stored_hashed_and_authenticates(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    token, secret = services.create_api_token(session, user, "sync")
    stored = session.scalar(select(ApiToken).where(ApiToken.id == token.id))
    assert secret not in (stored.token_hash, stored.prefix)
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.get_json()["email"] == user.email
    assert "Set-Cookie" not in me.headers  # a token call starts no browser session

    services.revoke_api_token(session, user, token.id)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_create_fund_through_the_api(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    _token, secret = services.create_api_token(session, user, "script")
    response = client.post(
        "/api/v1/funds",
        headers=bearer(secret),
        json={
            "name": "Coastal Resilience Fund",
            "base_currency": "KES",
            "timezone": "Africa/Nairobi",
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["base_currency"] == "KES"
    assert session.get(Fund, body["id"]).name == "Coastal Resilience Fund"


def test_bad_json_gets_field_messages_and_changes_nothing(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    _token, secret = services.create_api_token(session, user, "script")
    before = len(session.scalars(select(Fund)).all())
    response = client.post(
        "/api/v1/funds",
        headers=bearer(secret),
        json={"name": "Bad Fund", "base_currency": "XYZ", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"base_currency", "timezone"}
    missing = client.post("/api/v1/funds", headers=bearer(secret), json={"name": "x"})
    assert missing.status_code == 422
    assert "base_currency" in missing.get_json()["errors"]
    assert len(session.scalars(select(Fund)).all()) == before


def test_session_authenticated_api_change_needs_csrf_header(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    login(client, user.email, PASSWORD)
    data = {"name": "Session Fund", "base_currency": "USD", "timezone": "UTC"}
    assert client.post("/api/v1/funds", json=data).status_code == 400
    ok = client.post("/api/v1/funds", json=data, headers={"X-CSRFToken": csrf_token(client)})
    assert ok.status_code == 201


def test_a_bearer_header_never_rides_on_the_session_cookie(client, session):
    """A request is a token request (cookie ignored, no CSRF) or a cookie request (CSRF
    required): a bogus token beside a signed-in browser's cookie is not signed in."""
    signed_in = make_user(session, Role.FUND_MANAGER.value)
    login(client, signed_in.email, PASSWORD)
    data = {"name": "Forged Fund", "base_currency": "USD", "timezone": "UTC"}
    forged = client.post("/api/v1/funds", json=data, headers=bearer("gp_not-a-real-token"))
    assert forged.status_code == 401
    assert session.query(Fund).filter_by(name="Forged Fund").count() == 0
    # A real token acts as its own user, whoever's cookie comes with it.
    other = make_user(session, Role.FUND_MANAGER.value)
    _token, secret = services.create_api_token(session, other, "script")
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["email"] == other.email
    assert client.get("/api/v1/me").get_json()["email"] == signed_in.email


def test_other_organisation_is_404_through_the_api(client, session):
    mine, theirs = make_organisation(session), make_organisation(session)
    user = make_user(session, Role.APPLICANT.value, organisations=[mine])
    _token, secret = services.create_api_token(session, user, "phone")
    assert client.get(f"/api/v1/organisations/{mine.id}", headers=bearer(secret)).status_code == 200
    assert (
        client.get(f"/api/v1/organisations/{theirs.id}", headers=bearer(secret)).status_code == 404
    )
    assert client.get("/api/v1/organisations", headers=bearer(secret)).status_code == 403


def test_fund_manager_of_one_fund_cannot_read_another_through_the_api(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    own = make_fund(session, manager)
    other = make_fund(session)
    scoped = make_user(session, (Role.FUND_MANAGER.value, own.id, None))
    _token, secret = services.create_api_token(session, scoped, "x")
    listed = [f["id"] for f in client.get("/api/v1/funds", headers=bearer(secret)).get_json()]
    assert listed == [own.id]
    assert client.get(f"/api/v1/funds/{other.id}", headers=bearer(secret)).status_code == 404
