"""The pure rules of a call: no database."""

from __future__ import annotations

import pytest
from flask import Flask

from grantpool.calls import rules
from grantpool.platform.errors import InvalidTransition, ValidationFailed
from grantpool.platform.money import Money


@pytest.fixture(autouse=True)
def _app_context() -> object:
    # gettext needs an app context; no database is touched.
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield


def q(key: str, kind: str, **extra: object) -> dict[str, object]:
    return {"key": key, "kind": kind, "label": {"en": key}, **extra}


def test_call_transitions_follow_the_table() -> None:
    rules.check_call_transition("draft", "open")
    rules.check_call_transition("open", "closed")
    rules.check_call_transition("closed", "archived")
    with pytest.raises(InvalidTransition):
        rules.check_call_transition("closed", "open")
    with pytest.raises(InvalidTransition):
        rules.check_call_transition("archived", "draft")


def test_a_question_needs_a_key_kind_and_label() -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.clean_questions([{"key": "Bad Key", "kind": "essay", "label": {}}])
    assert set(info.value.errors) == {"key", "kind", "label"}


def test_choices_need_two_options_and_show_if_an_earlier_yes_no() -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.clean_questions([q("colour", "single_choice", choices=["red"])])
    assert "choices" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        rules.clean_questions(
            [q("a", "short_text", show_if={"later": "yes"}), q("later", "yes_no")]
        )
    assert "show_if" in info.value.errors
    cleaned = rules.clean_questions([q("p", "yes_no"), q("a", "short_text", show_if={"p": "yes"})])
    assert cleaned[1]["show_if"] == {"p": "yes"}


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        rules.clean_questions([q("a", "short_text"), q("a", "number")])


def test_answers_are_checked_by_kind() -> None:
    questions = rules.clean_questions(
        [
            q("words", "long_text", word_limit=3, required=True),
            q("count", "number"),
            q("cost", "money"),
            q("one", "single_choice", choices=["x", "y"]),
            q("many", "multiple_choice", choices=["x", "y", "z"]),
            q("when", "date"),
            q("where", "location"),
            q("budget", "budget_table"),
            q("ok", "yes_no"),
        ]
    )
    good, errors = rules.validate_answers(
        questions,
        {
            "words": "three short words",
            "count": "12",
            "cost": "1,250.50",
            "one": "y",
            "many": ["z", "x"],
            "when": "2026-12-01",
            "where": {"country": "ke", "area": "KE-47"},
            "budget": "Seeds | 300\nTools | 1,200.00",
            "ok": "yes",
        },
        currency="USD",
        locale="en",
    )
    assert errors == {}
    assert good["cost"] == 125050
    assert good["many"] == ["x", "z"]
    assert good["where"] == {"country": "KE", "area": "KE-47"}
    assert good["budget"] == [
        {"line": "Seeds", "amount_minor": 30000},
        {"line": "Tools", "amount_minor": 120000},
    ]
    _, errors = rules.validate_answers(
        questions,
        {
            "words": "one two three four",
            "count": "many",
            "cost": "12.345",
            "one": "w",
            "many": ["q"],
            "when": "31/12/2026",
            "where": {"country": "XX"},
            "budget": "no separator",
            "ok": "maybe",
        },
        currency="USD",
        locale="en",
    )
    assert set(errors) == {"words", "count", "cost", "one", "many", "when", "where", "budget", "ok"}
    assert "at most 3 words" in errors["words"]


def test_required_and_hidden_questions() -> None:
    questions = rules.clean_questions(
        [
            q("partner", "yes_no", required=True),
            q("partner_name", "short_text", required=True, show_if={"partner": "yes"}),
        ]
    )
    _, errors = rules.validate_answers(questions, {}, currency="USD", locale="en")
    assert set(errors) == {"partner"}
    good, errors = rules.validate_answers(
        questions, {"partner": "no", "partner_name": "ignored"}, currency="USD", locale="en"
    )
    assert errors == {} and "partner_name" not in good
    _, errors = rules.validate_answers(questions, {"partner": "yes"}, currency="USD", locale="en")
    assert set(errors) == {"partner_name"}


def test_the_capacity_question_is_always_asked_and_optional() -> None:
    pages = rules.sections([q("a", "short_text")])
    assert pages[-1][0]["key"] == "capacity_strengthening"
    good, errors = rules.validate_answers(
        [], {"capacity_strengthening": "Bookkeeping training"}, currency="USD", locale="en"
    )
    assert errors == {} and good["capacity_strengthening"] == "Bookkeeping training"


def test_sections_group_consecutive_questions() -> None:
    pages = rules.sections(
        [q("a", "short_text", section="About"), q("b", "number", section="About"), q("c", "date")]
    )
    assert [[x["key"] for x in page] for page in pages] == [
        ["a", "b"],
        ["c"],
        ["capacity_strengthening"],
    ]


def test_orphaning_changes_are_named_and_optional_additions_allowed() -> None:
    old = rules.clean_questions([q("a", "single_choice", choices=["x", "y"]), q("b", "number")])
    allowed = rules.clean_questions(
        [
            q("b", "number"),
            q("a", "single_choice", choices=["x", "y", "z"], label={"en": "Reworded"}),
            q("c", "short_text"),
        ]
    )
    assert rules.orphaning_changes(old, allowed) == []
    refused = rules.clean_questions(
        [q("a", "single_choice", choices=["x", "z"]), q("c", "short_text", required=True)]
    )
    problems = rules.orphaning_changes(old, refused)
    assert len(problems) == 3  # b removed, choice y removed, required c added
    assert any("“b”" in p and "cannot be removed" in p for p in problems)


def test_eligibility_reasons_are_plain_words() -> None:
    eligibility = rules.clean_eligibility(
        {"org_types": ["community_based"], "countries": ["KE", "UG"], "registered_only": True}
    )
    assert (
        rules.eligibility_reasons(
            eligibility, org_type="community_based", country="KE", area=None, registered=True
        )
        == []
    )
    reasons = rules.eligibility_reasons(
        eligibility, org_type="international_ngo", country="FR", area=None, registered=False
    )
    assert len(reasons) == 3
    assert "community-based organisation" in reasons[0]
    assert "Kenya, Uganda" in reasons[1]
    assert "registered" in reasons[2]


def test_bounds_message_shows_the_amounts() -> None:
    message = rules.bounds_message(Money(100000, "USD"), Money(500000, "USD"), "en")
    assert message == "Ask for between $1,000.00 and $5,000.00."
