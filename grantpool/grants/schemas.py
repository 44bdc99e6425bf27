"""API shapes of grants, tranches (with their conditions explained), reports and
disbursements. Amounts are given as integer minor units and as decimal strings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..platform.money import Money
from . import rules


def _money(minor: int | None, currency: str | None) -> str | None:
    if minor is None or currency is None:
        return None
    return str(Money(minor, currency).to_decimal())


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
    amount = fields.String()
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
    organisation_name = fields.String()
    application_id = fields.Integer()
    amount_minor = fields.Integer()
    amount = fields.String()
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
    files = fields.List(fields.Dict())
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


class DisbursementSchema(Schema):
    id = fields.Integer()
    grant_id = fields.Integer()
    tranche_id = fields.Integer()
    state = fields.String()
    amount_minor = fields.Integer()
    amount = fields.String()
    currency = fields.String()
    requested_by_id = fields.Integer()
    requested_at = fields.AwareDateTime()
    approved_by_id = fields.Integer(allow_none=True)
    approved_at = fields.AwareDateTime(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    payment_method = fields.String(allow_none=True)
    payment_amount = fields.String(allow_none=True)
    payment_currency = fields.String(allow_none=True)
    exchange_rate = fields.String(allow_none=True)
    transaction_id = fields.Integer(allow_none=True)
    conditions_met_on = fields.Date(allow_none=True)
    days_award_to_payment = fields.Integer(allow_none=True)
    days_conditions_to_payment = fields.Integer(allow_none=True)


def status_out(evaluation: rules.Evaluation) -> dict[str, Any]:
    return {
        "met": evaluation.met,
        "since": evaluation.since,
        "summary": evaluation.summary,
        "leaves": [
            {"id": x.id, "met": x.met, "waived": x.waived, "text": x.text, "since": x.since}
            for x in evaluation.leaves
        ],
    }


def tranche_out(tranche: Any, evaluation: rules.Evaluation, locale: str = "en") -> dict[str, Any]:
    return {
        "id": tranche.id,
        "number": tranche.number,
        "amount_minor": tranche.amount_minor,
        "amount": _money(tranche.amount_minor, tranche.currency),
        "currency": tranche.currency,
        "due_on": tranche.due_on,
        "state": tranche.state,
        "conditions": tranche.conditions,
        "conditions_in_words": rules.describe_conditions(tranche.conditions, locale),
        "condition_status": status_out(evaluation),
    }


def grant_out(
    grant: Any, tranches: list[Any] | None = None, evaluations: dict[int, Any] | None = None
) -> dict[str, Any]:
    out = {
        "id": grant.id,
        "reference": grant.reference,
        "fund_id": grant.fund_id,
        "organisation_id": grant.organisation_id,
        "organisation_name": grant.organisation.name,
        "application_id": grant.application_id,
        "amount_minor": grant.amount_minor,
        "amount": _money(grant.amount_minor, grant.currency),
        "currency": grant.currency,
        "start_on": grant.start_on,
        "end_on": grant.end_on,
        "risk_level": grant.risk_level,
        "language": grant.language,
        "state": grant.state,
        "awarded_at": grant.awarded_at,
        "first_paid_on": grant.first_paid_on,
        "days_award_to_first_payment": grant.days_award_to_first_payment,
    }
    if tranches is not None and evaluations is not None:
        out["tranches"] = [tranche_out(t, evaluations[t.id]) for t in tranches]
    return out


def report_out(report: Any) -> dict[str, Any]:
    return {
        name: getattr(report, name)
        for name in (
            "id",
            "grant_id",
            "kind",
            "tranche_number",
            "final",
            "state",
            "text",
            "spent_lines",
            "spent_minor",
            "submitted_at",
            "reviewed_at",
            "review_comment",
        )
    } | {"files": [{"role": f["role"], "content_type": f["content_type"]} for f in report.files]}


def disbursement_out(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "grant_id": d.grant_id,
        "tranche_id": d.tranche_id,
        "state": d.state,
        "amount_minor": d.amount_minor,
        "amount": _money(d.amount_minor, d.currency),
        "currency": d.currency,
        "requested_by_id": d.requested_by_id,
        "requested_at": d.requested_at,
        "approved_by_id": d.approved_by_id,
        "approved_at": d.approved_at,
        "paid_on": d.paid_on,
        "payment_reference": d.payment_reference,
        "payment_method": d.payment_method,
        "payment_amount": _money(d.payment_amount_minor, d.payment_currency),
        "payment_currency": d.payment_currency,
        "exchange_rate": format(d.exchange_rate, "f") if d.exchange_rate is not None else None,
        "transaction_id": d.transaction_id,
        "conditions_met_on": d.conditions_met_on,
        "days_award_to_payment": d.days_award_to_payment,
        "days_conditions_to_payment": d.days_conditions_to_payment,
    }
