from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from ..extensions import db
from ..funds.models import Fund
from ..platform.money import Money
from ..platform.time import instant_problem
from ..platform.web import LARGEST_INTEGER
from .commands import ContributionDetails, contribution_details
from .models import Contribution

if TYPE_CHECKING:
    from .services import AccountBalance


def _instant_in_range(value: Any) -> None:
    problem = instant_problem(value)
    if problem:
        raise ValidationError(problem)


class _PlainDecimal(fields.String):
    """Read as text (ledger.commands parses it); a Decimal is written without an exponent."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value, "f")
        return super()._serialize(value, attr, obj, **kwargs)


class ContributionSchema(Schema):
    id = fields.Integer(dump_only=True)
    fund_id = fields.Integer(dump_only=True)
    donor_id = fields.Integer(required=True, validate=validate.Range(min=1, max=LARGEST_INTEGER))
    amount = fields.Method(
        "_amount",
        deserialize="_typed_amount",
        required=True,
        metadata={
            "type": "string",
            "description": "In the donor's currency, as a decimal string: '1250.50'.",
        },
    )
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    exchange_rate = _PlainDecimal(
        load_default="1",
        metadata={
            "type": "string",
            "description": "Units of the fund's base currency per unit of `currency`.",
        },
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
    base_currency = fields.Method("_base_currency", dump_only=True)
    transaction_id = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)

    @post_load
    def _details(self, data: dict[str, Any], **_kwargs: Any) -> ContributionDetails:
        return contribution_details(**data)

    def _amount(self, contribution: Contribution) -> str:
        return str(Money(contribution.amount_minor, contribution.currency).to_decimal())

    def _typed_amount(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        return value

    def _base_currency(self, contribution: Contribution) -> str:
        # The fund was loaded by the request that dumps its contributions: no query.
        fund = db.session.get(Fund, contribution.fund_id)
        assert fund is not None
        return fund.base_currency


class BalanceSchema(Schema):
    """Dumps services.AccountBalance."""

    account = fields.String(attribute="code")
    balance_minor = fields.Integer(attribute="balance.amount_minor")
    balance = fields.Method(
        "_balance",
        metadata={"type": "string", "description": "Decimal string in the fund's currency."},
    )
    currency = fields.String(attribute="balance.currency")
    version = fields.Integer()

    def _balance(self, row: AccountBalance) -> str:
        return str(row.balance.to_decimal())
