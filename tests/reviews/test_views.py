"""Reviewers, fund managers and applicants through the pages and the API."""

from __future__ import annotations

import datetime as dt
import io

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.intake.services import submit_application
from grantpool.platform.mail import OutboxMessage
from grantpool.platform.money import Money
from grantpool.platform.storage import get_storage
from grantpool.reviews import services
from grantpool.reviews.commands import ConflictAnswer, ScoreSheet, SettingsChange
from grantpool.reviews.models import Decision, ReviewAssignment
from tests.calls.test_views import token_from
from tests.conftest import login
from tests.factories import PASSWORD, make_call, sample_questions
from tests.intake.test_api import bearer
from tests.reviews.conftest import NOW, World

FULL = {"score_need": "4", "score_community_led": "3", "score_feasible": "yes"}


def sign_in(client: FlaskClient, user) -> str:
    login(client, user.email, PASSWORD)
    return token_from(client, "/")


def accepted(session: Session, world: World, reviewer, application=None) -> ReviewAssignment:
    assignment = services.assign_reviewer(
        session, world.manager, application or world.applications[0], reviewer
    )
    services.declare_conflict(session, reviewer, assignment, ConflictAnswer(False))
    return assignment


def test_reviewer_declares_then_scores_side_by_side(
    session: Session, client: FlaskClient, world: World
) -> None:
    assignment = services.assign_reviewer(
        session,
        world.manager,
        world.applications[0],
        world.staff,
        due_at=NOW + dt.timedelta(days=7),
    )
    token = sign_in(client, world.staff)
    queue = client.get("/reviews").get_data(as_text=True)
    assert f"/reviews/{assignment.id}" in queue and "Declare conflicts first" in queue
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "Before you read this application" in page
    assert "We will plant trees" not in page  # nothing of the application before declaring
    refused = client.post(f"/reviews/{assignment.id}/declare", data={"csrf_token": token})
    assert refused.status_code == 422
    ok = client.post(
        f"/reviews/{assignment.id}/declare", data={"csrf_token": token, "has_conflict": "no"}
    )
    assert ok.status_code == 302
    page = client.get(f"/reviews/{assignment.id}")
    text = page.get_data(as_text=True)
    assert 'class="side-by-side"' in text and "We will plant trees" in text
    assert 'name="score_need"' in text and "<script" not in text
    assert 'name="viewport"' in text and len(page.data) < 60 * 1024
    draft = client.post(
        f"/reviews/{assignment.id}", data={"csrf_token": token, "score_need": "3", "save": "1"}
    )
    assert draft.status_code == 302
    assert "draft saved" in client.get("/reviews").get_data(as_text=True)
    missing = client.post(
        f"/reviews/{assignment.id}", data={"csrf_token": token, "score_need": "4", "submit": "1"}
    )
    assert missing.status_code == 422
    assert 'href="#score_feasible"' in missing.get_data(as_text=True)
    sent = client.post(
        f"/reviews/{assignment.id}",
        data={"csrf_token": token, **FULL, "recommendation": "fund", "submit": "1"},
    )
    assert sent.status_code == 302
    session.refresh(assignment)
    assert (
        assignment.state == "submitted" and assignment.review.score_bp == 9062
    )  # (3 + 2.25 + 2) / 8, half-even


def test_other_reviews_hidden_until_ones_own_is_sent(
    session: Session, client: FlaskClient, world: World
) -> None:
    first = accepted(session, world, world.staff2)
    services.save_review(
        session,
        world.staff2,
        first,
        ScoreSheet({k[6:]: v for k, v in FULL.items()}, "fund", "Distinctive comment", submit=True),
    )
    mine = accepted(session, world, world.staff)
    sign_in(client, world.staff)
    assert "Distinctive comment" not in client.get(f"/reviews/{mine.id}").get_data(as_text=True)
    services.save_review(
        session,
        world.staff,
        mine,
        ScoreSheet({k[6:]: v for k, v in FULL.items()}, "maybe", "", submit=True),
    )
    assert "Distinctive comment" in client.get(f"/reviews/{mine.id}").get_data(as_text=True)


