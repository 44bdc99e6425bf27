"""Asking reviewers: one by one, or the whole call at once by load, and each reviewer's
conflict declaration before seeing the application."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import Membership, Role, User
from ...calls.models import Call
from ...intake.models import Application
from ...intake.rules import ApplicationState
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ...platform.time import now_utc
from ..commands import AutoAssignment, ConflictAnswer
from ..models import ReviewAssignment
from ..queries import reviewers_of_fund, settings_of
from ..rules import (
    AssignmentState,
    Candidate,
    ReviewerKind,
    check_assignment_transition,
    pick_reviewers,
)
from ._common import NOTE_MAX, REVIEWABLE_STATES, set_application_state


def reviewer_kind(user: User, fund_id: int) -> ReviewerKind | None:
    """Staff reviewer or community panel member for this fund (staff when both)."""
    if user.has_role(Role.REVIEWER, fund_id=fund_id):
        return ReviewerKind.STAFF
    if user.has_role(Role.COMMUNITY_PANEL, fund_id=fund_id):
        return ReviewerKind.PANEL
    return None


def assign_reviewer(
    session: Session,
    actor: User,
    application: Application,
    reviewer: User,
    *,
    due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> ReviewAssignment:
    """Ask one reviewer to review one application. A member of the applicant organisation
    is refused, and so is anyone who already holds (or declared a conflict on) it."""
    now = now or now_utc()
    call = application.call
    if application.state not in REVIEWABLE_STATES:
        raise InvalidTransition(_("Only applications that have been sent can be reviewed."))
    kind = reviewer_kind(reviewer, call.fund_id) if reviewer.active else None
    if kind is None:
        raise ValidationFailed.single(
            "reviewer_id", _("This person is not a reviewer or panel member for this fund.")
        )
    if reviewer.belongs_to(application.organisation_id):
        raise ValidationFailed.single(
            "reviewer_id",
            _("This person belongs to the applicant organisation and cannot review it."),
        )
    earlier = session.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.application_id == application.id,
            ReviewAssignment.reviewer_id == reviewer.id,
        )
    )
    if earlier is not None:
        raise ValidationFailed.single(
            "reviewer_id",
            _("This person declared a conflict with this application.")
            if earlier.state == AssignmentState.CONFLICTED
            else _("This person is already assigned to this application."),
        )
    assignment = ReviewAssignment(
        application_id=application.id,
        reviewer_id=reviewer.id,
        kind=kind.value,
        state=AssignmentState.ASSIGNED.value,
        assigned_by_id=actor.id,
        assigned_at=now,
        due_at=due_at if due_at is not None else settings_of(session, call).due_at,
    )
    session.add(assignment)
    # Whoever declared a conflict on this application has now been replaced.
    for flagged in session.scalars(
        select(ReviewAssignment).where(
            ReviewAssignment.application_id == application.id,
            ReviewAssignment.state == AssignmentState.CONFLICTED.value,
            ReviewAssignment.reassigned_at.is_(None),
        )
    ):
        flagged.reassigned_at = now
    session.flush()
    if application.state == ApplicationState.SUBMITTED:
        set_application_state(session, actor, application, ApplicationState.IN_REVIEW.value, now)
    record_event(
        session,
        actor,
        "review.assign",
        assignment,
        object_type="review_assignment",
        after={"application_id": application.id, "reviewer_id": reviewer.id, "kind": kind},
        at=now,
    )
    return assignment


def auto_assign(
    session: Session,
    actor: User,
    call: Call,
    request: AutoAssignment,
    *,
    now: dt.datetime | None = None,
) -> list[ReviewAssignment]:
    """Bring every application of the call up to `per_application` active reviewers,
    choosing the least-loaded reviewers and never one with a declared conflict or from
    the applicant organisation. Applications that cannot be filled keep what they got."""
    per_application, due_at = request.per_application, request.due_at
    if not 1 <= per_application <= 20:
        raise ValidationFailed.single(
            "per_application", _("Give a number of reviewers from 1 to 20.")
        )
    now = now or now_utc()
    applications = list(
        session.scalars(
            select(Application)
            .where(Application.call_id == call.id, Application.state.in_(REVIEWABLE_STATES))
            .order_by(Application.id)
        )
    )
    reviewers = {u.id: u for u in reviewers_of_fund(session, call.fund_id)}
    existing = session.execute(
        select(
            ReviewAssignment.application_id, ReviewAssignment.reviewer_id, ReviewAssignment.state
        )
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.call_id == call.id)
    ).all()
    members = session.execute(
        select(Membership.organisation_id, Membership.user_id).where(
            Membership.organisation_id.in_({a.organisation_id for a in applications} or {0})
        )
    ).all()
    load = dict.fromkeys(reviewers, 0)
    taken: dict[int, set[int]] = {}
    active: dict[int, int] = {}
    for application_id, reviewer_id, state in existing:
        taken.setdefault(application_id, set()).add(reviewer_id)
        if state != AssignmentState.CONFLICTED:
            active[application_id] = active.get(application_id, 0) + 1
            if reviewer_id in load:
                load[reviewer_id] += 1
    members_of: dict[int, set[int]] = {}
    for organisation_id, user_id in members:
        members_of.setdefault(organisation_id, set()).add(user_id)
    made: list[ReviewAssignment] = []
    for application in applications:
        needed = per_application - active.get(application.id, 0)
        if needed <= 0:
            continue
        excluded = taken.get(application.id, set()) | members_of.get(
            application.organisation_id, set()
        )
        candidates = [Candidate(user_id, n) for user_id, n in load.items()]
        for reviewer_id in pick_reviewers(candidates, excluded, needed):
            made.append(
                assign_reviewer(
                    session, actor, application, reviewers[reviewer_id], due_at=due_at, now=now
                )
            )
            load[reviewer_id] += 1
    return made


def declare_conflict(
    session: Session,
    actor: User,
    assignment: ReviewAssignment,
    answer: ConflictAnswer,
    *,
    now: dt.datetime | None = None,
) -> ReviewAssignment:
    """Before seeing the application: no conflict (the review opens), or a conflict with
    its nature (the reviewer never sees it, and managers see it flagged for reassignment)."""
    now = now or now_utc()
    if assignment.reviewer_id != actor.id:
        raise NotPermitted()
    has_conflict = answer.has_conflict
    nature = answer.nature.strip()
    if has_conflict and not nature:
        raise ValidationFailed.single(
            "nature", _("Say briefly what the conflict is, such as a family tie or a past job.")
        )
    if len(nature) > NOTE_MAX:
        raise ValidationFailed.single("nature", _("This text is too long."))
    target = AssignmentState.CONFLICTED if has_conflict else AssignmentState.ACCEPTED
    check_assignment_transition(assignment.state, target.value)
    assignment.state = target
    assignment.declared_at = now
    assignment.conflict_nature = nature if has_conflict else None
    session.flush()
    record_event(
        session,
        actor,
        "review.conflict_declared" if has_conflict else "review.no_conflict",
        assignment,
        object_type="review_assignment",
        after={"application_id": assignment.application_id, "conflict": has_conflict},
        at=now,
    )
    return assignment
