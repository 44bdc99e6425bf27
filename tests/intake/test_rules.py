from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import Babel

from grantpool.intake import rules
from grantpool.platform.errors import InvalidTransition


@pytest.fixture(autouse=True)
def _app_context() -> object:
    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield


def test_reference_is_short_and_padded() -> None:
    assert rules.format_reference(2026, 42) == "GP-2026-00042"
    assert rules.is_reference("GP-2026-00042")
    assert not rules.is_reference("GP-26-42")


def test_withdraw_only_before_a_decision() -> None:
    for state in ("draft", "submitted", "in_review"):
        assert rules.can_withdraw(state)
    for state in ("awarded", "declined", "withdrawn", "more_info_requested"):
        assert not rules.can_withdraw(state)
    with pytest.raises(InvalidTransition):
        rules.check_application_transition("awarded", "withdrawn")
    rules.check_application_transition("in_review", "more_info_requested")
    rules.check_application_transition("more_info_requested", "in_review")


def test_answers_read_as_text_for_the_receipt() -> None:
    from grantpool.intake.receipt import answer_as_text

    assert answer_as_text({"kind": "money"}, 125050, "USD", "en") == "$1,250.50"
    assert answer_as_text({"kind": "yes_no"}, "yes", "USD", "en") == "Yes"
    assert answer_as_text({"kind": "location"}, {"country": "KE", "area": None}, "USD", "en") == (
        "Kenya"
    )
    assert (
        answer_as_text(
            {"kind": "budget_table"}, [{"line": "Seeds", "amount_minor": 30000}], "USD", "en"
        )
        == "Seeds: $300.00"
    )