def test_blind_review_leaks_nothing_identifying(
    session: Session, client: FlaskClient, world: World
) -> None:
    questions = [
        *sample_questions(),
        {
            "key": "budget_file",
            "kind": "file",
            "label": {"en": "Your budget"},
            "required": False,
        },
    ]
    call = make_call(
        session,
        world.fund,
        world.manager,
        open_until=NOW + dt.timedelta(days=5),
        questions=questions,
    )
    services.save_settings(session, world.manager, call, SettingsChange(blind=True))
    stored = get_storage().save(io.BytesIO(b"%PDF-1.4\n% budget\n"))
    organisation = world.organisations[0]
    application = submit_application(
        session,
        world.applicants[0],
        call,
        organisation,
        {
            "summary": "Riverside Women Farmers (RWF) will train 40 members; call +254 711 222 333",
            "has_partner": "no",
            "budget_file": {
                "key": stored.key,
                "size": stored.size,
                "content_type": stored.content_type,
                "name": "RWF-budget-2026.pdf",
            },
        },
        Money(200000, "USD"),
        "web",
        "en",
        NOW - dt.timedelta(hours=1),
    )
    assignment = accepted(session, world, world.staff, application)
    secrets = [
        organisation.name,
        "RWF",
        "rwf@example.org",
        "+254 711 222 333",
        "KE-REG-7788",
        "KE-NGB-998877",
        "RWF-budget-2026",
        "amina@example.org",
        application.reference,
    ]
    sign_in(client, world.staff)
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "will train 40 members" in page
    for secret in secrets:
        assert secret.lower() not in page.lower(), secret
    download = client.get(f"/reviews/{assignment.id}/attachments/1")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "RWF" not in download.headers["Content-Disposition"]
    download.close()
    body = client.get(f"/api/v1/reviews/{assignment.id}", headers=bearer(session, world.staff))
    assert body.status_code == 200
    raw = body.get_data(as_text=True)
    assert "will train 40 members" in raw
    for secret in secrets:
        assert secret.lower() not in raw.lower(), secret
    assert body.get_json()["organisation"] is None


def test_conflicted_reviewer_never_sees_it_again(
    session: Session, client: FlaskClient, world: World
) -> None:
    assignment = services.assign_reviewer(
        session, world.manager, world.applications[0], world.staff
    )
    token = sign_in(client, world.staff)
    missing_nature = client.post(
        f"/reviews/{assignment.id}/declare", data={"csrf_token": token, "has_conflict": "yes"}
    )
    assert missing_nature.status_code == 422
    client.post(
        f"/reviews/{assignment.id}/declare",
        data={"csrf_token": token, "has_conflict": "yes", "nature": "I advise them"},
    )
    assert client.get(f"/reviews/{assignment.id}").status_code == 404
    assert f"/reviews/{assignment.id}" not in client.get("/reviews").get_data(as_text=True)
    headers = bearer(session, world.staff)
    assert client.get(f"/api/v1/reviews/{assignment.id}", headers=headers).status_code == 404
    sign_in(client, world.manager)
    page = client.get(f"/manage/calls/{world.call.id}/reviews").get_data(as_text=True)
    assert "needs another reviewer" in page and "I advise them" in page


def test_api_review_flow(session: Session, client: FlaskClient, world: World) -> None:
    assignment = services.assign_reviewer(
        session, world.manager, world.applications[0], world.panel
    )
    headers = bearer(session, world.panel)
    # Its own assignment, but no conflict declared yet: not readable.
    assert client.get(f"/api/v1/reviews/{assignment.id}", headers=headers).status_code == 403
    declared = client.post(
        f"/api/v1/reviews/{assignment.id}/conflict", json={"has_conflict": False}, headers=headers
    )
    assert declared.status_code == 200 and declared.get_json()["state"] == "accepted"
    listed = client.get("/api/v1/reviews", headers=headers).get_json()
    assert [a["id"] for a in listed] == [assignment.id]
    sent = client.put(
        f"/api/v1/reviews/{assignment.id}",
        json={
            "scores": {"need": "4", "community_led": "4", "feasible": "no"},
            "recommendation": "maybe",
            "submit": True,
        },
        headers=headers,
    )
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["review"]["score_bp"] == 7500


def test_four_eyes_decision_and_applicant_feedback(
    session: Session, client: FlaskClient, world: World
) -> None:
    application = world.applications[1]  # in French
    services.assign_reviewer(session, world.manager, application, world.staff)
    token = sign_in(client, world.manager)
    page = client.get(f"/manage/applications/{application.id}/decision")
    assert page.status_code == 200 and "Propose a decision" in page.get_data(as_text=True)
    proposed = client.post(
        f"/manage/applications/{application.id}/decision",
        data={
            "csrf_token": token,
            "kind": "decline",
            "reason_keys": ["fit"],
            "feedback_text": "Parlez-nous de vos membres.",
        },
    )
    assert proposed.status_code == 302
    decision = session.scalar(select(Decision).where(Decision.application_id == application.id))
    assert (
        client.post(
            f"/manage/decisions/{decision.id}/confirm", data={"csrf_token": token}
        ).status_code
        == 403
    )
    token = sign_in(client, world.manager2)
    page = client.get(f"/manage/applications/{application.id}/decision").get_data(as_text=True)
    assert "Le projet ne correspond pas" in page and "Confirm this decision" in page
    assert (
        client.post(
            f"/manage/decisions/{decision.id}/confirm", data={"csrf_token": token}
        ).status_code
        == 302
    )
    mail = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert mail.locale == "fr" and "Parlez-nous de vos membres." in mail.body_text
    sign_in(client, world.applicants[1])
    mine = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Le projet ne correspond pas" in mine and "Parlez-nous de vos membres." in mine


