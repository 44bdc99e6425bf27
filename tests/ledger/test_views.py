"""The finance officer's pages."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.ledger import rules, services
from grantpool.ledger.models import LedgerTransaction, Pledge
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_donor, make_fund

from .helpers import contribute, make_finance_officer


@pytest.fixture
def setup(session: Session, client: FlaskClient):
    fund = make_fund(session, base_currency="USD")
    other = make_fund(session, base_currency="USD")
    officer = make_finance_officer(session, fund)
    donor = make_donor(session, currency="USD", name="Friends of the River")
    login(client, officer.email, PASSWORD)
    return fund, other, officer, donor


def form_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', page)
    if match is None:
        match = re.search(
            r'id="idempotency_key" name="idempotency_key" type="hidden" value="([0-9a-f]+)"', page
        )
    assert match, page
    return match.group(1)


def test_ledger_page_shows_balances_and_transactions(
    client: FlaskClient, session: Session, setup
) -> None:
    fund, _other, officer, donor = setup
    contribute(session, officer, fund, donor, "250.00")
    page = client.get(f"/funds/{fund.id}/ledger")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Available in the fund" in text
    assert "Donor: Friends of the River" in text
    assert "$250.00" in text
    assert "<td>Contribution" in text and "<td>contribution" not in text  # words, not codes


def test_record_contribution_through_the_form_once_even_when_pressed_twice(
    client: FlaskClient, session: Session, setup
) -> None:
    fund, _other, _officer, donor = setup
    url = f"/funds/{fund.id}/ledger/contributions/new"
    page = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "idempotency_key": form_key(page),
        "donor_id": str(donor.id),
        "amount": "1,250.50",
        "currency": "USD",
        "exchange_rate": "1",
        "received_on": "2026-11-02",
    }
    first = client.post(url, data=data)
    assert first.status_code == 302, first.get_data(as_text=True)
    assert client.post(url, data=data).status_code == 302
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE).amount_minor == 125050
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


def test_contribution_form_errors_sit_beside_their_fields(client: FlaskClient, setup) -> None:
    fund, _other, _officer, _donor = setup
    response = client.post(
        f"/funds/{fund.id}/ledger/contributions/new",
        data={"csrf_token": csrf_token(client), "amount": "abc", "currency": "USD"},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "There is a problem" in text
    assert 'href="#donor_id"' in text
    assert 'href="#received_on"' in text
    assert 'value="abc"' in text  # what was typed is kept


def test_refund_beyond_available_is_refused_on_the_form(
    client: FlaskClient, session: Session, setup
) -> None:
    fund, _other, officer, donor = setup
    contribute(session, officer, fund, donor, "10.00")
    response = client.post(
        f"/funds/{fund.id}/ledger/refunds/new",
        data={
            "csrf_token": csrf_token(client),
            "donor_id": str(donor.id),
            "amount": "10.01",
            "reason": "returned",
        },
    )
    assert response.status_code == 409
    assert "not enough money" in response.get_data(as_text=True)
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE).amount_minor == 1000


def test_pledge_and_cost_forms(client: FlaskClient, session: Session, setup) -> None:
    fund, _other, officer, donor = setup
    contribute(session, officer, fund, donor, "10.00")
    token = csrf_token(client)
    pledge = client.post(
        f"/funds/{fund.id}/ledger/pledges/new",
        data={"csrf_token": token, "donor_id": str(donor.id), "amount": "500", "currency": "EUR"},
    )
    assert pledge.status_code == 302
    cost = client.post(
        f"/funds/{fund.id}/ledger/costs/new",
        data={"csrf_token": token, "amount": "2.50", "description": "bank fees"},
    )
    assert cost.status_code == 302
    assert services.balance_of(session, fund, rules.FUND_COSTS).amount_minor == 250


def test_officer_of_another_fund_gets_not_found(client: FlaskClient, setup) -> None:
    _fund, other, _officer, _donor = setup
    assert client.get(f"/funds/{other.id}/ledger").status_code == 404
    assert client.get(f"/funds/{other.id}/ledger/contributions/new").status_code == 404
    response = client.post(
        f"/funds/{other.id}/ledger/costs/new",
        data={"csrf_token": csrf_token(client), "amount": "1", "description": "x"},
    )
    assert response.status_code == 404


def test_refund_to_a_donor_who_never_gave_to_the_fund_is_refused_beside_the_choice(
    client: FlaskClient, session: Session, setup
) -> None:
    fund, _other, officer, donor = setup
    giver = make_donor(session, currency="USD")
    contribute(session, officer, fund, giver, "10.00")
    response = client.post(
        f"/funds/{fund.id}/ledger/refunds/new",
        data={
            "csrf_token": csrf_token(client),
            "donor_id": str(donor.id),
            "amount": "1.00",
            "reason": "returned",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#donor_id"' in page
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE).amount_minor == 1000


def test_refund_and_cost_forms_name_every_field_that_cannot_be_read(
    client: FlaskClient, setup
) -> None:
    fund, _other, _officer, _donor = setup
    token = csrf_token(client)
    refund = client.post(
        f"/funds/{fund.id}/ledger/refunds/new",
        data={"csrf_token": token, "donor_id": "", "amount": "ten", "reason": " "},
    )
    assert refund.status_code == 422
    page = refund.get_data(as_text=True)
    assert all(f'href="#{name}"' in page for name in ("donor_id", "amount", "reason"))
    cost = client.post(
        f"/funds/{fund.id}/ledger/costs/new",
        data={"csrf_token": token, "amount": "", "description": ""},
    )
    assert cost.status_code == 422
    page = cost.get_data(as_text=True)
    assert 'href="#amount"' in page and 'href="#description"' in page


def test_pledge_form_refuses_a_day_that_does_not_exist(
    client: FlaskClient, session: Session, setup
) -> None:
    fund, _other, _officer, donor = setup
    response = client.post(
        f"/funds/{fund.id}/ledger/pledges/new",
        data={
            "csrf_token": csrf_token(client),
            "donor_id": str(donor.id),
            "amount": "500",
            "currency": "USD",
            "expected_on": "2026-02-30",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#expected_on"' in page and "Enter a real date." in page
    assert session.scalar(select(func.count()).select_from(Pledge)) == 0
