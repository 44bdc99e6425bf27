from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ..platform.time import instant_problem
from ..platform.web import LARGEST_INTEGER


def _instant_in_range(value: Any) -> None:
    problem = instant_problem(value)
    if problem:
        raise ValidationError(problem)


class ContributionSchema(Schema):
    id = fields.Integer(dump_only=True)
    fund_id = fields.Integer(dump_only=True)
    donor_id = fields.Integer(required=True, validate=validate.Range(min=1, max=LARGEST_INTEGER))
    amount = fields.String(
        required=True,
        metadata={"description": "In the donor's currency, as a decimal string: '1250.50'."},
    )
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    exchange_rate = fields.String(
        load_default="1",
        metadata={"description": "Units of the fund's base currency per unit of `currency`."},
    )
    received_at = fields.AwareDateTime(
        required=True,
        validate=_instant_in_range,
        metadata={"description": "Between 2000-01-01 and ten years from now."},
    )
    earmark_theme = fields.String(allow_none=True, load_default=None)
    earmark_country = fields.String(allow_none=True, load_default=None)
    amount_minor = fields.Integer(dump_only=True)
    base_amount_minor = fields.Integer(dump_only=True)
    base_currency = fields.String(dump_only=True)
    transaction_id = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


def contribution_out(contribution: Any, base_currency: str) -> dict[str, Any]:
    from ..platform.money import Money

    return {
        "id": contribution.id,
        "fund_id": contribution.fund_id,
        "donor_id": contribution.donor_id,
        "amount": str(Money(contribution.amount_minor, contribution.currency).to_decimal()),
        "currency": contribution.currency,
        "exchange_rate": format(contribution.exchange_rate, "f"),
        "received_at": contribution.received_at,
        "earmark_theme": contribution.earmark_theme,
        "earmark_country": contribution.earmark_country,
        "amount_minor": contribution.amount_minor,
        "base_amount_minor": contribution.base_amount_minor,
        "base_currency": base_currency,
        "transaction_id": contribution.transaction_id,
        "created_at": contribution.created_at,
    }


class BalanceSchema(Schema):
    account = fields.String()
    balance_minor = fields.Integer()
    balance = fields.String(metadata={"description": "Decimal string in the fund's currency."})
    currency = fields.String()
    version = fields.Integer()
