from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from ..platform.money import MAX_AMOUNT_MINOR
from .commands import ConflictAnswer, DecisionProposal, DecisionRejection, ScoreSheet
from .rules import DecisionKind, Recommendation


class AssignmentSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    kind = fields.String()
    due_at = fields.AwareDateTime(allow_none=True)
    # A queue line carries its call's id; an assignment reaches it through its application.
    call_id = fields.Function(
        lambda a: a.call_id if hasattr(a, "call_id") else a.application.call_id
    )


class AnswerSchema(Schema):
    key = fields.String()
    question = fields.String()
    answer = fields.String()


class AttachmentSchema(Schema):
    number = fields.Integer()
    question = fields.String()
    name = fields.String()
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)


class ReviewOutSchema(Schema):
    scores = fields.Dict(keys=fields.String(), values=fields.String())
    recommendation = fields.String(allow_none=True)
    comment = fields.String()
    score_bp = fields.Integer(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)


class OtherReviewSchema(Schema):
    """Another reviewer's sent review, dumped from its assignment."""

    kind = fields.String()
    score_bp = fields.Integer(attribute="review.score_bp")
    recommendation = fields.String(attribute="review.recommendation")
    comment = fields.String(attribute="review.comment")


class ReviewerViewSchema(Schema):
    """The application as its reviewer may see it (blind calls hide who applied)."""

    assignment_id = fields.Integer()
    state = fields.String()
    blind = fields.Boolean()
    reference = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    country = fields.String()
    org_type = fields.String()
    call_title = fields.String()
    requested_minor = fields.Integer(allow_none=True)
    currency = fields.String()
    answers = fields.List(fields.Nested(AnswerSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    criteria = fields.List(fields.Dict())
    review = fields.Nested(ReviewOutSchema, allow_none=True)
    other_reviews = fields.List(fields.Nested(OtherReviewSchema))


class ConflictInSchema(Schema):
    has_conflict = fields.Boolean(required=True)
    nature = fields.String(load_default="")

    @post_load
    def make_answer(self, data: dict[str, Any], **_kwargs: Any) -> ConflictAnswer:
        return ConflictAnswer(**data)


class ReviewInSchema(Schema):
    scores = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    recommendation = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf([r.value for r in Recommendation]),
    )
    comment = fields.String(load_default="")
    submit = fields.Boolean(load_default=False)

    @post_load
    def make_sheet(self, data: dict[str, Any], **_kwargs: Any) -> ScoreSheet:
        return ScoreSheet(**data)


class DecisionInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in DecisionKind]))
    amount_minor = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1, max=MAX_AMOUNT_MINOR),
    )
    reason = fields.String(load_default="")
    reason_keys = fields.List(fields.String(), load_default=list)
    feedback_text = fields.String(load_default="")

    @post_load
    def make_proposal(self, data: dict[str, Any], **_kwargs: Any) -> DecisionProposal:
        return DecisionProposal(
            kind=DecisionKind(data["kind"]),
            amount_minor=data["amount_minor"],
            reason=data["reason"],
            reason_keys=tuple(data["reason_keys"]),
            feedback_text=data["feedback_text"],
        )


class DecisionSchema(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    amount_minor = fields.Integer(allow_none=True)
    currency = fields.String()
    reason = fields.String()
    reason_keys = fields.List(fields.String())
    feedback = fields.String(allow_none=True)
    language = fields.String()
    proposed_by_id = fields.Integer()
    proposed_at = fields.AwareDateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    rejection_note = fields.String(allow_none=True)


class RejectInSchema(Schema):
    note = fields.String(required=True)

    @post_load
    def make_rejection(self, data: dict[str, Any], **_kwargs: Any) -> DecisionRejection:
        return DecisionRejection(**data)


class RankingSchema(Schema):
    application_id = fields.Integer()
    reference = fields.String()
    state = fields.String()
    organisation = fields.String()
    country = fields.String()
    org_type = fields.String()
    leadership = fields.List(fields.String())
    requested_minor = fields.Function(lambda r: r.requested.amount_minor)
    reviews = fields.Integer()
    score = fields.Float(allow_none=True)
    staff_score = fields.Float(allow_none=True)
    panel_score = fields.Float(allow_none=True)
    spread = fields.Float()
    disputed = fields.Boolean()
    running_total_minor = fields.Function(lambda r: r.running_total.amount_minor)
    within_envelope = fields.Boolean()
    decision_kind = fields.String(allow_none=True)
    decision_state = fields.String(allow_none=True)


class RankingQuerySchema(Schema):
    country = fields.String(load_default=None)
    org_type = fields.String(load_default=None)
    leadership = fields.String(load_default=None)
