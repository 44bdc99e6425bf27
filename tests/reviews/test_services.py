"""Assigning, conflicts, reviewing and four-eyes decisions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.ledger.models import LedgerTransaction
from grantpool.platform.errors import (
    InsufficientFunds,
    InvalidTransition,
    NotPermitted,
    ValidationFailed,
)
from grantpool.platform.mail import OutboxMessage
from grantpool.platform.money import Money
from grantpool.reviews import queries, services
from grantpool.reviews.commands import (
    AutoAssignment,
    ConflictAnswer,
    DecisionProposal,
    DecisionRejection,
    InfoAnswer,
    MoreInfoRequest,
    ScoreSheet,
    SettingsChange,
)
from grantpool.reviews.models import Decision, ReviewAssignment
from grantpool.reviews.rules import DecisionKind
from tests.factories import make_fund, make_user
from tests.reviews.conftest import World, build_world, refused, submit

FULL = {"need": "4", "community_led": "4", "feasible": "yes"}
HALF = {"need": "2", "community_led": "2", "feasible": "partly"}


def review(session: Session, world: World, application, reviewer, scores, rec="fund"):
    assignment = services.assign_reviewer(session, world.manager, application, reviewer)
    services.declare_conflict(session, reviewer, assignment, ConflictAnswer(False))
    return services.save_review(
        session, reviewer, assignment, ScoreSheet(scores, rec, "ok", submit=True)
    )


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_assigning_moves_the_application_into_review(session: Session, world: World) -> None:
    application = world.applications[0]
    assignment = services.assign_reviewer(session, world.manager, application, world.staff)
    assert assignment.kind == "staff" and assignment.state == "assigned"
    assert application.state == "in_review"
    panel = services.assign_reviewer(session, world.manager, application, world.panel)
    assert panel.kind == "panel"
    with refused(ValidationFailed, "already assigned"):
        services.assign_reviewer(session, world.manager, application, world.staff)


def test_member_of_the_applicant_organisation_is_blocked(session: Session, world: World) -> None:
    # The panel member belongs to the second organisation.
    with refused(ValidationFailed, "belongs to the applicant organisation"):
        services.assign_reviewer(session, world.manager, world.applications[1], world.panel)
    outsider = make_user(session, (Role.REVIEWER.value, make_fund(session).id, None))
    with refused(ValidationFailed, "not a reviewer"):
        services.assign_reviewer(session, world.manager, world.applications[0], outsider)


def test_conflict_hides_and_flags_until_reassigned(session: Session, world: World) -> None:
    application = world.applications[0]
    assignment = services.assign_reviewer(session, world.manager, application, world.staff)
    with refused(ValidationFailed, "what the conflict is"):
        services.declare_conflict(session, world.staff, assignment, ConflictAnswer(True, " "))
    services.declare_conflict(
        session, world.staff, assignment, ConflictAnswer(True, "My cousin leads it")
    )
    assert assignment.needs_reassignment
    assert queries.reviewer_queue(session, world.staff).items == []
    with pytest.raises(InvalidTransition):
        services.save_review(
            session, world.staff, assignment, ScoreSheet(FULL, "fund", "", submit=True)
        )
    with refused(ValidationFailed, "declared a conflict"):
        services.assign_reviewer(session, world.manager, application, world.staff)
    services.assign_reviewer(session, world.manager, application, world.staff2)
    assert not assignment.needs_reassignment


def test_auto_assign_is_balanced_and_respects_conflicts(session: Session, world: World) -> None:
    # Six more applications from organisations no reviewer belongs to.
    for _ in range(6):
        submit(session, world.call, world.organisations[0], world.applicants[0])
    first = services.assign_reviewer(session, world.manager, world.applications[0], world.staff)
    services.declare_conflict(session, world.staff, first, ConflictAnswer(True, "Former job"))
    made = services.auto_assign(session, world.manager, world.call, AutoAssignment(2))
    by_app: dict[int, set[int]] = {}
    for a in made:
        by_app.setdefault(a.application_id, set()).add(a.reviewer_id)
    assert all(len(ids) == 2 for ids in by_app.values()) and len(by_app) == 8
    assert world.staff.id not in by_app[world.applications[0].id]
    assert world.panel.id not in by_app[world.applications[1].id]  # own organisation
    loads = [
        sum(1 for a in made if a.reviewer_id == r.id)
        for r in (world.staff, world.staff2, world.panel)
    ]
    assert max(loads) - min(loads) <= 1
    again = services.auto_assign(session, world.manager, world.call, AutoAssignment(2))
    assert again == []  # idempotent


def test_review_draft_then_submit_fixes_the_score(session: Session, world: World) -> None:
    assignment = services.assign_reviewer(
        session, world.manager, world.applications[0], world.staff
    )
    with pytest.raises(InvalidTransition, match="conflict of interest first"):
        services.save_review(
            session, world.staff, assignment, ScoreSheet(FULL, None, "", submit=False)
        )
    services.declare_conflict(session, world.staff, assignment, ConflictAnswer(False))
    draft = services.save_review(
        session, world.staff, assignment, ScoreSheet({"need": "3"}, None, "half way", submit=False)
    )
    assert draft.submitted_at is None and draft.scores == {"need": "3"}
    with pytest.raises(ValidationFailed) as failure:
        services.save_review(
            session, world.staff, assignment, ScoreSheet({"need": "3"}, None, "", submit=True)
        )
    assert {"score_community_led", "score_feasible", "recommendation"} <= set(failure.value.errors)
    done = services.save_review(
        session, world.staff, assignment, ScoreSheet(HALF, "maybe", "", submit=True)
    )
    assert done.score_bp == 5000 and assignment.state == "submitted"
    with pytest.raises(InvalidTransition, match="sent already"):
        services.save_review(
            session, world.staff, assignment, ScoreSheet(FULL, "fund", "", submit=True)
        )


def test_ranking_weights_kinds_in_sql(session: Session, world: World) -> None:
    settings = services.save_settings(
        session, world.manager, world.call, SettingsChange(staff_weight=1, panel_weight=3)
    )
    first = world.applications[0]
    review(session, world, first, world.staff, FULL)  # 100
    review(session, world, first, world.panel, HALF)  # 50
    rows = queries.ranking(session, world.call, settings)
    top = rows[0]
    assert top.application_id == first.id
    assert top.score == pytest.approx(62.5)  # (100*1 + 50*3) / 4
    assert top.reviews == 2 and top.spread == 50.0 and top.disputed
    assert rows[1].score is None and rows[1].reviews == 0
    assert rows[1].running_total == Money(650000, "USD")
    assert [
        r.application_id for r in queries.ranking(session, world.call, settings, country="UG")
    ] == [world.applications[1].id]
    assert [
        r.application_id
        for r in queries.ranking(session, world.call, settings, leadership="women_led")
    ] == [first.id]


def award(amount_minor: int, reason: str) -> DecisionProposal:
    return DecisionProposal(DecisionKind.AWARD, amount_minor, reason=reason)


def decline(*reason_keys: str, feedback_text: str = "") -> DecisionProposal:
    return DecisionProposal(
        DecisionKind.DECLINE, reason_keys=reason_keys, feedback_text=feedback_text
    )


def decided(session: Session, world: World, application, proposal: DecisionProposal):
    services.assign_reviewer(session, world.manager, application, world.staff)
    return services.propose_decision(session, world.manager, application, proposal)


def test_four_eyes_award_commits_money_and_tells_the_applicant(
    session: Session, world: World
) -> None:
    application = world.applications[0]
    decision = decided(session, world, application, award(300000, "Strong community lead"))
    with pytest.raises(NotPermitted, match="different fund manager"):
        services.confirm_decision(session, world.manager, decision)
    before = count(session, LedgerTransaction)
    services.confirm_decision(session, world.manager2, decision)
    assert application.state == "awarded" and decision.state == "confirmed"
    assert count(session, LedgerTransaction) == before + 1
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail.to_address == "amina@example.org" and mail.locale == "en"
    assert "awarded" in mail.subject and "$3,000.00" in mail.body_text


def test_database_refuses_a_self_confirmed_decision(session: Session, world: World) -> None:
    decision = decided(session, world, world.applications[0], decline("budget"))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            Decision.__table__.update()
            .where(Decision.id == decision.id)
            .values(
                state="confirmed", decided_by_id=world.manager.id, decided_at=decision.proposed_at
            )
        )


def test_award_bounds_and_envelope(session: Session, world: World) -> None:
    application = world.applications[0]
    with refused(ValidationFailed, "Award between"):
        decided(session, world, application, award(600000, "x"))
    # Fill the 50,000 envelope with ten confirmed awards of 5,000, then one more is refused.
    for _ in range(10):
        other = submit(session, world.call, world.organisations[0], world.applicants[0])
        d = decided(session, world, other, award(500000, "x"))
        services.confirm_decision(session, world.manager2, d)
    assert services.awarded_total(session, world.call) == Money(5000000, "USD")
    with pytest.raises(InvalidTransition, match="past its budget envelope"):
        services.propose_decision(session, world.manager, application, award(100000, "x"))


def test_award_the_fund_cannot_cover_writes_nothing(session: Session) -> None:
    world = build_world(session, money="1000")
    application = world.applications[0]
    decision = decided(session, world, application, award(300000, "x"))
    before = count(session, LedgerTransaction)
    with pytest.raises(InsufficientFunds), session.begin_nested():
        services.confirm_decision(session, world.manager2, decision)
    assert count(session, LedgerTransaction) == before
    session.refresh(application)
    session.refresh(decision)
    assert application.state == "in_review" and decision.state == "proposed"


def test_decline_feedback_in_the_applicants_language(session: Session, world: World) -> None:
    application = world.applications[1]  # applied in French
    decision = decided(
        session,
        world,
        application,
        decline("budget", "nope", feedback_text="Revenez l'an prochain."),
    )
    assert decision.feedback.startswith("- Le budget de l'appel")
    assert decision.reason_keys == ["budget"]
    services.confirm_decision(session, world.manager2, decision)
    assert application.state == "declined"
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail.to_address == "okello@example.org" and mail.locale == "fr"
    assert "Le budget de l'appel" in mail.body_text and "Revenez l'an prochain." in mail.body_text


def test_decline_needs_feedback_and_rejection_needs_another(session: Session, world: World) -> None:
    application = world.applications[0]
    with refused(ValidationFailed, "at least one reason"):
        decided(session, world, application, decline())
    decision = services.propose_decision(
        session, world.manager, application, decline(feedback_text="Too broad")
    )
    with pytest.raises(InvalidTransition, match="already proposed"):
        services.propose_decision(session, world.manager2, application, decline(feedback_text="x"))
    with pytest.raises(NotPermitted):
        services.reject_decision(
            session, world.manager, decision, DecisionRejection("changed my mind")
        )
    services.reject_decision(
        session, world.manager2, decision, DecisionRejection("Give it a review first")
    )
    again = services.propose_decision(
        session, world.manager2, application, decline(feedback_text="Too broad")
    )
    assert again.state == "proposed"


def test_more_information_round_trip_keeps_the_draft(session: Session, world: World) -> None:
    application = world.applications[1]
    services.assign_reviewer(session, world.manager, application, world.staff)
    info = services.request_more_info(
        session, world.manager, application, MoreInfoRequest("Who keeps the books?")
    )
    assert application.state == "more_info_requested"
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail.locale == "fr" and "Who keeps the books?" in mail.body_text
    with pytest.raises(InvalidTransition):
        services.propose_decision(session, world.manager, application, decline(feedback_text="x"))
    with pytest.raises(NotPermitted):
        services.answer_info_request(session, world.applicants[0], info, InfoAnswer("x", send=True))
    services.answer_info_request(
        session, world.applicants[1], info, InfoAnswer("Our treasurer", send=False)
    )
    assert info.answer_draft == "Our treasurer" and application.state == "more_info_requested"
    services.answer_info_request(
        session, world.applicants[1], info, InfoAnswer("Our treasurer, Grace", send=True)
    )
    assert info.answer == "Our treasurer, Grace" and application.state == "in_review"


def test_rubric_is_frozen_once_reviews_are_in(session: Session, world: World) -> None:
    review(session, world, world.applications[0], world.staff, FULL)
    with refused(ValidationFailed, "can no longer change"):
        services.save_settings(
            session,
            world.manager,
            world.call,
            SettingsChange(
                criteria=({"key": "need", "label": "Need", "weight": 1, "scale": "0-4"},)
            ),
        )
    assert session.scalar(select(func.count()).select_from(ReviewAssignment)) == 1


def test_a_confirmed_award_becomes_a_grant_with_its_money_committed(
    session: Session, world: World
) -> None:
    from grantpool.grants.models import Grant, Tranche
    from grantpool.ledger.services import balance_of, check_ledger

    application = world.applications[0]
    fund = world.call.fund
    available_before = balance_of(session, fund, "fund:available")
    decision = decided(session, world, application, award(400000, "Strong community plan"))
    services.confirm_decision(session, world.manager2, decision)
    grant = session.scalar(select(Grant).where(Grant.application_id == application.id))
    assert grant is not None and grant.amount_minor == 400000
    tranches = session.scalars(select(Tranche).where(Tranche.grant_id == grant.id)).all()
    assert len(tranches) >= 2 and sum(t.amount_minor for t in tranches) == 400000
    assert balance_of(session, fund, f"grant:{grant.id}:committed") == Money(400000, "USD")
    assert balance_of(session, fund, "fund:available") == available_before - Money(400000, "USD")
    assert list(check_ledger(session)) == []
