"""Attribution rules without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from grantpool.attribution import rules
from grantpool.attribution.rules import Contributed
from grantpool.organisations.rules import Leadership
from grantpool.platform.errors import InvalidTransition

TODAY = dt.date(2026, 11, 22)


def expose(**kw: Any) -> rules.Exposure:
    args: dict[str, Any] = {
        "naming": "own_name",
        "precision": "area",
        "consent_state": "given",
        "consent_scope": "named",
        "embargo_until": None,
        "safety_flag": False,
        "today": TODAY,
    }
    args.update(kw)
    return rules.exposure(**args)


def test_the_most_protective_choice_wins() -> None:
    assert expose() == rules.Exposure(True, True, rules.LocationPrecision.AREA)
    assert not expose(consent_scope="anonymised").named
    assert not expose(naming="anonymised").named
    assert not expose(naming="not_published").published
    assert not expose(consent_state="not_given").published
    assert not expose(consent_state="withdrawn").published
    assert not expose(safety_flag=True).published
    assert not expose(embargo_until=TODAY + dt.timedelta(days=1)).published
    assert expose(embargo_until=TODAY).published


def test_consent_moves(app: Any) -> None:
    rules.check_consent_transition("not_given", "given")
    rules.check_consent_transition("given", "withdrawn")
    rules.check_consent_transition("withdrawn", "given")
    with pytest.raises(InvalidTransition):
        rules.check_consent_transition("not_given", "withdrawn")


def test_anonymised_description_uses_type_leadership_and_precision(app: Any) -> None:
    text = rules.anonymised_description(
        "community_based", [Leadership.WOMEN], "KE", "KE-30", "area"
    )
    assert text.startswith("a women-led community organisation in ")
    assert text.endswith(", Kenya")
    assert rules.anonymised_description("local_ngo", [], "KE", "KE-30", "country") == (
        "a local organisation in Kenya"
    )
    assert rules.anonymised_description("local_ngo", [], "KE", "KE-30", "hidden") == (
        "a local organisation"
    )


def test_anonymised_description_follows_french_word_order(app: Any) -> None:
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr"):
        text = rules.anonymised_description(
            "community_based", [Leadership.WOMEN], "KE", "KE-30", "hidden"
        )
    # The kind of organisation comes first, the leadership after it.
    assert text.startswith("une organisation communautaire dirigée par des femmes"), text


def test_earmarked_money_is_drawn_first_then_pro_rata() -> None:
    money = [
        Contributed(1, 5_000, "water", None),
        Contributed(2, 30_000),
        Contributed(3, 10_000),
        Contributed(4, 99_000, None, "UG"),
    ]
    assert rules.donor_shares(4_000, "Water", "KE", money) == {1: 4_000}
    assert rules.donor_shares(9_000, "water", "KE", money) == {1: 5_000, 2: 3_000, 3: 1_000}
    assert rules.donor_shares(1_000, None, "UG", money) == {4: 1_000}
    shares = rules.donor_shares(1_001, None, "KE", money)
    assert sum(shares.values()) == 1_001 and set(shares) == {2, 3}
