"""Extreme instants and amounts: refused at the boundary with a clear message and nothing
written; an extreme value already stored never breaks the ledger page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.services import create_api_token
from grantpool.ledger import rules, services
from grantpool.ledger.models import Contribution, LedgerTransaction, Pledge, TransactionKind
from grantpool.platform.money import MAX_AMOUNT_MINOR, Money, amount_problem, parse_money
from grantpool.platform.time import EARLIEST_INSTANT, instant_problem, latest_instant
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_donor, make_fund

from .helpers import make_finance_officer

# A zone east of UTC overflows at year 9999, one west of it at year 1.
ZONES = ["Africa/Nairobi", "America/Los_Angeles"]


def written(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (Contribution, LedgerTransaction, Pledge)
    )


def test_the_shared_checkers(app: object) -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert instant_problem(EARLIEST_INSTANT, now=now) is None
    assert instant_problem(now, now=now) is None
    assert instant_problem(latest_instant(now), now=now) is None
    assert latest_instant(now) == dt.datetime(2036, 12, 1, tzinfo=dt.UTC)
    for outside in (
        EARLIEST_INSTANT - dt.timedelta(seconds=1),
        latest_instant(now) + dt.timedelta(seconds=1),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=3))),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ):
        assert "Enter a date between" in (instant_problem(outside, now=now) or "")
    assert instant_problem(dt.date(9999, 12, 31), now=now)
    assert instant_problem(dt.date(2026, 12, 1), now=now) is None
    assert amount_problem(Money(MAX_AMOUNT_MINOR, "USD")) is None
    assert "at most" in (amount_problem(Money(MAX_AMOUNT_MINOR + 1, "USD")) or "")
    assert amount_problem(Money(0, "USD"))
    with pytest.raises(ValueError, match="at most"):
        parse_money("10000000000000.01", "USD")
    assert parse_money("10000000000000.00", "USD").amount_minor == MAX_AMOUNT_MINOR


@pytest.fixture(params=ZONES)
def api_setup(request: pytest.FixtureRequest, session: Session):
    fund = make_fund(session, base_currency="USD", timezone=request.param)
    officer = make_finance_officer(session, fund)
    donor = make_donor(session, currency="EUR")
    _token, secret = create_api_token(session, officer, "test")
    return fund, donor, {"Authorization": f"Bearer {secret}"}


def contribution(donor_id: int, **changes: str) -> dict[str, object]:
    body: dict[str, object] = {
        "donor_id": donor_id,
        "amount": "1000.00",
        "currency": "EUR",
        "exchange_rate": "1.0842",
        "received_at": "2026-11-02T09:00:00+00:00",
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "received_at",
    [
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T20:00:00-05:00",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T01:00:00+03:00",
        "1999-12-31T23:59:59+00:00",
    ],
)
def test_the_api_refuses_instants_out_of_range(
    client: FlaskClient, session: Session, api_setup, received_at: str
) -> None:
    fund, donor, auth = api_setup
    response = client.post(
        f"/api/v1/funds/{fund.id}/contributions",
        json=contribution(donor.id, received_at=received_at),
        headers=auth,
    )
    assert response.status_code == 422
    assert "Enter a date between" in response.get_json()["errors"]["received_at"][0]
    assert written(session) == (0, 0, 0)
    assert client.get(f"/funds/{fund.id}/ledger", headers=auth).status_code != 500


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "100000000000000000.00"}, "at most"),  # 10^19 minor units
        ({"amount": "1" + "0" * 60}, "at most"),
        # Within the limit in the donor's currency, beyond it in the fund's.
        ({"amount": "9000000000000.00", "exchange_rate": "1000"}, "at most"),
        ({"amount": "0"}, "greater than zero"),
    ],
)
def test_the_api_refuses_amounts_out_of_range(
    client: FlaskClient, session: Session, api_setup, changes: dict[str, str], message: str
) -> None:
    fund, donor, auth = api_setup
    response = client.post(
        f"/api/v1/funds/{fund.id}/contributions",
        json=contribution(donor.id, **changes),
        headers=auth,
    )
    assert response.status_code == 422
    assert message in response.get_json()["errors"]["amount"][0]
    assert written(session) == (0, 0, 0)


def test_the_api_takes_the_largest_amount(client: FlaskClient, session: Session, api_setup) -> None:
    fund, donor, auth = api_setup
    response = client.post(
        f"/api/v1/funds/{fund.id}/contributions",
        json=contribution(donor.id, amount="10000000000000.00", exchange_rate="1"),
        headers=auth,
    )
    # EUR to a USD fund at 1: exactly the largest amount in the fund's currency.
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["base_amount_minor"] == MAX_AMOUNT_MINOR


@pytest.fixture(params=ZONES)
def form_setup(request: pytest.FixtureRequest, session: Session, client: FlaskClient):
    fund = make_fund(session, base_currency="USD", timezone=request.param)
    officer = make_finance_officer(session, fund)
    donor = make_donor(session, currency="USD")
    login(client, officer.email, PASSWORD)
    return fund, officer, donor


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"received_on": "9999-12-31"}, "received_on", "Enter a date between"),
        ({"received_on": "0001-01-01"}, "received_on", "Enter a date between"),
        ({"amount": "100000000000000000"}, "amount", "Enter an amount of at most"),
    ],
)
def test_the_contribution_form_refuses_values_out_of_range(
    client: FlaskClient,
    session: Session,
    form_setup,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    fund, _officer, donor = form_setup
    data = {
        "csrf_token": csrf_token(client),
        "idempotency_key": "k1",
        "donor_id": str(donor.id),
        "amount": "1,250.50",
        "currency": "USD",
        "exchange_rate": "1",
        "received_on": "2026-11-02",
        **changes,
    }
    response = client.post(f"/funds/{fund.id}/ledger/contributions/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'href="#{field}"' in page and message in page
    assert f'value="{changes[field]}"' in page  # what was typed is kept
    assert written(session) == (0, 0, 0)


def test_the_pledge_and_cost_forms_refuse_values_out_of_range(
    client: FlaskClient, session: Session, form_setup
) -> None:
    fund, _officer, donor = form_setup
    token = csrf_token(client)
    pledge = client.post(
        f"/funds/{fund.id}/ledger/pledges/new",
        data={"csrf_token": token, "donor_id": str(donor.id), "amount": "500",
              "currency": "USD", "expected_on": "9999-12-31"},
    )  # fmt: skip
    assert pledge.status_code == 422 and "Enter a date between" in pledge.get_data(as_text=True)
    cost = client.post(
        f"/funds/{fund.id}/ledger/costs/new",
        data={"csrf_token": token, "amount": "1" + "0" * 30, "description": "fees"},
    )
    assert cost.status_code == 422
    assert "Enter an amount of at most" in cost.get_data(as_text=True)
    assert written(session) == (0, 0, 0)


@pytest.mark.parametrize(
    "received_at",
    [
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),
    ],
)
def test_an_extreme_stored_value_still_renders(
    client: FlaskClient, session: Session, form_setup, received_at: dt.datetime
) -> None:
    """Stored before the checks existed (or by hand): the page shows it, in UTC."""
    fund, officer, donor = form_setup
    huge = 9 * 10**18  # near the top of a 64-bit column
    transaction = services.post_transaction(
        session,
        fund,
        TransactionKind.CONTRIBUTION,
        [(rules.FUND_AVAILABLE, huge), (rules.donor_account(donor.id), -huge)],
        officer,
    )
    session.add(
        Contribution(
            fund_id=fund.id,
            donor_id=donor.id,
            amount_minor=huge,
            currency="USD",
            exchange_rate=Decimal(1),
            base_amount_minor=huge,
            received_at=received_at,
            transaction_id=transaction.id,
            recorded_by_id=officer.id,
        )
    )
    session.flush()
    response = client.get(f"/funds/{fund.id}/ledger")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = re.search(rf"<td>([^<]*)</td><td>{donor.name}</td>", page)
    assert shown is not None and re.search(rf"\b{received_at.year}\b", shown.group(1))
    assert "$90,000,000,000,000,000.00" in page
