"""Reviewing and deciding. Each operation takes a session and the acting user, checks the
rules, flushes and writes an AuditEvent; none commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.models import Membership, Role, RoleAssignment, User
from ..calls.models import Call
from ..intake.models import Application
from ..intake.rules import ApplicationState, check_application_transition, state_label
from ..platform.audit import record_event
from ..platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ..platform.i18n import current_locale
from ..platform.mail import queue_mail
from ..platform.money import Money, format_money
from ..platform.time import now_utc
from .models import Decision, InfoRequest, Review, ReviewAssignment, ReviewSettings
from .rules import (
    DEFAULT_CRITERIA,
    DEFAULT_DECLINE_REASONS,
    DEFAULT_SPREAD_THRESHOLD,
    AssignmentState,
    Candidate,
    DecisionKind,
    DecisionState,
    Recommendation,
    ReviewerKind,
    check_assignment_transition,
    clean_criteria,
    clean_kind_weights,
    compose_feedback,
    pick_reviewers,
    redact,
    score_of,
    unknown_scores,
)

REVIEWABLE_STATES = (
    ApplicationState.SUBMITTED.value,
    ApplicationState.IN_REVIEW.value,
    ApplicationState.MORE_INFO_REQUESTED.value,
)
NOTE_MAX = 5000


# Settings ---------------------------------------------------------------------------------


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


def save_settings(
    session: Session, actor: User, call: Call, data: Mapping[str, Any]
) -> ReviewSettings:
    """Rubric, kind weights, blind review, hidden reviews, disagreement threshold, decline
    reasons and due date. The rubric cannot change once a review has been submitted, since
    scores already given would no longer mean the same."""
    settings = settings_of(session, call)
    errors: dict[str, list[str]] = {}
    criteria = settings.criteria
    if "criteria" in data:
        try:
            criteria = clean_criteria(data["criteria"])
        except ValidationFailed as failure:
            errors.update(failure.errors)
        else:
            if criteria != settings.criteria and _has_submitted_reviews(session, call):
                errors["criteria"] = [
                    _("Reviews have been submitted, so the rubric can no longer change.")
                ]
    try:
        staff_weight, panel_weight = clean_kind_weights(
            data.get("staff_weight", settings.staff_weight),
            data.get("panel_weight", settings.panel_weight),
        )
    except ValidationFailed as failure:
        errors.update(failure.errors)
        staff_weight, panel_weight = settings.staff_weight, settings.panel_weight
    threshold = settings.spread_threshold
    if data.get("spread_threshold") not in (None, ""):
        try:
            threshold = int(data["spread_threshold"])
            if not 1 <= threshold <= 10_000:
                raise ValueError
        except (TypeError, ValueError):
            errors["spread_threshold"] = [
                _("Give the disagreement threshold in basis points, from 1 to 10000.")
            ]
    reasons = data.get("decline_reasons", settings.decline_reasons)
    if errors:
        raise ValidationFailed(errors)
    before = {
        "criteria": settings.criteria,
        "staff_weight": settings.staff_weight,
        "panel_weight": settings.panel_weight,
        "blind": settings.blind,
        "hide_other_reviews": settings.hide_other_reviews,
    }
    settings.criteria = criteria
    settings.staff_weight, settings.panel_weight = staff_weight, panel_weight
    settings.blind = bool(data.get("blind", settings.blind))
    settings.hide_other_reviews = bool(data.get("hide_other_reviews", settings.hide_other_reviews))
    settings.spread_threshold = threshold
    settings.decline_reasons = list(reasons)
    if "due_at" in data:
        settings.due_at = data["due_at"]
    session.add(settings)
    session.flush()
    record_event(
        session,
        actor,
        "reviews.settings",
        call,
        object_type="call",
        before=before,
        after={
            "criteria": criteria,
            "staff_weight": staff_weight,
            "panel_weight": panel_weight,
            "blind": settings.blind,
            "hide_other_reviews": settings.hide_other_reviews,
        },
    )
    return settings


def _has_submitted_reviews(session: Session, call: Call) -> bool:
    return bool(
        session.scalar(
            select(Review.id)
            .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(Application.call_id == call.id, Review.submitted_at.is_not(None))
            .limit(1)
        )
    )


# Assignments -------------------------------------------------------------------------------


def reviewer_kind(user: User, fund_id: int) -> ReviewerKind | None:
    """Staff reviewer or community panel member for this fund (staff when both)."""
    if user.has_role(Role.REVIEWER, fund_id=fund_id):
        return ReviewerKind.STAFF
    if user.has_role(Role.COMMUNITY_PANEL, fund_id=fund_id):
        return ReviewerKind.PANEL
    return None


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


def _set_application_state(
    session: Session, actor: User | None, application: Application, target: str, now: dt.datetime
) -> None:
    before = application.state
    check_application_transition(before, target)
    application.state = target
    session.flush()
    record_event(
        session,
        actor,
        "application.state",
        application,
        before={"state": before},
        after={"state": target},
        at=now,
    )


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
        _set_application_state(session, actor, application, ApplicationState.IN_REVIEW.value, now)
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
    per_application: int,
    *,
    due_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[ReviewAssignment]:
    """Bring every application of the call up to `per_application` active reviewers,
    choosing the least-loaded reviewers and never one with a declared conflict or from
    the applicant organisation. Applications that cannot be filled keep what they got."""
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
    *,
    has_conflict: bool,
    nature: str = "",
    now: dt.datetime | None = None,
) -> ReviewAssignment:
    """Before seeing the application: no conflict (the review opens), or a conflict with
    its nature (the reviewer never sees it, and managers see it flagged for reassignment)."""
    now = now or now_utc()
    if assignment.reviewer_id != actor.id:
        raise NotPermitted()
    nature = (nature or "").strip()
    if has_conflict and not nature:
        raise ValidationFailed.single(
            "nature", _("Say briefly what the conflict is, such as a family tie or a past job.")
        )
    if len(nature) > NOTE_MAX:
        raise ValidationFailed.single("nature", _("This text is too long."))
    target = AssignmentState.CONFLICTED if has_conflict else AssignmentState.ACCEPTED
    check_assignment_transition(assignment.state, target.value)
    assignment.state = target.value
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


# Reviews -----------------------------------------------------------------------------------


def save_review(
    session: Session,
    actor: User,
    assignment: ReviewAssignment,
    scores: Mapping[str, Any],
    recommendation: str | None,
    comment: str,
    *,
    submit: bool,
    now: dt.datetime | None = None,
) -> Review:
    """Keep the reviewer's scores as a draft, or submit them (then every criterion and a
    recommendation are needed, and the score is fixed)."""
    now = now or now_utc()
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
    kept = {k: str(v) for k, v in scores.items() if k in keys and v not in (None, "")}
    errors: dict[str, str] = {
        f"score_{k}": _("Choose one of the options.") for k in unknown_scores(criteria, kept)
    }
    recommendation = (recommendation or "").strip() or None
    if recommendation is not None and recommendation not in {r.value for r in Recommendation}:
        errors["recommendation"] = _("Choose fund, maybe or do not fund.")
    comment = (comment or "").strip()
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
        assignment.state = AssignmentState.SUBMITTED.value
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


def others_visible(settings: ReviewSettings, assignment: ReviewAssignment) -> bool:
    return not settings.hide_other_reviews or assignment.state == AssignmentState.SUBMITTED


# Decisions ---------------------------------------------------------------------------------


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


def _check_envelope(session: Session, call: Call, amount: Money) -> None:
    awarded = awarded_total(session, call)
    if awarded + amount > call.budget:
        left = call.budget - awarded
        raise InvalidTransition(
            _(
                "This award would take the call past its budget envelope of %(budget)s: "
                "%(awarded)s is already awarded, so at most %(left)s remains.",
                budget=format_money(call.budget, current_locale()),
                awarded=format_money(awarded, current_locale()),
                left=format_money(left, current_locale()),
            )
        )


def open_decision(session: Session, application: Application) -> Decision | None:
    return session.scalar(
        select(Decision).where(
            Decision.application_id == application.id,
            Decision.state.in_([DecisionState.PROPOSED.value, DecisionState.CONFIRMED.value]),
        )
    )


def propose_decision(
    session: Session,
    actor: User,
    application: Application,
    *,
    kind: str,
    amount: Money | None = None,
    reason: str = "",
    reason_keys: Sequence[str] = (),
    feedback_text: str = "",
    now: dt.datetime | None = None,
) -> Decision:
    """A fund manager proposes to award (an amount within the call's bounds that keeps the
    call within its envelope) or to decline (with feedback in the applicant's language);
    another manager confirms."""
    now = now or now_utc()
    call = application.call
    if application.state != ApplicationState.IN_REVIEW:
        raise InvalidTransition(_("Only an application under review can be decided."))
    if open_decision(session, application) is not None:
        raise InvalidTransition(_("A decision on this application is already proposed."))
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if kind not in {k.value for k in DecisionKind}:
        raise ValidationFailed.single("kind", _("Choose to award or to decline."))
    feedback: str | None = None
    if kind == DecisionKind.AWARD:
        if not reason:
            errors["reason"] = _("Give the reasons for this award.")
        if amount is None:
            errors["amount"] = _("Enter the amount to award.")
        elif amount.currency != call.currency or not (
            call.min_request <= amount <= call.max_request
        ):
            errors["amount"] = _(
                "Award between %(min)s and %(max)s.",
                min=format_money(call.min_request, current_locale()),
                max=format_money(call.max_request, current_locale()),
            )
        if errors:
            raise ValidationFailed(errors)
        assert amount is not None
        _check_envelope(session, call, amount)
    else:
        amount = None
        settings = settings_of(session, call)
        known = {r["key"] for r in settings.decline_reasons}
        chosen = [k for k in reason_keys if k in known]
        feedback = compose_feedback(
            settings.decline_reasons, chosen, feedback_text, application.language
        )
        if not feedback:
            errors["feedback_text"] = _(
                "Choose at least one reason or write feedback the applicant can use."
            )
        if errors:
            raise ValidationFailed(errors)
        reason_keys = chosen
        reason = reason or feedback
    decision = Decision(
        application_id=application.id,
        kind=kind,
        state=DecisionState.PROPOSED.value,
        amount_minor=amount.amount_minor if amount is not None else None,
        currency=call.currency,
        reason=reason[:NOTE_MAX],
        reason_keys=list(reason_keys),
        feedback=feedback,
        language=application.language,
        proposed_by_id=actor.id,
        proposed_at=now,
    )
    session.add(decision)
    session.flush()
    record_event(
        session,
        actor,
        "decision.propose",
        decision,
        after={
            "application_id": application.id,
            "kind": kind,
            "amount_minor": decision.amount_minor,
            "reason": decision.reason,
        },
        at=now,
    )
    return decision


def commit_award(session: Session, actor: User, application: Application, amount: Money) -> Any:
    """Put money behind a confirmed award: the grant is created and its amount committed
    in the ledger, in the fund's currency at the call's stated rate. Raises
    InsufficientFunds, having written nothing, when the fund cannot cover it."""
    from ..grants.rules import RiskLevel
    from ..grants.services import create_grant

    call = application.call
    template = (call.tranche_template or "").strip().lower()
    risk = template if template in {r.value for r in RiskLevel} else RiskLevel.MEDIUM.value
    return create_grant(
        session,
        actor,
        application,
        call.in_base_currency(amount),
        risk_level=risk,
        language=application.language,
    )


def confirm_decision(
    session: Session, actor: User, decision: Decision, now: dt.datetime | None = None
) -> Decision:
    """A second fund manager confirms: the application is awarded (and the money
    committed) or declined, and the applicant is told in its language."""
    now = now or now_utc()
    _check_second_person(actor, decision)
    application = decision.application
    call = application.call
    # One award at a time per call, so two confirmations cannot both fit the envelope.
    session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    if decision.state != DecisionState.PROPOSED:
        raise InvalidTransition(_("This decision has already been confirmed or rejected."))
    if decision.kind == DecisionKind.AWARD:
        amount = decision.amount
        assert amount is not None
        _check_envelope(session, call, amount)
        # First the money: when the fund cannot cover it, nothing else has changed.
        commit_award(session, actor, application, amount)
        _set_application_state(session, actor, application, ApplicationState.AWARDED.value, now)
    else:
        _set_application_state(session, actor, application, ApplicationState.DECLINED.value, now)
    decision.state = DecisionState.CONFIRMED.value
    decision.decided_by_id = actor.id
    decision.decided_at = now
    session.flush()
    record_event(
        session,
        actor,
        "decision.confirm",
        decision,
        after={"application_id": application.id, "kind": decision.kind},
        at=now,
    )
    notify_applicant(session, application, decision=decision)
    return decision


def reject_decision(
    session: Session, actor: User, decision: Decision, note: str, now: dt.datetime | None = None
) -> Decision:
    """The second manager sends the proposal back; a new one may then be made."""
    now = now or now_utc()
    _check_second_person(actor, decision)
    if decision.state != DecisionState.PROPOSED:
        raise InvalidTransition(_("This decision has already been confirmed or rejected."))
    note = (note or "").strip()
    if not note:
        raise ValidationFailed.single("note", _("Say why the proposal is rejected."))
    decision.state = DecisionState.REJECTED.value
    decision.decided_by_id = actor.id
    decision.decided_at = now
    decision.rejection_note = note[:NOTE_MAX]
    session.flush()
    record_event(
        session, actor, "decision.reject", decision, after={"note": decision.rejection_note}, at=now
    )
    return decision


def _check_second_person(actor: User, decision: Decision) -> None:
    if actor.id == decision.proposed_by_id:
        raise NotPermitted(
            _("You proposed this decision. A different fund manager must confirm or reject it.")
        )


# More information ------------------------------------------------------------------------


def request_more_info(
    session: Session,
    actor: User,
    application: Application,
    question: str,
    now: dt.datetime | None = None,
) -> InfoRequest:
    now = now or now_utc()
    question = (question or "").strip()
    if not question:
        raise ValidationFailed.single("question", _("Write what the applicant should tell you."))
    if len(question) > NOTE_MAX:
        raise ValidationFailed.single("question", _("This text is too long."))
    decision = open_decision(session, application)
    if decision is not None and decision.state == DecisionState.PROPOSED:
        raise InvalidTransition(_("A decision is proposed: confirm or reject it first."))
    _set_application_state(
        session, actor, application, ApplicationState.MORE_INFO_REQUESTED.value, now
    )
    info = InfoRequest(
        application_id=application.id,
        requested_by_id=actor.id,
        question=question,
        requested_at=now,
        answer_draft="",
    )
    session.add(info)
    session.flush()
    record_event(
        session,
        actor,
        "application.more_info",
        info,
        object_type="info_request",
        after={"application_id": application.id, "question": question},
        at=now,
    )
    notify_applicant(session, application, info_request=info)
    return info


def open_info_request(session: Session, application: Application) -> InfoRequest | None:
    return session.scalar(
        select(InfoRequest).where(
            InfoRequest.application_id == application.id, InfoRequest.answered_at.is_(None)
        )
    )


def answer_info_request(
    session: Session,
    actor: User,
    info: InfoRequest,
    text: str,
    *,
    send: bool,
    now: dt.datetime | None = None,
) -> InfoRequest:
    """The applicant's answer: kept as a draft at every save; sending returns the
    application to review."""
    now = now or now_utc()
    application = session.get(Application, info.application_id)
    assert application is not None
    if not actor.belongs_to(application.organisation_id):
        raise NotPermitted()
    if info.answered_at is not None:
        raise InvalidTransition(_("You have already answered this question."))
    text = (text or "").strip()
    if len(text) > 20_000:
        raise ValidationFailed.single("answer", _("This answer is too long."))
    info.answer_draft = text
    session.flush()
    if not send:
        return info
    if not text:
        raise ValidationFailed.single("answer", _("Write your answer before sending it."))
    info.answer = text
    info.answered_at = now
    info.answered_by_id = actor.id
    _set_application_state(session, actor, application, ApplicationState.IN_REVIEW.value, now)
    record_event(
        session,
        actor,
        "application.more_info_answered",
        info,
        object_type="info_request",
        after={"application_id": application.id},
        at=now,
    )
    return info


# Notifications ---------------------------------------------------------------------------


def applicant_address(session: Session, application: Application) -> str | None:
    if application.created_by_id is not None:
        user = session.get(User, application.created_by_id)
        if user is not None and user.active:
            return user.email
    return application.organisation.contact_email


def notify_applicant(
    session: Session,
    application: Application,
    *,
    decision: Decision | None = None,
    info_request: InfoRequest | None = None,
) -> None:
    """Tell the applicant of a status change: in the language saved on the account of the
    person who applied, else the one the application was made in."""
    to = applicant_address(session, application)
    if not to:
        return
    from ..platform.i18n import mail_locale

    person = session.get(User, application.created_by_id) if application.created_by_id else None
    language = mail_locale(person.locale if person is not None else None, application.language)
    from flask_babel import force_locale

    with force_locale(language):
        status = state_label(application.state)
    queue_mail(
        session,
        to,
        "application_status",
        language,
        reference=application.reference,
        call_title=application.call.title_in(language),
        status=status,
        state=application.state,
        amount=format_money(decision.amount, language) if decision and decision.amount else None,
        feedback=decision.feedback if decision else None,
        question=info_request.question if info_request else None,
    )


# What a reviewer reads -------------------------------------------------------------------


def identifying_strings(application: Application) -> list[str]:
    """Everything that names or reaches the applicant organisation or its people."""
    organisation = application.organisation
    values = [
        organisation.name,
        organisation.short_name,
        organisation.registration_number,
        organisation.org_id,
        organisation.contact_email,
        organisation.contact_phone,
        organisation.locality,
        application.reference,
    ]
    return [v for v in values if v]


def reviewer_view(
    session: Session, assignment: ReviewAssignment, settings: ReviewSettings, locale: str
) -> dict[str, Any]:
    """The application as its reviewer sees it: with a blind call, no organisation name,
    contacts, identifiers, reference or file names, and those words struck from answers."""
    from ..calls.rules import QuestionKind, all_questions, is_shown, text_in
    from ..organisations.rules import country_name

    application = assignment.application
    call = application.call
    blind = settings.blind
    secrets = identifying_strings(application) if blind else []
    answers: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    for question in all_questions(call.questions):
        key = question["key"]
        value = application.answers.get(key)
        if value in (None, "", [], {}) or not is_shown(question, application.answers):
            continue
        label = text_in(question["label"], locale)
        kind = question["kind"]
        if kind == QuestionKind.FILE:
            number = len(attachments) + 1
            attachments.append(
                {
                    "number": number,
                    "question": label,
                    "name": _("Attachment %(n)s", n=number) if blind else value.get("name"),
                    "content_type": value.get("content_type"),
                    "size": value.get("size"),
                }
            )
            text_value = str(attachments[-1]["name"])
        elif kind == QuestionKind.MONEY:
            text_value = format_money(Money(int(value), application.currency), locale)
        elif kind == QuestionKind.BUDGET_TABLE:
            text_value = "\n".join(
                f"{row['line']}: {format_money(Money(int(row['amount_minor']), application.currency), locale)}"  # noqa: E501
                for row in value
            )
        elif kind == QuestionKind.LOCATION:
            text_value = country_name(value.get("country") or "") + (
                f" ({value['area']})" if value.get("area") else ""
            )
        elif isinstance(value, list):
            text_value = ", ".join(str(v) for v in value)
        else:
            text_value = str(value)
        answers.append({"key": key, "question": label, "answer": redact(text_value, secrets)})
    organisation = application.organisation
    return {
        "assignment_id": assignment.id,
        "blind": blind,
        "reference": None if blind else application.reference,
        "organisation": None if blind else organisation.name,
        "country": organisation.country,
        "org_type": organisation.org_type,
        "call_title": call.title_in(locale),
        "requested": application.requested,
        "language": application.language,
        "answers": answers,
        "attachments": attachments,
        "info_requests": [
            {"question": redact(i.question, secrets), "answer": redact(i.answer, secrets)}
            for i in session.scalars(
                select(InfoRequest)
                .where(
                    InfoRequest.application_id == application.id,
                    InfoRequest.answered_at.is_not(None),
                )
                .order_by(InfoRequest.id)
            )
        ],
    }


def attachment_of(assignment: ReviewAssignment, number: int) -> dict[str, Any] | None:
    """The stored file behind a reviewer's attachment number (1-based), if any."""
    from ..calls.rules import QuestionKind, all_questions

    application = assignment.application
    files = [
        application.answers[q["key"]]
        for q in all_questions(application.call.questions)
        if q["kind"] == QuestionKind.FILE and application.answers.get(q["key"])
    ]
    if not 1 <= number <= len(files):
        return None
    found: dict[str, Any] = files[number - 1]
    return found
