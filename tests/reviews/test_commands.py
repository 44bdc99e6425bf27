"""Forms and API schemas parse requests into typed commands; the services take only those."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.platform.errors import ValidationFailed
from grantpool.reviews import queries, services
from grantpool.reviews.commands import (
    ConflictAnswer,
    DecisionProposal,
    DecisionRejection,
    ScoreSheet,
    SettingsChange,
)
from grantpool.reviews.forms import ProposeForm, SettingsForm
from grantpool.reviews.rules import DecisionKind
from grantpool.reviews.schemas import (
    ConflictInSchema,
    DecisionInSchema,
    RejectInSchema,
    ReviewInSchema,
)
from tests.intake.test_api import bearer
from tests.reviews.conftest import World
from tests.reviews.test_views import accepted, sign_in

SETTINGS_FORM = {
    "criteria": "need | Need | 2 | 0-4\nfeasible | Feasible | 1 | yes-partly-no | Can they?",
    "staff_weight": "2",
    "panel_weight": "1",
    "blind": "y",
    "spread_threshold": "25,5",
    "decline_reasons": "budget | en | Over budget\nbudget | fr | Budget dépassé",
    "due_at": "2026-03-31",
}


def test_no_public_review_service_takes_a_mapping() -> None:
    for name in services.__all__:
        function = getattr(services, name)
        if not inspect.isfunction(function):
            continue
        for parameter in inspect.signature(function).parameters.values():
            annotation = str(parameter.annotation)
            assert "dict[" not in annotation and "Mapping[" not in annotation, (
                name,
                parameter.name,
            )


def test_api_schemas_load_commands() -> None:
    assert DecisionInSchema().load(
        {"kind": "decline", "reason_keys": ["budget"], "feedback_text": "Next year"}
    ) == DecisionProposal(DecisionKind.DECLINE, reason_keys=("budget",), feedback_text="Next year")
    assert DecisionInSchema().load(
        {"kind": "award", "amount_minor": 250000, "reason": "Strong"}
    ) == DecisionProposal(DecisionKind.AWARD, 250000, reason="Strong")
    assert ReviewInSchema().load(
        {"scores": {"need": "4"}, "recommendation": "fund", "submit": True}
    ) == ScoreSheet({"need": "4"}, "fund", "", submit=True)
    assert ConflictInSchema().load({"has_conflict": True, "nature": "Cousin"}) == ConflictAnswer(
        True, "Cousin"
    )
    assert RejectInSchema().load({"note": "Review it first"}) == DecisionRejection(
        "Review it first"
    )


def test_settings_form_parses_into_a_change(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data=SETTINGS_FORM):
        change = SettingsForm().change("Africa/Nairobi")
    assert change.staff_weight == 2 and change.panel_weight == 1
    assert change.blind is True and change.hide_other_reviews is False
    assert change.spread_threshold == 2550
    # The end of the day in Nairobi (UTC+3).
    assert change.due_at == dt.datetime(2026, 3, 31, 20, 59, tzinfo=dt.UTC)
    assert [c["key"] for c in change.criteria or ()] == ["need", "feasible"]
    assert change.decline_reasons == (
        {"key": "budget", "text": {"en": "Over budget", "fr": "Budget dépassé"}},
    )


def test_settings_form_reports_every_unreadable_field_at_once(app: Flask) -> None:
    typed = {
        **SETTINGS_FORM,
        "staff_weight": "two",
        "spread_threshold": "inf",
        "decline_reasons": "budget | Over budget",
        "due_at": "31/03/2026",
    }
    with (
        app.test_request_context("/", method="POST", data=typed),
        pytest.raises(ValidationFailed) as failure,
    ):
        SettingsForm().change("Africa/Nairobi")
    assert set(failure.value.errors) == {
        "staff_weight",
        "spread_threshold",
        "decline_reasons",
        "due_at",
    }


def test_propose_form_reads_the_amount_in_the_locale(app: Flask) -> None:
    data = {"kind": "award", "amount": "2 500,50", "reason": "Strong"}
    with app.test_request_context("/", method="POST", data=data):
        proposal = ProposeForm().proposal("USD", "fr", ["ignored"])
    assert proposal == DecisionProposal(
        DecisionKind.AWARD, 250050, reason="Strong", reason_keys=("ignored",)
    )
    with (
        app.test_request_context("/", method="POST", data={"kind": "maybe"}),
        pytest.raises(ValidationFailed) as failure,
    ):
        ProposeForm().proposal("USD", "en", [])
    assert set(failure.value.errors) == {"kind"}


def test_settings_page_saves_and_explains_what_it_cannot_read(
    session: Session, client: FlaskClient, world: World
) -> None:
    token = sign_in(client, world.manager)
    url = f"/manage/calls/{world.call.id}/reviews/settings"
    refused = client.post(
        url, data={"csrf_token": token, **SETTINGS_FORM, "spread_threshold": "inf"}
    )
    assert refused.status_code == 422
    assert "disagreement threshold" in refused.get_data(as_text=True)
    assert queries.settings_of(session, world.call).staff_weight == 1
    saved = client.post(url, data={"csrf_token": token, **SETTINGS_FORM})
    assert saved.status_code == 302
    settings = queries.settings_of(session, world.call)
    assert (settings.staff_weight, settings.panel_weight, settings.blind) == (2, 1, True)
    assert settings.spread_threshold == 2550 and settings.due_at is not None
    # A change that names only the weights leaves the rest as saved.
    services.save_settings(
        session, world.manager, world.call, SettingsChange(staff_weight=1, panel_weight=1)
    )
    assert settings.blind and settings.due_at is not None and settings.spread_threshold == 2550


def test_api_shows_other_reviews_once_ones_own_is_sent(
    session: Session, client: FlaskClient, world: World
) -> None:
    first = accepted(session, world, world.staff)
    services.save_review(
        session,
        world.staff,
        first,
        ScoreSheet(
            {"need": "4", "community_led": "4", "feasible": "yes"}, "fund", "Solid", submit=True
        ),
    )
    mine = accepted(session, world, world.staff2)
    headers = bearer(session, world.staff2)
    assert (
        client.get(f"/api/v1/reviews/{mine.id}", headers=headers).get_json()["other_reviews"] == []
    )
    sent = client.put(
        f"/api/v1/reviews/{mine.id}",
        json={
            "scores": {"need": "2", "community_led": "2", "feasible": "partly"},
            "recommendation": "maybe",
            "submit": True,
        },
        headers=headers,
    )
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["other_reviews"] == [
        {"kind": "staff", "score_bp": 10000, "recommendation": "fund", "comment": "Solid"}
    ]