def test_api_decisions_four_eyes_and_envelope(
    session: Session, client: FlaskClient, world: World
) -> None:
    application = world.applications[0]
    services.assign_reviewer(session, world.manager, application, world.staff)
    headers = bearer(session, world.manager)
    over = client.post(
        f"/api/v1/applications/{application.id}/decisions",
        json={"kind": "award", "amount_minor": 900000, "reason": "x"},
        headers=headers,
    )
    assert over.status_code == 422
    made = client.post(
        f"/api/v1/applications/{application.id}/decisions",
        json={"kind": "award", "amount_minor": 300000, "reason": "Strong"},
        headers=headers,
    )
    assert made.status_code == 201
    decision_id = made.get_json()["id"]
    same = client.post(f"/api/v1/decisions/{decision_id}/confirm", headers=headers)
    assert same.status_code == 403 and "different fund manager" in same.get_json()["message"]
    other = client.post(
        f"/api/v1/decisions/{decision_id}/confirm", headers=bearer(session, world.manager2)
    )
    assert other.status_code == 200 and other.get_json()["state"] == "confirmed"


def test_more_information_round_trip(session: Session, client: FlaskClient, world: World) -> None:
    application = world.applications[0]
    services.assign_reviewer(session, world.manager, application, world.staff)
    token = sign_in(client, world.manager)
    asked = client.post(
        f"/manage/applications/{application.id}/more-info",
        data={"csrf_token": token, "question": "Who keeps your accounts?"},
    )
    assert asked.status_code == 302
    token = sign_in(client, world.applicants[0])
    mine = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Who keeps your accounts?" in mine
    url = f"/applications/{application.id}/more-info"
    client.post(url, data={"csrf_token": token, "answer": "Our treasurer", "later": "1"})
    assert "Our treasurer" in client.get(url).get_data(as_text=True)  # the draft is kept
    assert (
        client.post(url, data={"csrf_token": token, "answer": "", "send": "1"}).status_code == 422
    )
    sent = client.post(url, data={"csrf_token": token, "answer": "Our treasurer", "send": "1"})
    assert sent.status_code == 302
    session.refresh(application)
    assert application.state == "in_review"


def test_ranking_page_and_exports(session: Session, client: FlaskClient, world: World) -> None:
    from openpyxl import load_workbook

    mine = accepted(session, world, world.staff)
    services.save_review(
        session,
        world.staff,
        mine,
        ScoreSheet({k[6:]: v for k, v in FULL.items()}, "fund", "", submit=True),
    )
    sign_in(client, world.manager)
    page = client.get(f"/manage/calls/{world.call.id}/ranking").get_data(as_text=True)
    assert page.index(world.applications[0].reference) < page.index(world.applications[1].reference)
    filtered = client.get(f"/manage/calls/{world.call.id}/ranking?country=UG").get_data(
        as_text=True
    )
    assert world.applications[0].reference not in filtered
    csv_text = client.get(f"/manage/calls/{world.call.id}/ranking.csv").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0].startswith("rank,reference,organisation") and len(lines) == 3
    assert "Riverside Women Farmers" in lines[1] and "90.62" in lines[1]
    xlsx = client.get(f"/manage/calls/{world.call.id}/ranking.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.cell(2, 2).value == world.applications[0].reference


def test_a_long_queue_shows_the_soonest_due_and_counts_every_one(
    session: Session, client: FlaskClient, world: World, monkeypatch
) -> None:
    from grantpool.reviews import queries

    monkeypatch.setattr(queries, "QUEUE_PAGE", 1)
    later, sooner = [
        services.assign_reviewer(session, world.manager, application, world.staff, due_at=when)
        for application, when in zip(
            world.applications,
            [NOW + dt.timedelta(days=9), NOW + dt.timedelta(days=3)],
            strict=True,
        )
    ]
    sign_in(client, world.staff)
    queue = client.get("/reviews").get_data(as_text=True)
    assert f'/reviews/{sooner.id}"' in queue and f'/reviews/{later.id}"' not in queue
    assert "0 of 2 reviews sent." in queue
    assert "The first 1, those due soonest" in queue
