"""Funds and donors are read by one parser each, whatever sent them (form, API, demo)."""

from __future__ import annotations

import pytest
from flask import Flask

from grantpool.funds.commands import DonorDetails, FundDetails, donor_details, fund_details
from grantpool.funds.forms import DonorForm, FundForm
from grantpool.platform.errors import ValidationFailed


def test_fund_and_donor_are_read_into_typed_values(app: Flask) -> None:
    assert fund_details(
        name=" Coastal Fund ", base_currency="kes", timezone="Africa/Nairobi", description=""
    ) == FundDetails(name="Coastal Fund", base_currency="KES", timezone="Africa/Nairobi")
    assert donor_details(
        name="Rivers Trust", donor_type="foundation", currency="usd", country="gb", fund_ids=["3"]
    ) == DonorDetails(
        name="Rivers Trust",
        donor_type="foundation",
        currency="USD",
        country="GB",
        fund_ids=frozenset({3}),
    )


def test_every_field_that_cannot_be_read_is_named_at_once(app: Flask) -> None:
    with pytest.raises(ValidationFailed) as fund:
        fund_details(name=" ", base_currency="dollars", timezone="Mars/Olympus")
    assert set(fund.value.errors) == {"name", "base_currency", "timezone"}
    with pytest.raises(ValidationFailed) as donor:
        donor_details(name="", donor_type="alien", currency="", country="XX", fund_ids=["x"])
    assert set(donor.value.errors) == {"name", "donor_type", "currency", "country", "fund_ids"}


def test_the_forms_hand_their_fields_to_the_parsers(app: Flask) -> None:
    fund = {"name": "Delta Fund", "base_currency": "usd", "timezone": "UTC", "description": "x"}
    with app.test_request_context(method="POST", data=fund):
        assert FundForm().command() == fund_details(**fund)
    donor = {"name": "Lyon", "donor_type": "government", "currency": "EUR", "fund_ids": "2"}
    with app.test_request_context(method="POST", data=donor):
        form = DonorForm()
        # No funds offered: none chosen, whatever was sent.
        assert form.command().fund_ids is None
        form.set_fund_choices([(2, "Delta Fund"), (5, "Coastal Fund")], frozenset())
        assert form.command().fund_ids == frozenset({2})
