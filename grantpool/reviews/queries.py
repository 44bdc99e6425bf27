"""Read side: a call's review settings, its reviewers, open decisions and requests, the
reviewer's queue and the fund manager's ranking, each one SQL query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select, Subquery

from ..accounts.models import Role, RoleAssignment, User
from ..calls.models import Call
from ..calls.rules import text_in
from ..funds.models import Fund
from ..intake.models import Application
from ..organisations.models import Organisation
from ..organisations.rules import Leadership
from ..platform.money import Money
from .models import Decision, InfoRequest, Review, ReviewAssignment, ReviewSettings
from .rules import (
    DEFAULT_CRITERIA,
    DEFAULT_DECLINE_REASONS,
    DEFAULT_SPREAD_THRESHOLD,
    AssignmentState,
    DecisionKind,
    DecisionState,
    ReviewerKind,
    clean_criteria,
)


def settings_of(session: Session, call: Call) -> ReviewSettings:
    """The call's review settings, or the defaults (not saved) when none were set."""
    found = session.scalar(select(ReviewSettings).where(ReviewSettings.call_id == call.id))
    if found is not None:
        return found
    return ReviewSettings(
        call_id=call.id,
        criteria=clean_criteria(DEFAULT_CRITERIA),
        staff_weight=1,
        panel_weight=1,
        blind=False,
        hide_other_reviews=True,
        spread_threshold=DEFAULT_SPREAD_THRESHOLD,
        decline_reasons=[dict(r) for r in DEFAULT_DECLINE_REASONS],
        due_at=None,
    )


def has_submitted_reviews(session: Session, call: Call) -> bool:
    return bool(
        session.scalar(
            select(Review.id)
            .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(Application.call_id == call.id, Review.submitted_at.is_not(None))
            .limit(1)
        )
    )


def reviewers_of_fund(session: Session, fund_id: int) -> list[User]:
    """Active users holding a reviewer or community panel role for the fund."""
    return list(
        session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(
                User.active.is_(True),
                RoleAssignment.role.in_([Role.REVIEWER.value, Role.COMMUNITY_PANEL.value]),
                (RoleAssignment.fund_id == fund_id) | RoleAssignment.fund_id.is_(None),
            )
            .distinct()
            .order_by(User.name, User.id)
        )
    )


def awarded_total(session: Session, call: Call) -> Money:
    """The confirmed awards of the call."""
    total = session.scalar(
        select(func.coalesce(func.sum(Decision.amount_minor), 0))
        .join(Application, Application.id == Decision.application_id)
        .where(
            Application.call_id == call.id,
            Decision.kind == DecisionKind.AWARD.value,
            Decision.state == DecisionState.CONFIRMED.value,
        )
    )
    return Money(int(total or 0), call.currency)


def open_decision(session: Session, application: Application) -> Decision | None:
    """The application's proposed or confirmed decision (at most one; rejected ones end)."""
    return session.scalar(
        select(Decision).where(
            Decision.application_id == application.id,
            Decision.state.in_([DecisionState.PROPOSED.value, DecisionState.CONFIRMED.value]),
        )
    )


def open_info_request(session: Session, application: Application) -> InfoRequest | None:
    """The question the applicant has not answered yet, if any."""
    return session.scalar(
        select(InfoRequest).where(
            InfoRequest.application_id == application.id, InfoRequest.answered_at.is_(None)
        )
    )


# The queue page lists this many assignments, due first; the counts cover them all.
QUEUE_PAGE = 100


@dataclass(slots=True)
class QueueItem:
    """One line of a reviewer's queue: columns only, no ORM objects (a reviewer may have
    hundreds of assignments, and each would otherwise load its application's answers)."""

    id: int
    state: str
    kind: str
    due_at: dt.datetime | None
    call_id: int
    call_title: dict[str, str]
    timezone: str
    in_progress: bool

    def call_title_in(self, language: str) -> str:
        return text_in(self.call_title, language)


@dataclass(frozen=True)
class Queue:
    items: list[QueueItem]
    total: int
    sent: int


def _queue_conditions(user: User) -> list[Any]:
    conditions = [
        ReviewAssignment.reviewer_id == user.id,
        ReviewAssignment.state != AssignmentState.CONFLICTED.value,
    ]
    own = [m.organisation_id for m in user.memberships]
    if own:  # never one's own organisation's application
        conditions.append(Application.organisation_id.not_in(own))
    return conditions


