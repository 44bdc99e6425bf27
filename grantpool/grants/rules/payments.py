"""What a payment was worth: the amount paid, in the currency it was paid in, and the
exchange rate that makes it the tranche's amount in the fund's currency (to within 1 %)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import gettext as _

from ...platform.errors import ValidationFailed
from ...platform.money import MAX_AMOUNT_MINOR, Money

if TYPE_CHECKING:
    from ..commands import PaymentDetails


@dataclass(frozen=True)
class Settlement:
    amount: Money  # as paid, in the currency paid in
    rate: Decimal  # units of the fund's currency one unit of it bought


def money_of(amount: Decimal, currency: str) -> Money:
    """An amount typed in a currency as Money; ValueError when the currency has fewer
    decimal places or the amount is beyond what the service accepts."""
    money = Money.from_decimal(amount, currency)
    if money.amount_minor > MAX_AMOUNT_MINOR:
        raise ValueError("too large an amount")
    return money


def settle_payment(payment: PaymentDetails, due: Money) -> Settlement:
    """The settlement of a tranche of `due` (in the fund's currency) by `payment`, or
    ValidationFailed when the amount or rate do not add up to the tranche."""
    base = due.currency
    currency = payment.currency or base
    errors: dict[str, str] = {}
    amount: Money | None = None
    if payment.amount is None:
        if currency == base:
            amount = due
        else:
            errors["amount"] = _("Enter the amount paid in %(c)s.", c=currency)
    else:
        try:
            amount = money_of(payment.amount, currency)
        except ValueError:
            errors["amount"] = _("Enter an amount such as 1250.50.")
    rate: Decimal | None = None
    if currency == base:
        rate = Decimal(1)
    elif payment.exchange_rate is not None:
        rate = payment.exchange_rate
    elif amount is not None and amount.amount_minor > 0:
        # The rate that made this payment worth the tranche.
        rate = (due.to_decimal() / amount.to_decimal()).quantize(Decimal("1E-10"))
    elif "amount" not in errors:
        errors["amount"] = _("Enter an amount greater than zero.")
    if amount is not None and rate is not None and not errors:
        converted = amount.convert(rate, base)
        tolerance = max(1, due.amount_minor // 100)
        if abs(converted.amount_minor - due.amount_minor) > tolerance:
            errors["amount"] = _(
                "At this rate the payment is worth %(paid)s, not the tranche's %(due)s.",
                paid=str(converted),
                due=str(due),
            )
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None and rate is not None
    return Settlement(amount, rate)
