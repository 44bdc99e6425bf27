from __future__ import annotations

from typing import TYPE_CHECKING

from marshmallow import Schema, fields

if TYPE_CHECKING:
    from .models import Call


class CallSchema(Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    description = fields.Dict(keys=fields.String(), values=fields.String())
    currency = fields.String()
    budget_minor = fields.Integer()
    min_request_minor = fields.Integer()
    max_request_minor = fields.Integer()
    opens_at = fields.AwareDateTime(allow_none=True)
    closes_at = fields.AwareDateTime(allow_none=True)
    state = fields.String()
    channels = fields.List(fields.String())
    eligibility = fields.Dict()


class CallDetailSchema(CallSchema):
    questions = fields.Method("all_questions")

    def all_questions(self, call: Call) -> list[dict[str, object]]:
        from .rules import all_questions

        return all_questions(call.questions)
