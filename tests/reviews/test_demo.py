from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.demo import seed
from grantpool.reviews.models import Decision, InfoRequest, Review, ReviewAssignment


def test_demo_has_reviewers_reviews_and_decisions_of_each_kind(session: Session) -> None:
    seed(session)
    kinds = {a.kind for a in session.scalars(select(ReviewAssignment))}
    assert kinds == {"staff", "panel"}
    states = {a.state for a in session.scalars(select(ReviewAssignment))}
    assert states == {"assigned", "accepted", "submitted", "conflicted"}
    reviews = list(session.scalars(select(Review)))
    assert any(r.submitted_at is None for r in reviews)
    assert any(r.submitted_at is not None for r in reviews)
    decisions = {(d.kind, d.state) for d in session.scalars(select(Decision))}
    assert decisions == {("award", "confirmed"), ("decline", "confirmed"), ("award", "proposed")}
    assert session.scalar(select(InfoRequest)) is not None
