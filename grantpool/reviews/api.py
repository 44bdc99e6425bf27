from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import get_locale
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from ..calls.models import Call
from ..extensions import db
from ..intake.models import Application
from ..platform.api import authenticated
from ..platform.permissions import load, require
from . import queries, reading, services
from .commands import ConflictAnswer, DecisionProposal, DecisionRejection, ScoreSheet
from .models import Decision, ReviewAssignment
from .schemas import (
    AssignmentSchema,
    ConflictInSchema,
    DecisionInSchema,
    DecisionSchema,
    RankingQuerySchema,
    RankingSchema,
    RejectInSchema,
    ReviewerViewSchema,
    ReviewInSchema,
)

blp = Blueprint("reviews_api", __name__, description="Reviews and decisions")


def _reviewer_view(assignment: ReviewAssignment) -> dict[str, Any]:
    settings = queries.settings_of(db.session, assignment.application.call)
    view = reading.reviewer_view(db.session, assignment, settings, str(get_locale() or "en"))
    requested = view.pop("requested")
    others: list[ReviewAssignment] = []  # dumped by OtherReviewSchema
    if reading.others_visible(settings, assignment):
        others = [
            a
            for a in queries.submitted_reviews(db.session, assignment.application)
            if a.id != assignment.id and a.review is not None
        ]
    return {
        **view,
        "state": assignment.state,
        "requested_minor": requested.amount_minor if requested else None,
        "currency": assignment.application.currency,
        "criteria": settings.criteria,
        "review": assignment.review,
        "other_reviews": others,
    }


@blp.route("/reviews")
class MyReviews(MethodView):
    decorators = [authenticated]

    @blp.response(200, AssignmentSchema(many=True))
    def get(self) -> Any:
        """What is assigned to you (conflicted assignments are gone)."""
        require(current_user, "reviews.queue")
        return queries.reviewer_queue(db.session, current_user).items


@blp.route("/reviews/<int:assignment_id>")
class ReviewById(MethodView):
    decorators = [authenticated]

    @blp.response(200, ReviewerViewSchema)
    def get(self, assignment_id: int) -> Any:
        """The application with the rubric, once you have declared no conflict."""
        assignment = load(ReviewAssignment, assignment_id, "assignment.review")
        return _reviewer_view(assignment)

    @blp.arguments(ReviewInSchema)
    @blp.response(200, ReviewerViewSchema)
    def put(self, sheet: ScoreSheet, assignment_id: int) -> Any:
        """Save your scores as a draft, or send them with `submit: true`."""
        assignment = load(ReviewAssignment, assignment_id, "assignment.review")
        services.save_review(db.session, current_user, assignment, sheet)
        return _reviewer_view(assignment)


@blp.route("/reviews/<int:assignment_id>/conflict")
class ConflictDeclaration(MethodView):
    decorators = [authenticated]

    @blp.arguments(ConflictInSchema)
    @blp.response(200, AssignmentSchema)
    def post(self, answer: ConflictAnswer, assignment_id: int) -> Any:
        """Declare no conflict (the review opens) or a conflict with its nature."""
        assignment = load(ReviewAssignment, assignment_id, "assignment.declare")
        return services.declare_conflict(db.session, current_user, assignment, answer)


@blp.route("/calls/<int:call_id>/ranking")
class CallRanking(MethodView):
    decorators = [authenticated]

    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, RankingSchema(many=True))
    def get(self, args: dict[str, Any], call_id: int) -> Any:
        """Applications ranked by weighted score (fund managers of the call's fund)."""
        call = load(Call, call_id, "call.manage")
        return queries.ranking(
            db.session,
            call,
            queries.settings_of(db.session, call),
            country=(args["country"] or "").upper() or None,
            org_type=args["org_type"],
            leadership=args["leadership"],
        )


@blp.route("/applications/<int:application_id>/decisions")
class ApplicationDecisions(MethodView):
    decorators = [authenticated]

    @blp.response(200, DecisionSchema(many=True))
    def get(self, application_id: int) -> Any:
        application = load(Application, application_id, "application.decide")
        return db.session.scalars(
            select(Decision).where(Decision.application_id == application.id).order_by(Decision.id)
        ).all()

    @blp.arguments(DecisionInSchema)
    @blp.response(201, DecisionSchema)
    def post(self, proposal: DecisionProposal, application_id: int) -> Any:
        """Propose to award (amount_minor in the call's currency) or to decline."""
        application = load(Application, application_id, "application.decide")
        return services.propose_decision(db.session, current_user, application, proposal)


@blp.route("/decisions/<int:decision_id>")
class DecisionById(MethodView):
    decorators = [authenticated]

    @blp.response(200, DecisionSchema)
    def get(self, decision_id: int) -> Any:
        decision = load(Decision, decision_id, "decision.view")
        return decision


@blp.route("/decisions/<int:decision_id>/confirm")
class DecisionConfirm(MethodView):
    decorators = [authenticated]

    @blp.response(200, DecisionSchema)
    def post(self, decision_id: int) -> Any:
        """Confirm a decision another fund manager proposed."""
        decision = load(Decision, decision_id, "decision.confirm")
        return services.confirm_decision(db.session, current_user, decision)


@blp.route("/decisions/<int:decision_id>/reject")
class DecisionReject(MethodView):
    decorators = [authenticated]

    @blp.arguments(RejectInSchema)
    @blp.response(200, DecisionSchema)
    def post(self, rejection: DecisionRejection, decision_id: int) -> Any:
        decision = load(Decision, decision_id, "decision.confirm")
        return services.reject_decision(db.session, current_user, decision, rejection)
