"""A call and its questions read from what was typed into typed commands; the services
check only what the domain decides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from grantpool.calls import rules
from grantpool.calls import services as calls
from grantpool.calls.commands import (
    CallDetails,
    Eligibility,
    QuestionSpec,
    call_details,
    question_spec,
    read_questions,
)
from grantpool.calls.rules import QuestionKind
from grantpool.platform.errors import ValidationFailed
from tests.factories import make_fund, make_user, sample_questions


@pytest.fixture
def _app_context() -> Iterator[None]:
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield


pure = pytest.mark.usefixtures("_app_context")


def typed(**fields: object) -> CallDetails:
    given: dict[str, object] = {
        "title": {"en": "Water"},
        "budget": "10000",
        "min_request": "100",
        "max_request": "1000",
    }
    given.update(fields)
    return call_details(fund_currency="USD", timezone="Africa/Nairobi", **given)  # type: ignore[arg-type]


@pure
def test_a_call_is_read_in_its_funds_currency_and_time_zone() -> None:
    details = typed(
        title={"fr": " Eau ", "en": ""},
        budget="10 000,50",
        min_request="100",
        max_request="1 000",
        opens_at="2026-12-01T08:00",
        closes_at="2026-12-31T17:00",
        eligibility={"countries": ["ke"], "registered_only": True},
        locale="fr",
    )
    assert details.title == {"fr": "Eau"}
    assert details.currency == "USD" and details.exchange_rate is None
    assert (details.budget_minor, details.min_request_minor, details.max_request_minor) == (
        1_000_050,
        10_000,
        100_000,
    )
    assert details.closes_at == dt.datetime(2026, 12, 31, 14, 0, tzinfo=dt.UTC)  # UTC+3
    assert details.opens_at is not None and details.opens_at.tzinfo is dt.UTC
    assert details.eligibility == Eligibility(countries=("KE",), registered_only=True)
    assert details.channels == ("web",)


@pure
def test_a_call_in_another_currency_carries_its_rate_as_a_decimal() -> None:
    details = typed(
        currency="xof",
        exchange_rate="0,0017",
        budget="30000000",
        min_request="500000",
        max_request="3000000",
        closes_at=dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert details.currency == "XOF" and details.exchange_rate == Decimal("0.0017")
    assert details.budget_minor == 30_000_000  # the franc has no minor unit
    assert details.closes_at == dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)


@pure
def test_every_field_that_cannot_be_read_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as info:
        typed(
            title={},
            currency="XOF",
            budget="lots",
            opens_at="soon",
            channels=["web", "fax"],
            eligibility={"countries": ["Kenya"]},
        )
    assert info.value.errors == {
        "title": ["Give the call a title in at least one language."],
        "exchange_rate": [
            "State the rate: how many USD one XOF is worth, such as 0.0017.",
        ],
        "budget": ["Enter the total budget of the call, such as 50000."],
        "opens_at": ["Enter a date and time such as 2026-12-31 17:00."],
        "channels": ["Choose intake channels from the list."],
        "countries": ["Use two-letter country codes such as KE or UG."],
    }


@pure
def test_requests_must_fit_the_budget_and_the_call_close_after_it_opens() -> None:
    with pytest.raises(ValidationFailed) as info:
        typed(
            max_request="20000",
            opens_at="2026-12-31T17:00",
            closes_at="2026-12-01T17:00",
        )
    assert info.value.errors == {
        "max_request": ["The largest request must not be above the budget."],
        "closes_at": ["The call must close after it opens."],
    }


@pure
def test_a_question_is_read_with_every_unreadable_field_named() -> None:
    with pytest.raises(ValidationFailed) as info:
        question_spec(key="q", kind="essay", word_limit="many", max_bytes="big")
    assert set(info.value.errors) == {"kind", "word_limit", "max_bytes"}
    spec = question_spec(
        key=" people ",
        kind="long_text",
        label={"en": "Why?", "fr": ""},
        word_limit="250",
        show_if={"has_partner": "yes"},
    )
    assert spec == QuestionSpec(
        key="people",
        kind=QuestionKind.LONG_TEXT,
        label={"en": "Why?"},
        word_limit=250,
        show_if="has_partner",
    )


@pure
def test_a_stored_question_reads_back_to_the_same_definition() -> None:
    stored = rules.clean_questions(sample_questions(), ["en", "fr"])
    again = rules.clean_questions([q.definition() for q in read_questions(stored)], ["en", "fr"])
    assert again == stored


@pure
def test_a_list_of_questions_names_the_place_of_a_bad_one() -> None:
    with pytest.raises(ValidationFailed) as info:
        read_questions([{"key": "a", "kind": "number"}, {"key": "b", "kind": "essay"}])
    assert info.value.errors == {"kind": ["Question 2: Choose the kind of question."]}


def test_the_service_refuses_a_call_in_another_currency_without_a_rate(
    session: Session,
) -> None:
    manager = make_user(session, "fund_manager")
    fund = make_fund(session, manager, base_currency="USD")
    details = CallDetails(
        title={"en": "Sahel"},
        currency="XOF",
        budget_minor=30_000_000,
        min_request_minor=500_000,
        max_request_minor=3_000_000,
    )
    with pytest.raises(ValidationFailed) as info:
        calls.create_call(session, manager, fund, details)
    assert set(info.value.errors) == {"exchange_rate"}
    # In the fund's own currency a rate means nothing and is not kept.
    same = calls.create_call(
        session,
        manager,
        fund,
        CallDetails(
            title={"en": "Here"},
            currency="USD",
            exchange_rate=Decimal("2"),
            budget_minor=5_000_000,
            min_request_minor=100_000,
            max_request_minor=500_000,
        ),
    )
    assert same.exchange_rate is None and same.eligibility["countries"] == []
