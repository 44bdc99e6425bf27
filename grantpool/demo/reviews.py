"""The demo's reviews: a closed call under review with
staff and community panel reviewers, reviews in progress and complete, a conflict, and
decisions of each kind (award confirmed, decline confirmed, award awaiting its second
manager, more information requested)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Membership, Role, User
from ..accounts.services import create_user
from ..calls import services as calls
from ..calls.commands import read_call_details, read_questions
from ..funds.models import Fund
from ..intake.services import submit_application
from ..organisations.models import Organisation
from ..platform.money import Money
from ..platform.time import now_utc
from ..reviews import services
from ..reviews.commands import (
    ConflictAnswer,
    DecisionProposal,
    MoreInfoRequest,
    ScoreSheet,
    SettingsChange,
)
from ..reviews.rules import DecisionKind
from .calls import QUESTIONS
from .people import DEMO_PASSWORD, demo_email, demo_user

ANSWERS = [
    "A women's savings group will run a seed bank for 60 households.",
    "Des jeunes formeront 200 familles à la gestion de l'eau.",
    "Youth volunteers will map flood risks and train first responders.",
    "La mairie équipera deux centres d'accueil pour les familles déplacées.",
    "Disability rights advocates will make three shelters accessible.",
]
HIGH = {"need": "4", "community_led": "4", "feasible": "yes"}
MIDDLE = {"need": "3", "community_led": "2", "feasible": "partly"}
LOW = {"need": "1", "community_led": "1", "feasible": "no"}


def seed_reviews(
    session: Session,
    fund: Fund,
    organisations: list[Organisation],
    now: dt.datetime | None = None,
) -> None:
    now = now or now_utc()
    manager, manager2 = demo_user(session, "manager"), demo_user(session, "manager2")
    rania, pascal = demo_user(session, "reviewer"), demo_user(session, "panel")
    samuel = create_user(
        session,
        manager,
        email=demo_email("reviewer2"),
        name="Samuel Staff",
        password=DEMO_PASSWORD,
        roles=[(Role.REVIEWER.value, fund.id, None)],
    )
    nadia = create_user(
        session,
        manager,
        email=demo_email("panel2"),
        name="Nadia Panel",
        password=DEMO_PASSWORD,
        roles=[(Role.COMMUNITY_PANEL.value, fund.id, None)],
    )
    call = calls.create_call(
        session,
        manager,
        fund,
        read_call_details(
            fund,
            {
                "title": {
                    "en": "Local leadership window 2026",
                    "fr": "Fenêtre leadership local 2026",
                },
                "description": {"en": "Closed: reviewed by staff and a community panel."},
                "budget": "30000",
                "min_request": "2000",
                "max_request": "12000",
                "opens_at": now - dt.timedelta(days=80),
                "closes_at": now - dt.timedelta(days=20),
                "channels": ["web", "api"],
            },
        ),
    )
    calls.set_questions(session, manager, call, read_questions(QUESTIONS[:2]))
    calls.open_call(session, manager, call, now=now - dt.timedelta(days=80))
    applications = []
    for n, organisation in enumerate(organisations[:5]):
        member = _member(session, organisation)
        language = "fr" if organisation.country in ("CI", "BF") else "en"
        applications.append(
            submit_application(
                session,
                member,
                call,
                organisation,
                {"summary": ANSWERS[n], "people": str(60 + 40 * n)},
                Money(500000 + 150000 * n, "USD"),
                "web",
                language,
                now - dt.timedelta(days=40 - n),
            )
        )
    calls.close_call(session, manager, call, now=now - dt.timedelta(days=20))
    services.save_settings(
        session,
        manager,
        call,
        SettingsChange(staff_weight=1, panel_weight=1, due_at=now + dt.timedelta(days=10)),
    )
    at = now - dt.timedelta(days=15)

    def reviewed(application, reviewer, scores, recommendation, comment="", submit=True):
        assignment = services.assign_reviewer(session, manager, application, reviewer, now=at)
        services.declare_conflict(session, reviewer, assignment, ConflictAnswer(False), now=at)
        sheet = ScoreSheet(scores, recommendation if submit else None, comment, submit=submit)
        services.save_review(session, reviewer, assignment, sheet, now=at)
        return assignment

    first, second, third, fourth, fifth = applications
    # Awarded, confirmed by a second manager (the money is committed in the ledger).
    reviewed(first, rania, HIGH, "fund", "Clear need, led by the women it serves.")
    reviewed(first, pascal, HIGH, "fund", "Known and trusted in Kibera.")
    award = services.propose_decision(
        session,
        manager,
        first,
        DecisionProposal(
            DecisionKind.AWARD, 500000, reason="Top score from both kinds of reviewer."
        ),
        now=at,
    )
    services.confirm_decision(session, manager2, award, now=at)
    # Declined with feedback in French, confirmed.
    reviewed(second, samuel, LOW, "do_not_fund", "The budget is not explained.")
    reviewed(second, nadia, MIDDLE, "maybe")
    decline = services.propose_decision(
        session,
        manager,
        second,
        DecisionProposal(
            DecisionKind.DECLINE,
            reason_keys=("detail",),
            feedback_text="Nous serions heureux de recevoir une nouvelle demande avec un "
            "budget détaillé.",
        ),
        now=at,
    )
    services.confirm_decision(session, manager2, decline, now=at)
    # More information requested; one review done, one in progress.
    reviewed(third, rania, MIDDLE, "maybe", "Who will keep the equipment?")
    reviewed(third, nadia, {"need": "3"}, None, submit=False)
    services.request_more_info(
        session,
        manager,
        third,
        MoreInfoRequest("Who will look after the first-aid kits after the project?"),
        now=at,
    )
    # An award waiting for its second manager; the panel member of this organisation is
    # blocked, and a staff reviewer declared a conflict.
    conflicted = services.assign_reviewer(session, manager, fourth, samuel, now=at)
    services.declare_conflict(
        session,
        samuel,
        conflicted,
        ConflictAnswer(True, "I worked for the mairie in 2024."),
        now=at,
    )
    reviewed(fourth, rania, HIGH, "fund")
    reviewed(fourth, nadia, MIDDLE, "fund")
    services.propose_decision(
        session,
        manager2,
        fourth,
        DecisionProposal(
            DecisionKind.AWARD,
            800000,
            reason="Shelters for displaced families; strong local government partner.",
        ),
        now=at,
    )
    # Just assigned: one reviewer has not declared yet, one has a draft.
    services.assign_reviewer(session, manager, fifth, rania, now=at)
    reviewed(fifth, pascal, {"need": "4", "community_led": "3"}, None, submit=False)


def _member(session: Session, organisation: Organisation) -> User | None:
    return session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation.id, User.email.not_like("panel%"))
        .order_by(User.id)
        .limit(1)
    )
