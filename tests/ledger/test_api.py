"""The JSON API: contributions and balances, idempotency, and who may see what."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts.services import create_api_token
from tests.factories import make_donor, make_fund

from .helpers import make_finance_officer


@pytest.fixture
def setup(session: Session):
    fund = make_fund(session, base_currency="USD")
    other = make_fund(session, base_currency="USD")
    officer = make_finance_officer(session, fund)
    donor = make_donor(session, currency="EUR")
    _token, secret = create_api_token(session, officer, "test")
    return fund, other, donor, {"Authorization": f"Bearer {secret}"}


def body(donor_id: int, amount: str = "1000.00") -> dict:
    return {
        "donor_id": donor_id,
        "amount": amount,
        "currency": "EUR",
        "exchange_rate": "1.0842",
        "received_at": "2026-11-02T09:00:00+00:00",
        "earmark_country": "KE",
    }


def test_record_and_list_contributions_and_balances(client: FlaskClient, setup) -> None:
    fund, _other, donor, auth = setup
    response = client.post(
        f"/api/v1/funds/{fund.id}/contributions", json=body(donor.id), headers=auth
    )
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["base_amount_minor"] == 108420
    assert created["amount"] == "1000.00"
    assert created["exchange_rate"] == "1.0842"

    listed = client.get(f"/api/v1/funds/{fund.id}/contributions", headers=auth).get_json()
    assert [c["id"] for c in listed] == [created["id"]]
    balances = client.get(f"/api/v1/funds/{fund.id}/balances", headers=auth).get_json()
    by_account = {b["account"]: b for b in balances}
    assert by_account["fund:available"]["balance_minor"] == 108420
    assert by_account["fund:available"]["balance"] == "1084.20"
    assert by_account[f"donor:{donor.id}"]["balance_minor"] == -108420


def test_idempotency_key_replays_or_refuses(client: FlaskClient, setup) -> None:
    fund, _other, donor, auth = setup
    url = f"/api/v1/funds/{fund.id}/contributions"
    headers = {**auth, "Idempotency-Key": "abc-123"}
    first = client.post(url, json=body(donor.id), headers=headers)
    again = client.post(url, json=body(donor.id), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    different = client.post(url, json=body(donor.id, "5.00"), headers=headers)
    assert different.status_code == 422
    balances = client.get(f"/api/v1/funds/{fund.id}/balances", headers=auth).get_json()
    assert {b["account"]: b["balance_minor"] for b in balances}["fund:available"] == 108420


def test_bad_input_is_refused_with_field_errors(client: FlaskClient, setup) -> None:
    fund, _other, donor, auth = setup
    response = client.post(
        f"/api/v1/funds/{fund.id}/contributions",
        json={**body(donor.id), "amount": "ten", "exchange_rate": "-1"},
        headers=auth,
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"amount", "exchange_rate"}


def test_officer_of_one_fund_cannot_see_or_post_to_another(client: FlaskClient, setup) -> None:
    _fund, other, donor, auth = setup
    assert client.get(f"/api/v1/funds/{other.id}/balances", headers=auth).status_code == 404
    assert client.get(f"/api/v1/funds/{other.id}/contributions", headers=auth).status_code == 404
    response = client.post(
        f"/api/v1/funds/{other.id}/contributions", json=body(donor.id), headers=auth
    )
    assert response.status_code == 404
