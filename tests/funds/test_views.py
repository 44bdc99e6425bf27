"""A fund manager creates funds and donors through the pages."""

from __future__ import annotations

from sqlalchemy import select

from grantpool.accounts.models import Role
from grantpool.funds.models import Donor, Fund
from grantpool.platform.audit import AuditEvent
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_fund, make_user


def test_fund_manager_creates_a_fund_and_manages_it(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    login(client, manager.email, PASSWORD)
    response = client.post(
        "/funds/new",
        data={
            "name": "Sahel Community Fund",
            "base_currency": "xof",
            "timezone": "Africa/Dakar",
            "description": "Pooled money for community groups.",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    fund = session.scalar(select(Fund).where(Fund.name == "Sahel Community Fund"))
    assert fund.base_currency == "XOF"
    assert manager.is_fund_manager(fund.id)
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "fund.create", AuditEvent.object_id == str(fund.id)
        )
    )
    assert event.actor_id == manager.id and event.after["base_currency"] == "XOF"
    page = client.get(f"/funds/{fund.id}").get_data(as_text=True)
    assert "Sahel Community Fund" in page and "Africa/Dakar" in page


def test_bad_fund_is_refused_with_messages_and_kept_values(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    login(client, manager.email, PASSWORD)
    response = client.post(
        "/funds/new",
        data={
            "name": "Typo Fund",
            "base_currency": "EURO",
            "timezone": "",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a currency code such as USD, EUR or KES." in page
    assert "Choose a time zone such as Africa/Nairobi." in page
    assert 'value="Typo Fund"' in page
    assert session.scalar(select(Fund).where(Fund.name == "Typo Fund")) is None


def test_base_currency_cannot_change(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    fund = make_fund(session, manager)
    login(client, manager.email, PASSWORD)
    response = client.post(
        f"/funds/{fund.id}/edit",
        data={
            "name": fund.name,
            "base_currency": "EUR",
            "timezone": fund.timezone,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "cannot change" in response.get_data(as_text=True)


def test_donors_in_two_currencies(client, session):
    manager = make_user(session, Role.FUND_MANAGER.value)
    login(client, manager.email, PASSWORD)
    for name, currency in (("Alpha Foundation", "EUR"), ("Beta Trust", "USD")):
        response = client.post(
            "/funds/donors/new",
            data={
                "name": name,
                "donor_type": "foundation",
                "country": "NO",
                "currency": currency,
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code == 302
    donors = session.scalars(select(Donor).order_by(Donor.name)).all()
    assert [(d.name, d.currency) for d in donors] == [
        ("Alpha Foundation", "EUR"),
        ("Beta Trust", "USD"),
    ]
    page = client.get("/funds/donors").get_data(as_text=True)
    assert "Alpha Foundation" in page and "Norway" in page


def test_applicant_cannot_create_funds(client, session):
    applicant = make_user(session, Role.APPLICANT.value)
    login(client, applicant.email, PASSWORD)
    assert client.get("/funds/new").status_code == 403
    assert (
        client.post(
            "/funds/new",
            data={
                "name": "x",
                "base_currency": "USD",
                "timezone": "UTC",
                "csrf_token": csrf_token(client),
            },
        ).status_code
        == 403
    )
