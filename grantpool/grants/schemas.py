"""API shapes of grants, tranches (with their conditions explained), reports and
disbursements. Amounts are given as integer minor units and as decimal strings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, missing, post_load, validate

from ..platform.money import Money
from . import rules
from .commands import PaymentDetails, ReportDetails, payment_details, report_details
from .models import Grant, Tranche


class AmountText(fields.String):
    """An amount kept as minor units beside its currency, given as a decimal string
    ("1250.50"); None when either is missing."""

    def __init__(
        self, minor: str = "amount_minor", currency: str = "currency", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.minor_attribute = minor
        self.currency_attribute = currency

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        minor = getattr(obj, self.minor_attribute)
        currency = getattr(obj, self.currency_attribute)
        if minor is None or currency is None:
            return None
        return str(Money(minor, currency).to_decimal())


class DecimalText(fields.String):
    """A Decimal (an exchange rate) as a plain decimal string, never in exponent form."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format(value, "f")


class PublicFiles(fields.List):
    """A report's files as the API shows them: what each is and its type, not where it is
    stored."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return [{"role": f["role"], "content_type": f["content_type"]} for f in value or []]


class EvaluatedTranche:
    """A tranche with its conditions in words and evaluated now (never stored), as
    TrancheSchema shows it; its other attributes are the tranche's."""

    def __init__(self, tranche: Tranche, status: rules.Evaluation, locale: str = "en") -> None:
        self.tranche = tranche
        self.condition_status = status
        self.conditions_in_words = rules.describe_conditions(tranche.conditions, locale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tranche, name)


class EvaluatedGrant:
    """A grant with its tranches evaluated, as GrantSchema shows one grant; its other
    attributes are the grant's. (A plain Grant is shown without tranches.)"""

    def __init__(self, grant: Grant, tranches: list[EvaluatedTranche]) -> None:
        self.grant = grant
        self.tranches = tranches

    def __getattr__(self, name: str) -> Any:
        return getattr(self.grant, name)


class ConditionLeafSchema(Schema):
    id = fields.String()
    met = fields.Boolean()
    waived = fields.Boolean()
    text = fields.String()
    since = fields.Date(allow_none=True)


class ConditionStatusSchema(Schema):
    met = fields.Boolean(metadata={"description": "Computed now; never stored."})
    since = fields.Date(allow_none=True)
    summary = fields.String(metadata={"description": "In plain words, for both sides."})
    leaves = fields.List(fields.Nested(ConditionLeafSchema))


class TrancheSchema(Schema):
    id = fields.Integer()
    number = fields.Integer()
    amount_minor = fields.Integer()
    amount = AmountText()
    currency = fields.String()
    due_on = fields.Date()
    state = fields.String()
    conditions = fields.Dict(metadata={"description": "The condition tree, as data."})
    conditions_in_words = fields.String()
    condition_status = fields.Nested(ConditionStatusSchema)


class GrantSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    fund_id = fields.Integer()
    organisation_id = fields.Integer()
    organisation_name = fields.String(attribute="organisation.name")
    application_id = fields.Integer()
    amount_minor = fields.Integer()
    amount = AmountText()
    currency = fields.String()
    start_on = fields.Date()
    end_on = fields.Date()
    risk_level = fields.String()
    language = fields.String()
    state = fields.String()
    awarded_at = fields.AwareDateTime()
    first_paid_on = fields.Date(allow_none=True)
    days_award_to_first_payment = fields.Integer(allow_none=True)
    tranches = fields.List(fields.Nested(TrancheSchema))


class SpentLineSchema(Schema):
    line = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount = fields.String(required=True, metadata={"description": "Decimal string: '120.50'."})


class ReportInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["narrative", "financial"]))
    tranche_number = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    final = fields.Boolean(load_default=False)
    text = fields.String(load_default="")
    spent_lines = fields.List(fields.Nested(SpentLineSchema), load_default=list)
    spent = fields.String(load_default=None, allow_none=True)

    @post_load
    def to_command(self, data: dict[str, Any], **kwargs: Any) -> ReportDetails:
        return report_details(**data)


class ReportSchema(Schema):
    id = fields.Integer()
    grant_id = fields.Integer()
    kind = fields.String()
    tranche_number = fields.Integer()
    final = fields.Boolean()
    state = fields.String()
    text = fields.String()
    spent_lines = fields.List(fields.Dict())
    spent_minor = fields.Integer(allow_none=True)
    files = PublicFiles(fields.Dict())
    submitted_at = fields.AwareDateTime()
    reviewed_at = fields.AwareDateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)


class PaymentInSchema(Schema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=120))
    paid_on = fields.Date(required=True)
    method = fields.String(
        required=True, validate=validate.OneOf([m.value for m in rules.PaymentMethod])
    )
    amount = fields.String(load_default=None, allow_none=True)
    currency = fields.String(load_default=None, allow_none=True)
    exchange_rate = fields.String(load_default=None, allow_none=True)

    @post_load
    def to_command(self, data: dict[str, Any], **kwargs: Any) -> PaymentDetails:
        return payment_details(**data)


class DisbursementSchema(Schema):
    id = fields.Integer()
    grant_id = fields.Integer()
    tranche_id = fields.Integer()
    state = fields.String()
    amount_minor = fields.Integer()
    amount = AmountText()
    currency = fields.String()
    requested_by_id = fields.Integer()
    requested_at = fields.AwareDateTime()
    approved_by_id = fields.Integer(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    payment_method = fields.String(allow_none=True)
    payment_amount = AmountText("payment_amount_minor", "payment_currency", allow_none=True)
    payment_currency = fields.String(allow_none=True)
    exchange_rate = DecimalText(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    conditions_met_on = fields.Date(allow_none=True)
    days_award_to_payment = fields.Integer(allow_none=True)
    days_conditions_to_payment = fields.Integer(allow_none=True)