def reviewer_queue(session: Session, user: User, limit: int | None = None) -> Queue:
    """What is assigned to this reviewer, due first; conflicted ones are gone for good.
    Three statements whatever the number of assignments: the page of lines, the titles
    of their calls, and the counts."""
    limit = limit or QUEUE_PAGE
    conditions = _queue_conditions(user)
    drafted = select(Review.id).where(Review.assignment_id == ReviewAssignment.id).exists()
    rows = session.execute(
        select(
            ReviewAssignment.id,
            ReviewAssignment.state,
            ReviewAssignment.kind,
            ReviewAssignment.due_at,
            Application.call_id,
            drafted.label("in_progress"),
        )
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(*conditions)
        .order_by(
            ReviewAssignment.state == AssignmentState.SUBMITTED.value,
            ReviewAssignment.due_at.is_(None),
            ReviewAssignment.due_at,
            ReviewAssignment.id,
        )
        .limit(limit)
    ).all()
    calls: dict[int, tuple[dict[str, str], str]] = {}
    if rows:
        calls = {
            call_id: (title, timezone)
            for call_id, title, timezone in session.execute(
                select(Call.id, Call.title, Fund.timezone)
                .join(Fund, Fund.id == Call.fund_id)
                .where(Call.id.in_({r.call_id for r in rows}))
            )
        }
    total, sent = session.execute(
        select(
            func.count(ReviewAssignment.id),
            func.count(case((ReviewAssignment.state == AssignmentState.SUBMITTED.value, 1))),
        )
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(*conditions)
    ).one()
    items = [
        QueueItem(
            id=r.id,
            state=r.state,
            kind=r.kind,
            due_at=r.due_at,
            call_id=r.call_id,
            call_title=calls[r.call_id][0],
            timezone=calls[r.call_id][1],
            in_progress=bool(r.in_progress),
        )
        for r in rows
    ]
    return Queue(items, int(total), int(sent))


def assignments_of_call(session: Session, call: Call) -> list[ReviewAssignment]:
    return list(
        session.scalars(
            select(ReviewAssignment)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(Application.call_id == call.id)
            .order_by(Application.id, ReviewAssignment.id)
        )
    )


def submitted_reviews(session: Session, application: Application) -> list[ReviewAssignment]:
    return list(
        session.scalars(
            select(ReviewAssignment)
            .join(Review, Review.assignment_id == ReviewAssignment.id)
            .where(
                ReviewAssignment.application_id == application.id,
                Review.submitted_at.is_not(None),
            )
            .order_by(Review.submitted_at, ReviewAssignment.id)
        )
    )


@dataclass(frozen=True)
class RankedApplication:
    application_id: int
    reference: str
    state: str
    organisation: str
    country: str
    org_type: str
    leadership: list[str]
    requested: Money
    reviews: int
    score: float | None  # weighted, 0–100
    staff_score: float | None
    panel_score: float | None
    spread: float  # 0–100
    disputed: bool
    running_total: Money
    within_envelope: bool
    decision_kind: str | None
    decision_state: str | None
    decision_amount: Money | None


LEADERSHIP_COLUMNS = {
    Leadership.WOMEN: Organisation.women_led,
    Leadership.YOUTH: Organisation.youth_led,
    Leadership.REFUGEE_MIGRANT: Organisation.refugee_migrant_led,
    Leadership.DISABILITY: Organisation.disability_led,
}


def ranking(
    session: Session,
    call: Call,
    settings: ReviewSettings,
    *,
    country: str | None = None,
    org_type: str | None = None,
    leadership: str | None = None,
) -> list[RankedApplication]:
    """Applications ranked by weighted score, computed in SQL: the mean score of each kind
    of reviewer weighted by the call's weights (kinds without reviews left out), then the
    running total of requested amounts against the envelope."""
    query = _ranking_query(call, settings)
    if country:
        query = query.where(Organisation.country == country)
    if org_type:
        query = query.where(Organisation.org_type == org_type)
    if leadership in {lead.value for lead in Leadership}:
        query = query.where(LEADERSHIP_COLUMNS[Leadership(leadership)].is_(True))
    ranked: list[RankedApplication] = []
    running = 0
    for row in session.execute(query):
        running += int(row.requested_minor or 0)
        ranked.append(_ranked(row, running, call, settings))
    return ranked


