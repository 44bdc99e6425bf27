"""Every role tries every review and decision URL of another call or organisation."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.reviews import services
from grantpool.reviews.commands import ConflictAnswer, DecisionProposal
from grantpool.reviews.rules import DecisionKind
from tests.factories import make_fund, make_organisation, make_user
from tests.intake.test_api import bearer
from tests.ledger.helpers import make_finance_officer
from tests.reviews.conftest import World
from tests.reviews.test_views import sign_in


@pytest.fixture
def targets(session: Session, world: World) -> dict:
    application = world.applications[0]
    assignment = services.assign_reviewer(session, world.manager, application, world.staff)
    services.declare_conflict(session, world.staff, assignment, ConflictAnswer(False))
    decision = services.propose_decision(
        session,
        world.manager,
        application,
        DecisionProposal(DecisionKind.DECLINE, feedback_text="Not this time"),
    )
    other_fund = make_fund(session)
    other_org = make_organisation(session)
    outsiders = {
        "manager of another fund": make_user(
            session, (Role.FUND_MANAGER.value, other_fund.id, None)
        ),
        "reviewer of another fund": make_user(session, (Role.REVIEWER.value, other_fund.id, None)),
        "panel of another fund": make_user(
            session, (Role.COMMUNITY_PANEL.value, other_fund.id, None)
        ),
        "reviewer not assigned": world.staff2,
        "panel member not assigned": world.panel,
        "finance officer of the fund": make_finance_officer(session, world.fund),
        "applicant of another organisation": make_user(
            session, Role.APPLICANT.value, organisations=[other_org]
        ),
        "donor viewer": make_user(session, (Role.DONOR_VIEWER.value, None, _donor(session))),
    }
    return {
        "a": assignment.id,
        "c": world.call.id,
        "app": application.id,
        "d": decision.id,
        "outsiders": outsiders,
    }


def _donor(session: Session) -> int:
    from tests.factories import make_donor

    return make_donor(session).id


HTML = [
    ("get", "/reviews/{a}"),
    ("post", "/reviews/{a}/declare"),
    ("post", "/reviews/{a}"),
    ("get", "/reviews/{a}/attachments/1"),
    ("get", "/manage/calls/{c}/reviews/settings"),
    ("post", "/manage/calls/{c}/reviews/settings"),
    ("get", "/manage/calls/{c}/reviews"),
    ("post", "/manage/calls/{c}/reviews/assign"),
    ("post", "/manage/calls/{c}/reviews/auto-assign"),
    ("get", "/manage/calls/{c}/ranking"),
    ("get", "/manage/calls/{c}/ranking.csv"),
    ("get", "/manage/calls/{c}/ranking.xlsx"),
    ("get", "/manage/applications/{app}/decision"),
    ("post", "/manage/applications/{app}/decision"),
    ("post", "/manage/applications/{app}/more-info"),
    ("post", "/manage/decisions/{d}/confirm"),
    ("post", "/manage/decisions/{d}/reject"),
    ("get", "/applications/{app}/more-info"),
    ("post", "/applications/{app}/more-info"),
]
API = [
    ("get", "/api/v1/reviews/{a}", None),
    ("put", "/api/v1/reviews/{a}", {"scores": {}, "submit": False}),
    ("post", "/api/v1/reviews/{a}/conflict", {"has_conflict": False}),
    ("get", "/api/v1/calls/{c}/ranking", None),
    ("get", "/api/v1/applications/{app}/decisions", None),
    ("post", "/api/v1/applications/{app}/decisions", {"kind": "decline", "feedback_text": "x"}),
    ("get", "/api/v1/decisions/{d}", None),
    ("post", "/api/v1/decisions/{d}/confirm", None),
    ("post", "/api/v1/decisions/{d}/reject", {"note": "x"}),
]


def test_every_outsider_is_refused_everywhere(
    session: Session, client: FlaskClient, world: World, targets: dict
) -> None:
    ids = {k: v for k, v in targets.items() if k != "outsiders"}
    refused = {403, 404}
    for who, user in targets["outsiders"].items():
        token = sign_in(client, user)
        for method, pattern in HTML:
            url = pattern.format(**ids)
            data = (
                {
                    "csrf_token": token,
                    "application_id": ids["app"],
                    "reviewer_id": user.id,
                    "per_application": 2,
                    "kind": "decline",
                    "feedback_text": "x",
                    "note": "x",
                    "question": "x",
                    "answer": "x",
                    "send": "1",
                    "has_conflict": "no",
                }
                if method == "post"
                else None
            )
            response = getattr(client, method)(url, data=data)
            assert response.status_code in refused, (who, method, url, response.status_code)
        headers = bearer(session, user)
        for method, pattern, body in API:
            url = pattern.format(**ids)
            response = getattr(client, method)(url, json=body, headers=headers)
            assert response.status_code in refused, (who, method, url, response.status_code)
    # And nothing changed: the proposal is still open, the assignment still accepted.
    from grantpool.reviews.models import Decision, ReviewAssignment

    assert session.get(Decision, ids["d"]).state == "proposed"
    assert session.get(ReviewAssignment, ids["a"]).state == "accepted"


def test_the_applicant_of_the_application_cannot_decide_or_review(
    session: Session, client: FlaskClient, world: World, targets: dict
) -> None:
    ids = {k: v for k, v in targets.items() if k != "outsiders"}
    token = sign_in(client, world.applicants[0])
    for method, pattern in HTML[:17]:
        url = pattern.format(**ids)
        data = {"csrf_token": token} if method == "post" else None
        assert getattr(client, method)(url, data=data).status_code in {403, 404}, url
