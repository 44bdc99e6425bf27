"""An organisation may say roughly how much it spends a year (for the dashboard's share
of money reaching small organisations); it is optional and needs its currency."""

from __future__ import annotations

import pytest

from grantpool.organisations.commands import organisation_details
from grantpool.organisations.services import FIELDS, update_organisation
from grantpool.platform.errors import ValidationFailed
from tests.factories import make_organisation


def test_budget_typed_in_a_form_or_given_in_minor_units(session) -> None:
    typed = make_organisation(session, annual_budget="12,500.50", annual_budget_currency="kes")
    assert (typed.annual_budget_minor, typed.annual_budget_currency) == (1_250_050, "KES")
    given = make_organisation(session, annual_budget_minor=900_000, annual_budget_currency="USD")
    assert given.annual_budget_minor == 900_000
    assert make_organisation(session).annual_budget_minor is None


def test_a_budget_without_a_currency_or_a_bad_amount_is_refused(session) -> None:
    with pytest.raises(ValidationFailed) as no_currency:
        make_organisation(session, annual_budget="1000")
    assert "annual_budget_currency" in no_currency.value.errors
    with pytest.raises(ValidationFailed) as bad:
        make_organisation(session, annual_budget="lots", annual_budget_currency="USD")
    assert "annual_budget" in bad.value.errors


def test_clearing_the_budget_removes_it(session) -> None:
    organisation = make_organisation(session, annual_budget="100", annual_budget_currency="USD")
    data = {f: getattr(organisation, f) for f in FIELDS}
    data.update(annual_budget_minor=None, annual_budget_currency=None)
    update_organisation(session, None, organisation, organisation_details(**data))
    assert organisation.annual_budget_minor is None
    assert organisation.annual_budget_currency is None
