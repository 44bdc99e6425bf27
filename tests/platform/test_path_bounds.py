"""Ids in paths fit the database's 64-bit columns; beyond that there is nothing to find."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts import services as accounts
from grantpool.accounts.models import Role
from tests.conftest import signed_in_client
from tests.factories import make_fund, make_user

TOO_LARGE = 2**63


def test_an_id_beyond_64_bits_is_not_found_on_pages_and_in_the_api(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    for path in (
        f"/published/{TOO_LARGE}",
        f"/published/{TOO_LARGE}/certificate.pdf",
        f"/published/{10**30}",
    ):
        assert client.get(path).status_code == 404, path
    manager = make_user(session, Role.FUND_MANAGER.value)
    _token, secret = accounts.create_api_token(session, manager, "probe")
    headers = {"Authorization": f"Bearer {secret}"}
    for path in (
        f"/api/v1/funds/{TOO_LARGE}",
        f"/api/v1/grants/{TOO_LARGE}/credit",
        f"/api/v1/organisations/{TOO_LARGE}",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
    assert client.get(f"/api/v1/funds/{2**63 - 1}", headers=headers).status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    parameter = spec["paths"]["/api/v1/funds/{fund_id}"]["parameters"][0]
    assert parameter["schema"]["type"] == "integer"


def test_a_fund_s_calls_page_is_not_found_for_those_who_do_not_manage_it(
    app: Flask, session: Session
) -> None:
    fund = make_fund(session)
    for user in (make_user(session, Role.REVIEWER.value), make_user(session, Role.APPLICANT.value)):
        session.commit()
        page = signed_in_client(app, user)
        assert page.get(f"/manage/funds/{fund.id}/calls").status_code == 404
        assert page.get(f"/manage/funds/{fund.id}/calls/new").status_code == 404
