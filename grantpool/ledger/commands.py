"""What a person asks the ledger services to do, as typed values.

The HTML forms (forms.py) and the API schema (schemas.py) read what was typed or sent
with the parsers below: text becomes Money, an exchange rate a Decimal, a day an aware
instant. The services take the resulting frozen dataclasses and check only the rules of
the domain (a donor one may see, a rate of 1 for money in the fund's own currency, an
amount the fund's currency can hold, money enough to spend).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from ..organisations.rules import is_valid_country
from ..platform.cells import typed_text
from ..platform.errors import ValidationFailed
from ..platform.money import (
    AmountOutOfRange,
    Money,
    RateTooPrecise,
    amount_problem,
    is_currency,
    parse_exchange_rate,
    parse_money,
)
from ..platform.time import instant_problem
from ..platform.web import parse_whole_number

# A contribution's rate is kept with at most this many decimal places (and below 10^10).
RATE_PLACES = 10
THEME_LENGTH = 100


@dataclass(frozen=True)
class ContributionDetails:
    """Money received. `amount` is in the currency the donor paid in; `exchange_rate`
    (units of the fund's currency per unit of it) is None when none was given."""

    donor_id: int
    amount: Money
    received_at: dt.datetime
    exchange_rate: Decimal | None = None
    earmark_theme: str | None = None
    earmark_country: str | None = None


@dataclass(frozen=True)
class PledgeDetails:
    donor_id: int
    amount: Money
    expected_on: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class RefundDetails:
    """Money returned to a donor, in the fund's currency."""

    donor_id: int
    amount: Money
    reason: str


@dataclass(frozen=True)
class CostDetails:
    """A fund management cost, in the fund's currency."""

    amount: Money
    description: str


# --- parsers of single values ----------------------------------------------------------------


def _donor_id(value: object, errors: dict[str, str]) -> int:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    number = parse_whole_number(text, minimum=1)
    if number is None:
        errors["donor_id"] = _("Choose the donor.")
        return 0
    return number


def _currency(value: object, errors: dict[str, str]) -> str | None:
    code = typed_text(value).upper()
    if not is_currency(code):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
        return None
    return code


def _amount(
    text: object, currency: str | None, locale: str, errors: dict[str, str]
) -> Money | None:
    """What was typed as an amount of `currency`, positive and within range; with a
    message under "amount" otherwise (none when the currency itself is unknown)."""
    if currency is None:
        return None
    try:
        money = parse_money(str(text or ""), currency, locale)
    except AmountOutOfRange as too_large:
        errors["amount"] = str(too_large)
        return None
    except ValueError:
        errors["amount"] = _("Enter an amount such as 1250.50.")
        return None
    problem = amount_problem(money, locale)
    if problem:
        errors["amount"] = problem
        return None
    return money


def _rate(value: object, errors: dict[str, str]) -> Decimal | None:
    if value is None or not str(value).strip():
        return None
    try:
        return parse_exchange_rate(value, max_places=RATE_PLACES)
    except RateTooPrecise:
        errors["exchange_rate"] = _("Give the exchange rate with at most 10 decimal places.")
    except ValueError:
        errors["exchange_rate"] = _("Enter the exchange rate as a positive number, such as 1.0842.")
    return None


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(typed_text(value))
    except ValueError:
        return None


# --- commands ----------------------------------------------------------------------------------


def contribution_details(
    *,
    donor_id: object,
    amount: object,
    currency: object,
    exchange_rate: object = None,
    received_at: object = None,
    received_on: object = None,
    timezone: str = "UTC",
    earmark_theme: object = None,
    earmark_country: object = None,
    locale: str = "en",
) -> ContributionDetails:
    """A contribution as typed or sent, or ValidationFailed naming every field that cannot
    be read. The API sends the instant (`received_at`, aware); the form asks for the day
    (`received_on`), taken as its start in the fund's `timezone`, and hears of problems
    under that name."""
    errors: dict[str, str] = {}
    donor = _donor_id(donor_id, errors)
    code = _currency(currency, errors)
    money = _amount(amount, code, locale, errors)
    rate = _rate(exchange_rate, errors)
    field = "received_on" if received_on is not None else "received_at"
    if received_on is not None:
        day = _day(received_on)
        received_at = dt.datetime.combine(day, dt.time(0), ZoneInfo(timezone)) if day else None
    if not isinstance(received_at, dt.datetime) or received_at.tzinfo is None:
        errors[field] = _("Enter the date the money was received.")
    elif problem := instant_problem(received_at):
        errors[field] = problem
    country = typed_text(earmark_country).upper() or None
    if country and not is_valid_country(country):
        errors["earmark_country"] = _("Choose a country.")
    if errors:
        raise ValidationFailed(errors)
    assert money is not None and isinstance(received_at, dt.datetime)
    return ContributionDetails(
        donor_id=donor,
        amount=money,
        received_at=received_at,
        exchange_rate=rate,
        earmark_theme=typed_text(earmark_theme)[:THEME_LENGTH] or None,
        earmark_country=country,
    )


def pledge_details(
    *,
    donor_id: object,
    amount: object,
    currency: object,
    expected_on: object = None,
    note: object = None,
    locale: str = "en",
) -> PledgeDetails:
    """A pledge as typed, or ValidationFailed naming every field that cannot be read."""
    errors: dict[str, str] = {}
    donor = _donor_id(donor_id, errors)
    code = _currency(currency, errors)
    money = _amount(amount, code, locale, errors)
    expected: dt.date | None = None
    if expected_on is not None and str(expected_on).strip():
        expected = _day(expected_on)
        if expected is None:
            errors["expected_on"] = _("Enter a real date.")
        elif problem := instant_problem(expected):
            errors["expected_on"] = problem
    if errors:
        raise ValidationFailed(errors)
    assert money is not None
    return PledgeDetails(
        donor_id=donor, amount=money, expected_on=expected, note=typed_text(note) or None
    )


def refund_details(
    *, donor_id: object, amount: object, reason: object, currency: str, locale: str = "en"
) -> RefundDetails:
    """A refund as typed (the amount in the fund's `currency`), or ValidationFailed."""
    errors: dict[str, str] = {}
    donor = _donor_id(donor_id, errors)
    if not typed_text(reason):
        errors["reason"] = _("Say why the money is returned.")
    money = _amount(amount, currency, locale, errors)
    if errors:
        raise ValidationFailed(errors)
    assert money is not None
    return RefundDetails(donor_id=donor, amount=money, reason=typed_text(reason))


def cost_details(
    *, amount: object, description: object, currency: str, locale: str = "en"
) -> CostDetails:
    """A fund cost as typed (the amount in the fund's `currency`), or ValidationFailed."""
    errors: dict[str, str] = {}
    if not typed_text(description):
        errors["description"] = _("Describe the cost.")
    money = _amount(amount, currency, locale, errors)
    if errors:
        raise ValidationFailed(errors)
    assert money is not None
    return CostDetails(amount=money, description=typed_text(description))
