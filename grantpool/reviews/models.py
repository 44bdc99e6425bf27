"""Review settings of a call, reviewer assignments (with their conflict declaration),
reviews, requests for more information, and award/decline decisions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.db import Base, IdPK
from ..platform.money import Money
from ..platform.states import state_enum
from ..platform.time import now_utc
from .rules import (
    DEFAULT_SPREAD_THRESHOLD,
    AssignmentState,
    DecisionKind,
    DecisionState,
    Recommendation,
    ReviewerKind,
)

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..intake.models import Application


def _values(enum: Any) -> str:
    return ", ".join(f"'{m.value}'" for m in enum)


class ReviewSettings(Base):
    """A call's rubric and how its reviews are run and weighed (one row per call)."""

    __tablename__ = "review_settings"

    id: Mapped[IdPK]
    call_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("calls.id", ondelete="CASCADE"), unique=True
    )
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    staff_weight: Mapped[int] = mapped_column(Integer, default=1)
    panel_weight: Mapped[int] = mapped_column(Integer, default=1)
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_other_reviews: Mapped[bool] = mapped_column(Boolean, default=True)
    spread_threshold: Mapped[int] = mapped_column(Integer, default=DEFAULT_SPREAD_THRESHOLD)
    decline_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    due_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint(
            "staff_weight >= 0 AND panel_weight >= 0 AND staff_weight + panel_weight > 0",
            name="kind_weights",
        ),
        CheckConstraint(
            "spread_threshold > 0 AND spread_threshold <= 10000", name="spread_threshold_range"
        ),
    )


class ReviewAssignment(Base):
    """One reviewer asked to review one application, and its conflict declaration.

    A conflicted reviewer keeps this row (so it can never be assigned again: unique pair)
    and the row is flagged for reassignment until a manager assigns someone else.
    """

    __tablename__ = "review_assignments"

    id: Mapped[IdPK]
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE")
    )
    reviewer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[AssignmentState] = mapped_column(
        state_enum(AssignmentState, length=16), default=AssignmentState.ASSIGNED
    )
    assigned_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    due_at: Mapped[dt.datetime | None]
    declared_at: Mapped[dt.datetime | None]
    conflict_nature: Mapped[str | None] = mapped_column(Text)
    reassigned_at: Mapped[dt.datetime | None]

    application: Mapped[Application] = relationship(lazy="joined")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id], lazy="joined")
    review: Mapped[Review | None] = relationship(back_populates="assignment", lazy="selectin")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(ReviewerKind)})", name="kind_known"),
        CheckConstraint(
            "(state = 'conflicted') = (conflict_nature IS NOT NULL)", name="conflict_has_nature"
        ),
        CheckConstraint("state = 'assigned' OR declared_at IS NOT NULL", name="declared"),
        CheckConstraint(
            "reassigned_at IS NULL OR state = 'conflicted'", name="reassigned_when_conflicted"
        ),
        UniqueConstraint("application_id", "reviewer_id"),
        Index("ix_review_assignments_reviewer_id_state", "reviewer_id", "state"),
    )

    @property
    def needs_reassignment(self) -> bool:
        return self.state == AssignmentState.CONFLICTED and self.reassigned_at is None


class Review(Base):
    """A reviewer's scores: saved as a draft while in progress, then submitted once."""

    __tablename__ = "reviews"

    id: Mapped[IdPK]
    assignment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("review_assignments.id", ondelete="CASCADE"), unique=True
    )
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    recommendation: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    score_bp: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    submitted_at: Mapped[dt.datetime | None]

    assignment: Mapped[ReviewAssignment] = relationship(back_populates="review")

    __table_args__ = (
        CheckConstraint(
            f"recommendation IS NULL OR recommendation IN ({_values(Recommendation)})",
            name="recommendation_known",
        ),
        CheckConstraint(
            "(submitted_at IS NULL) = (score_bp IS NULL) AND "
            "(submitted_at IS NULL OR recommendation IS NOT NULL)",
            name="submitted_complete",
        ),
        CheckConstraint("score_bp IS NULL OR score_bp BETWEEN 0 AND 10000", name="score_range"),
    )


class InfoRequest(Base):
    """A manager's question back to the applicant; the answer keeps its draft until sent."""

    __tablename__ = "info_requests"

    id: Mapped[IdPK]
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE")
    )
    requested_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    answer_draft: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(
            "(answer IS NULL) = (answered_at IS NULL) AND "
            "(answered_at IS NULL) = (answered_by_id IS NULL)",
            name="answered_complete",
        ),
        Index("ix_info_requests_application_id", "application_id"),
        Index(
            "uq_info_requests_one_open",
            "application_id",
            unique=True,
            sqlite_where=text("answered_at IS NULL"),
            postgresql_where=text("answered_at IS NULL"),
        ),
    )


class Decision(Base):
    """Award or decline, proposed by one fund manager and confirmed by another."""

    __tablename__ = "decisions"

    id: Mapped[IdPK]
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[DecisionState] = mapped_column(
        state_enum(DecisionState, length=16), default=DecisionState.PROPOSED
    )
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)  # the proposer's reasons, for the confirmer
    reason_keys: Mapped[list[str]] = mapped_column(JSON)
    feedback: Mapped[str | None] = mapped_column(Text)  # what the applicant reads
    language: Mapped[str] = mapped_column(String(16))
    proposed_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    rejection_note: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(lazy="joined")
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(DecisionKind)})", name="kind_known"),
        CheckConstraint(
            "(state = 'proposed') = (decided_by_id IS NULL) AND "
            "(decided_by_id IS NULL) = (decided_at IS NULL)",
            name="decided_iff_decider",
        ),
        # Four eyes: whoever confirms or rejects is not who proposed.
        CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> proposed_by_id", name="four_eyes"
        ),
        CheckConstraint(
            "(kind = 'award') = (amount_minor IS NOT NULL) AND "
            "(amount_minor IS NULL OR amount_minor > 0)",
            name="award_has_amount",
        ),
        CheckConstraint("kind = 'award' OR feedback IS NOT NULL", name="decline_has_feedback"),
        Index("ix_decisions_application_id", "application_id"),
        Index(
            "uq_decisions_one_open",
            "application_id",
            unique=True,
            sqlite_where=text("state IN ('proposed', 'confirmed')"),
            postgresql_where=text("state IN ('proposed', 'confirmed')"),
        ),
    )

    @property
    def amount(self) -> Money | None:
        return None if self.amount_minor is None else Money(self.amount_minor, self.currency)
