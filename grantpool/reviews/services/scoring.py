"""A reviewer's scores: kept as a draft at every save, fixed once sent."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ...platform.time import now_utc
from ..commands import ScoreSheet
from ..models import Review, ReviewAssignment
from ..queries import settings_of
from ..rules import (
    AssignmentState,
    Recommendation,
    check_assignment_transition,
    score_of,
    unknown_scores,
)
from ._common import NOTE_MAX


def save_review(
    session: Session,
    actor: User,
    assignment: ReviewAssignment,
    sheet: ScoreSheet,
    *,
    now: dt.datetime | None = None,
) -> Review:
    """Keep the reviewer's scores as a draft, or submit them (then every criterion and a
    recommendation are needed, and the score is fixed)."""
    now = now or now_utc()
    submit = sheet.submit
    if assignment.reviewer_id != actor.id:
        raise NotPermitted()
    if assignment.state != AssignmentState.ACCEPTED:
        raise InvalidTransition(
            _("This review has been sent already.")
            if assignment.state == AssignmentState.SUBMITTED
            else _("Declare whether you have a conflict of interest first.")
        )
    settings = settings_of(session, assignment.application.call)
    criteria = settings.criteria
    keys = {c["key"] for c in criteria}
    kept = {k: str(v) for k, v in sheet.scores.items() if k in keys and v not in (None, "")}
    errors: dict[str, str] = {
        f"score_{k}": _("Choose one of the options.") for k in unknown_scores(criteria, kept)
    }
    recommendation = (sheet.recommendation or "").strip() or None
    if recommendation is not None and recommendation not in {r.value for r in Recommendation}:
        errors["recommendation"] = _("Choose fund, maybe or do not fund.")
    comment = sheet.comment.strip()
    if len(comment) > NOTE_MAX:
        errors["comment"] = _("This text is too long.")
    review = assignment.review or Review(assignment=assignment, scores={}, comment="")
    review.scores = kept
    review.recommendation = recommendation if "recommendation" not in errors else None
    review.comment = comment[:NOTE_MAX]
    score = None
    if submit and not errors:
        try:
            score = score_of(criteria, kept)
        except ValidationFailed as failure:
            errors.update({k: v[0] for k, v in failure.errors.items()})
        if recommendation is None:
            errors["recommendation"] = _("Choose fund, maybe or do not fund.")
    if errors:
        if submit:
            raise ValidationFailed(errors)
        # A draft keeps what fits; what does not is reported and dropped.
        review.scores = {k: v for k, v in kept.items() if f"score_{k}" not in errors}
    session.add(review)
    if submit:
        check_assignment_transition(assignment.state, AssignmentState.SUBMITTED.value)
        review.score_bp = score
        review.submitted_at = now
        assignment.state = AssignmentState.SUBMITTED
    session.flush()
    record_event(
        session,
        actor,
        "review.submit" if submit else "review.save",
        review,
        after={
            "assignment_id": assignment.id,
            "scores": review.scores,
            "recommendation": review.recommendation,
            "score_bp": review.score_bp,
        },
        at=now,
    )
    if errors:
        raise ValidationFailed(errors, message=_("Your review is saved, with some problems."))
    return review