def _review_scores() -> Subquery:
    """Per application, over its sent reviews: each kind's mean, the overall mean, the
    number of reviews and the spread between the highest and lowest (basis points)."""
    A, R = ReviewAssignment, Review
    staff_avg = func.avg(case((A.kind == ReviewerKind.STAFF.value, cast(R.score_bp, Float))))
    panel_avg = func.avg(case((A.kind == ReviewerKind.PANEL.value, cast(R.score_bp, Float))))
    return (
        select(
            A.application_id.label("application_id"),
            staff_avg.label("staff_avg"),
            panel_avg.label("panel_avg"),
            func.avg(cast(R.score_bp, Float)).label("mean"),
            func.count(R.id).label("n"),
            (func.max(R.score_bp) - func.min(R.score_bp)).label("spread"),
        )
        .join(R, and_(R.assignment_id == A.id, R.submitted_at.is_not(None)))
        .group_by(A.application_id)
        .subquery()
    )


def _ranking_query(call: Call, settings: ReviewSettings) -> Select[*tuple[Any, ...]]:
    """The call's sent applications with their scores and open decision, best first."""
    scores = _review_scores()
    ws, wp = settings.staff_weight, settings.panel_weight
    numerator = func.coalesce(scores.c.staff_avg * ws, 0.0) + func.coalesce(
        scores.c.panel_avg * wp, 0.0
    )
    denominator = case((scores.c.staff_avg.is_not(None), ws), else_=0) + case(
        (scores.c.panel_avg.is_not(None), wp), else_=0
    )
    weighted = case((denominator > 0, numerator / denominator), else_=scores.c.mean).label(
        "weighted"
    )
    open_decision = (
        select(Decision)
        .where(Decision.state.in_([DecisionState.PROPOSED.value, DecisionState.CONFIRMED.value]))
        .subquery()
    )
    return (
        select(
            Application.id,
            Application.reference,
            Application.state,
            Application.requested_minor,
            Application.currency,
            Organisation.name.label("organisation"),
            Organisation.country,
            Organisation.org_type,
            Organisation.women_led,
            Organisation.youth_led,
            Organisation.refugee_migrant_led,
            Organisation.disability_led,
            func.coalesce(scores.c.n, 0).label("reviews"),
            weighted,
            scores.c.staff_avg,
            scores.c.panel_avg,
            func.coalesce(scores.c.spread, 0).label("spread_bp"),
            open_decision.c.kind.label("decision_kind"),
            open_decision.c.state.label("decision_state"),
            open_decision.c.amount_minor.label("decision_minor"),
        )
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(scores, scores.c.application_id == Application.id)
        .outerjoin(open_decision, open_decision.c.application_id == Application.id)
        .where(
            Application.call_id == call.id,
            Application.state.not_in(["draft", "withdrawn"]),
        )
        .order_by(weighted.is_(None), weighted.desc(), Application.requested_minor, Application.id)
    )


def _ranked(
    row: Row[*tuple[Any, ...]], running: int, call: Call, settings: ReviewSettings
) -> RankedApplication:
    flags = (row.women_led, row.youth_led, row.refugee_migrant_led, row.disability_led)
    reviews, spread_bp = int(row.reviews), int(row.spread_bp)
    return RankedApplication(
        application_id=row.id,
        reference=row.reference or "",
        state=row.state,
        organisation=row.organisation,
        country=row.country,
        org_type=row.org_type,
        leadership=[lead.value for lead, flag in zip(Leadership, flags, strict=True) if flag],
        requested=Money(int(row.requested_minor or 0), row.currency),
        reviews=reviews,
        score=_percent(row.weighted),
        staff_score=_percent(row.staff_avg),
        panel_score=_percent(row.panel_avg),
        spread=float(spread_bp) / 100,
        disputed=reviews > 1 and spread_bp >= settings.spread_threshold,
        running_total=Money(running, call.currency),
        within_envelope=running <= call.budget_minor,
        decision_kind=row.decision_kind,
        decision_state=row.decision_state,
        decision_amount=(
            Money(int(row.decision_minor), call.currency) if row.decision_minor else None
        ),
    )


def _percent(basis_points: Any) -> float | None:
    return None if basis_points is None else round(float(basis_points) / 100, 2)
