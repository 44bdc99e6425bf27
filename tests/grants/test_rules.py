"""Condition evaluation, templates and schedules: pure rules, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grantpool.grants import rules
from grantpool.grants.commands import (
    AmendmentRequest,
    SpentLine,
    TrancheSpec,
    parse_exchange_rate,
    payment_details,
    report_details,
)
from grantpool.grants.rules import Facts
from grantpool.platform.errors import InvalidTransition, ValidationFailed
from grantpool.platform.money import Money

MARCH_12 = dt.date(2026, 3, 12)


def tree(*leaves: dict, op: str = "all") -> dict:
    return rules.normalise_conditions({op: list(leaves)}, tranche_number=2)


def test_waiting_for_a_report_while_the_date_has_passed_is_explained_to_both_sides() -> None:
    conditions = tree(
        {"type": "report_accepted", "kind": "financial", "tranche": 1},
        {"type": "date_reached", "date": "2026-03-12"},
    )
    result = rules.evaluate(conditions, Facts(today=dt.date(2026, 3, 20)))
    assert not result.met
    assert result.summary == (
        "Waiting for: financial report for tranche 1 accepted; 12 March 2026 reached ✓"
    )


def test_all_conditions_met_since_the_latest_of_them() -> None:
    conditions = tree(
        {"type": "report_accepted", "kind": "financial", "tranche": 1},
        {"type": "date_reached", "date": "2026-03-12"},
    )
    facts = Facts(
        today=dt.date(2026, 4, 1), accepted_reports={("financial", 1): dt.date(2026, 3, 25)}
    )
    result = rules.evaluate(conditions, facts)
    assert result.met and result.since == dt.date(2026, 3, 25)
    assert result.summary.startswith("Conditions met")


def test_any_is_met_by_its_earliest_true_branch() -> None:
    conditions = tree(
        {"type": "milestone_verified", "label": "Water committee formed"},
        {"type": "manual_approval"},
        op="any",
    )
    assert not rules.evaluate(conditions, Facts(today=MARCH_12)).met
    facts = Facts(today=MARCH_12, manual_approval_on=dt.date(2026, 3, 1))
    result = rules.evaluate(conditions, facts)
    assert result.met and result.since == dt.date(2026, 3, 1)


def test_a_waived_condition_counts_as_held_and_says_so() -> None:
    conditions = tree({"type": "document_provided", "kind": "bank letter"})
    leaf_id = conditions["all"][0]["id"]
    result = rules.evaluate(
        conditions, Facts(today=MARCH_12, waivers={leaf_id: dt.date(2026, 3, 10)})
    )
    assert result.met
    assert result.leaves[0].waived and not result.leaves[0].met
    assert "(waived)" in result.summary


def test_previous_spent_uses_the_financial_report_share() -> None:
    conditions = tree({"type": "previous_spent_at_least", "percent": 70})
    assert not rules.evaluate(
        conditions, Facts(today=MARCH_12, previous_spent_percent=Decimal("69.99"))
    ).met
    assert rules.evaluate(
        conditions, Facts(today=MARCH_12, previous_spent_percent=Decimal("70.00"))
    ).met


def test_no_conditions_are_met_at_once() -> None:
    result = rules.evaluate(tree(), Facts(today=MARCH_12))
    assert result.met and result.since is None


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "date_reached"},
        {"all": [{"type": "date_reached", "date": "12/03/2026"}]},
        {"all": [{"type": "report_accepted", "kind": "budget", "tranche": 1}]},
        {"all": [{"type": "report_accepted", "kind": "financial", "tranche": 0}]},
        {"all": [{"type": "previous_spent_at_least", "percent": 120}]},
        {"all": [{"type": "milestone_verified", "label": " "}]},
        {"all": [{"type": "teleport"}]},
        {"any": []},
        {"all": [{"all": [{"all": [{"all": [{"all": []}]}]}]}]},
    ],
)
def test_invalid_condition_trees_are_refused_in_words(bad: dict) -> None:
    with pytest.raises(ValidationFailed) as refused:
        rules.normalise_conditions(bad, tranche_number=2)
    assert refused.value.errors["conditions"]


def test_leaves_get_unique_ids_that_survive_normalising_again() -> None:
    once = tree({"type": "manual_approval"}, {"type": "manual_approval", "id": "c1"})
    ids = [leaf["id"] for leaf in rules.iter_leaves(once)]
    assert len(set(ids)) == 2
    assert rules.normalise_conditions(once) == once


leaf_strategy = st.one_of(
    st.builds(
        lambda d: {"type": "date_reached", "date": d.isoformat()},
        st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    ),
    st.builds(
        lambda k, n: {"type": "report_accepted", "kind": k, "tranche": n},
        st.sampled_from(["narrative", "financial"]),
        st.integers(1, 3),
    ),
    st.builds(lambda p: {"type": "previous_spent_at_least", "percent": p}, st.integers(1, 100)),
    st.just({"type": "manual_approval"}),
)
tree_strategy = st.recursive(
    leaf_strategy,
    lambda children: st.builds(
        lambda op, kids: {op: kids},
        st.sampled_from(["all", "any"]),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=8,
).map(lambda node: node if "all" in node or "any" in node else {"all": [node]})
facts_strategy = st.builds(
    Facts,
    today=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    accepted_reports=st.dictionaries(
        st.tuples(st.sampled_from(["narrative", "financial"]), st.integers(1, 3)),
        st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
        max_size=4,
    ),
    previous_spent_percent=st.one_of(
        st.none(), st.decimals(0, 100, places=2, allow_nan=False, allow_infinity=False)
    ),
    manual_approval_on=st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2027, 1, 1))),
)


@given(tree_strategy, facts_strategy)
def test_evaluation_agrees_with_its_leaves_and_waiving_everything_meets_it(
    raw: dict, facts: Facts
) -> None:
    try:
        conditions = rules.normalise_conditions(raw, tranche_number=2)
    except ValidationFailed:
        assume(False)  # nested deeper than allowed: refused, tested above
    result = rules.evaluate(conditions, facts)
    # Met exactly when every leaf is met, for a tree with only "all" groups.
    if "any" not in repr(conditions):
        assert result.met == all(leaf.met for leaf in result.leaves)
    # A met tree says since when; the explanation lists what is missing otherwise.
    if not result.met:
        assert result.summary.startswith("Waiting for:")
    # Adding facts never makes a met tree unmet (monotone).
    more = Facts(
        today=facts.today + dt.timedelta(days=400),
        accepted_reports=facts.accepted_reports,
        previous_spent_percent=facts.previous_spent_percent,
        manual_approval_on=facts.manual_approval_on,
    )
    if result.met:
        assert rules.evaluate(conditions, more).met
    # Waiving every leaf meets any tree.
    waived = Facts(
        today=facts.today, waivers=dict.fromkeys(rules.leaf_ids(conditions), facts.today)
    )
    assert rules.evaluate(conditions, waived).met


@given(st.integers(100, 10**12), st.sampled_from(["low", "medium", "high"]))
def test_a_schedule_from_any_template_adds_up_exactly(amount: int, risk: str) -> None:
    template = rules.DEFAULT_TEMPLATES[rules.RiskLevel(risk)]
    plan = rules.plan_schedule(template, Money(amount, "USD"), dt.date(2026, 1, 1))
    rules.check_schedule_adds_up([p.amount for p in plan], Money(amount, "USD"))
    assert [p.number for p in plan] == list(range(1, len(plan) + 1))


def test_templates_by_risk_level() -> None:
    start = dt.date(2026, 1, 1)
    low = rules.plan_schedule(rules.DEFAULT_TEMPLATES["low"], Money(1000001, "USD"), start)
    assert [p.amount.amount_minor for p in low] == [600001, 400000]
    assert (
        len(rules.plan_schedule(rules.DEFAULT_TEMPLATES["medium"], Money(999, "USD"), start)) == 3
    )
    high = rules.plan_schedule(rules.DEFAULT_TEMPLATES["high"], Money(1000, "USD"), start)
    assert len(high) == 4
    assert "financial report for tranche 1" in rules.describe_conditions(high[1].conditions)
    assert high[1].conditions["all"][0]["date"] == "2026-04-01"


def test_a_template_must_add_up_to_one_hundred_percent() -> None:
    with pytest.raises(ValidationFailed):
        rules.validate_template([{"percent": 50}, {"percent": 40}])
    assert rules.validate_template([{"percent": 50}, {"percent": 50, "offset_days": 30}])


def test_transition_tables_refuse_illegal_moves() -> None:
    rules.check_tranche_transition("scheduled", "release_requested")
    with pytest.raises(InvalidTransition):
        rules.check_tranche_transition("scheduled", "paid")
    with pytest.raises(InvalidTransition):
        rules.check_grant_transition("closed", "active")
    rules.check_report_transition("returned", "submitted")
    with pytest.raises(InvalidTransition):
        rules.check_report_transition("accepted", "returned")


def test_timeliness_in_days() -> None:
    assert rules.days_between(dt.date(2026, 1, 5), dt.date(2026, 2, 4)) == 30
    assert rules.days_between(None, dt.date(2026, 2, 4)) is None


# --- a grant tranche's conditions as plain fields (the amendment form) ---------------------

DUE = dt.date(2026, 9, 1)


def test_a_tranches_common_conditions_read_as_one_row_and_back() -> None:
    tree = rules.normalise_conditions(
        {
            "all": [
                {"type": "date_reached", "date": DUE.isoformat()},
                {"type": "report_accepted", "kind": "narrative", "tranche": 1},
                {"type": "previous_spent_at_least", "percent": 70},
                {"type": "milestone_verified", "label": "Water committee formed"},
            ]
        },
        tranche_number=2,
    )
    row = rules.tranche_row(tree, DUE)
    assert row == {
        "wait_until_due": True,
        "narrative_report": 1,
        "financial_report": None,
        "spent_percent": 70,
        "milestone": "Water committee formed",
        "document": "",
        "manual": False,
    }
    assert rules.conditions_from_row(row, 1, 2, DUE, tree) == tree  # ids kept too


def test_changing_a_row_keeps_the_ids_of_conditions_left_as_they_were() -> None:
    tree = rules.normalise_conditions(
        {
            "all": [
                {"id": "m", "type": "milestone_verified", "label": "Committee formed"},
                {"id": "r", "type": "report_accepted", "kind": "narrative", "tranche": 1},
                {"id": "d", "type": "date_reached", "date": DUE.isoformat()},
            ]
        },
        tranche_number=2,
    )
    later = DUE + dt.timedelta(days=30)
    row = {
        "wait_until_due": True,
        "narrative_report": "1",
        "milestone": "Pump installed",
        "manual": True,
    }
    new = rules.conditions_from_row(row, 1, 2, later, tree)
    by_type = {leaf["type"]: leaf for leaf in new["all"]}
    assert by_type["report_accepted"]["id"] == "r"  # unchanged: a waiver still names it
    assert by_type["milestone_verified"]["id"] != "m"  # another milestone
    assert by_type["date_reached"] == {
        "id": by_type["date_reached"]["id"],
        "type": "date_reached",
        "date": later.isoformat(),
    }
    assert by_type["date_reached"]["id"] != "d"  # another date
    assert "manual_approval" in by_type
    assert len(rules.leaf_ids(new)) == 4


@pytest.mark.parametrize(
    "tree",
    [
        {"any": [{"type": "manual_approval"}]},
        {"all": [{"any": [{"type": "manual_approval"}]}]},
        {"all": [{"type": "manual_approval"}, {"type": "manual_approval"}]},
        {"all": [{"type": "date_reached", "date": "2026-01-01"}]},  # not the due date
    ],
)
def test_conditions_a_row_cannot_hold_need_the_data_editor(tree: dict) -> None:
    assert rules.tranche_row(tree, DUE) is None


def test_a_rows_bad_number_names_its_tranche() -> None:
    with pytest.raises(ValidationFailed) as failure:
        rules.conditions_from_row({"spent_percent": "most"}, 1, 2, DUE, None)
    assert failure.value.errors == {
        "tranches-1-spent_percent": ["Tranche 2: give the share spent as a whole percentage."]
    }
    with pytest.raises(ValidationFailed):
        rules.conditions_from_row({"spent_percent": "70"}, 0, 1, DUE, None)  # no previous


# --- amendments -----------------------------------------------------------------------------


def usd(minor: int) -> Money:
    return Money(minor, "USD")


START = dt.date(2026, 1, 5)
NO_CONDITIONS = {"all": []}


def terms(*states: str, amounts: tuple[int, ...] = (600_000, 400_000)) -> rules.GrantTerms:
    """A 10,000.00 USD grant of two tranches (by default), in the given tranche states."""
    states = states or ("scheduled",) * len(amounts)
    return rules.GrantTerms(
        state="active",
        amount=usd(sum(amounts)),
        start_on=START,
        end_on=dt.date(2026, 12, 31),
        tranches=tuple(
            rules.CurrentTranche(
                n, usd(amount), START + dt.timedelta(days=180 * (n - 1)), NO_CONDITIONS, state
            )
            for n, (amount, state) in enumerate(zip(amounts, states, strict=True), start=1)
        ),
    )


def spec(number: int, minor: int, due_on: dt.date = START, conditions: dict | None = None) -> Any:
    return TrancheSpec(number, usd(minor), due_on, conditions or NO_CONDITIONS)


def refusal(current: rules.GrantTerms, request: AmendmentRequest) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as refused:
        rules.plan_amendment(current, request)
    return refused.value.errors


def test_a_larger_amount_goes_to_the_last_scheduled_tranche() -> None:
    plan = rules.plan_amendment(
        terms("paid", "scheduled"), AmendmentRequest("More families", amount=usd(1_200_000))
    )
    assert [t.amount for t in plan.tranches] == [usd(600_000), usd(600_000)]
    assert plan.difference_minor == 200_000 and plan.released == {1}
    assert plan.cancelled == frozenset() and plan.end_on == dt.date(2026, 12, 31)
    assert plan.reason == "More families"


def test_a_new_schedule_adds_changes_and_cancels_tranches() -> None:
    current = terms("paid", "scheduled", "scheduled", amounts=(500_000, 300_000, 200_000))
    plan = rules.plan_amendment(
        current,
        AmendmentRequest(
            " Split differently ",
            end_on=dt.date(2027, 6, 30),
            tranches=(
                spec(1, 500_000),
                spec(2, 250_000, dt.date(2026, 9, 1), {"all": [{"type": "manual_approval"}]}),
                spec(4, 250_000, dt.date(2026, 12, 1)),
            ),
        ),
    )
    assert [t.number for t in plan.tranches] == [1, 2, 4]
    assert plan.tranches[1].conditions == {"all": [{"id": "c1", "type": "manual_approval"}]}
    assert plan.cancelled == {3} and plan.difference_minor == 0
    assert plan.reason == "Split differently" and plan.end_on == dt.date(2027, 6, 30)


def test_an_amendment_needs_a_reason() -> None:
    errors = refusal(terms(), AmendmentRequest("  ", end_on=dt.date(2027, 1, 1)))
    assert errors == {"reason": ["Say why the grant is amended."]}


@pytest.mark.parametrize("state", ["closing", "closed", "terminated"])
def test_only_an_active_or_suspended_grant_is_amended(state: str) -> None:
    current = dataclasses.replace(terms(), state=state)
    with pytest.raises(InvalidTransition, match="Only an active or suspended grant"):
        rules.plan_amendment(current, AmendmentRequest("Later", end_on=dt.date(2027, 1, 1)))
    suspended = dataclasses.replace(terms(), state="suspended")
    assert rules.plan_amendment(suspended, AmendmentRequest("Later", end_on=dt.date(2027, 1, 1)))


@pytest.mark.parametrize("amount", [usd(0), usd(-5), Money(1_000_000, "EUR")])
def test_the_amount_is_positive_and_in_the_grant_currency(amount: Money) -> None:
    errors = refusal(terms(), AmendmentRequest("Change", amount=amount))
    assert errors == {"amount": ["Enter an amount greater than zero."]}


def test_the_grant_cannot_end_before_it_starts() -> None:
    errors = refusal(terms(), AmendmentRequest("Change", end_on=START - dt.timedelta(days=1)))
    assert errors == {"end_on": ["The grant must end after it starts."]}


def test_a_change_of_amount_needs_a_tranche_not_yet_released() -> None:
    errors = refusal(terms("paid", "approved"), AmendmentRequest("More", amount=usd(1_100_000)))
    assert errors == {"amount": ["Every tranche has been released: add a tranche for the change."]}


def test_a_smaller_amount_cannot_shrink_a_paid_tranche() -> None:
    errors = refusal(terms("paid", "scheduled"), AmendmentRequest("Less", amount=usd(500_000)))
    assert errors == {"tranches": ["Every tranche needs an amount above zero."]}


@pytest.mark.parametrize("numbers", [(1, 1), (0, 2)])
def test_each_tranche_has_its_own_number(numbers: tuple[int, int]) -> None:
    request = AmendmentRequest("Renumber", tranches=tuple(spec(n, 500_000) for n in numbers))
    assert refusal(terms(), request)["tranches"] == ["Each tranche has its own number."]


def test_each_tranche_is_in_the_grant_currency() -> None:
    request = AmendmentRequest(
        "Euros",
        tranches=(spec(1, 600_000), TrancheSpec(2, Money(400_000, "EUR"), START, NO_CONDITIONS)),
    )
    assert refusal(terms(), request) == {"tranches": ["Give each tranche an amount in USD."]}


def test_a_released_tranche_cannot_change() -> None:
    current = terms("release_requested", "scheduled")
    for changed in (
        spec(1, 500_000),
        spec(1, 600_000, conditions={"all": [{"type": "manual_approval"}]}),
    ):
        request = AmendmentRequest("Change", tranches=(changed, spec(2, 500_000)))
        assert refusal(current, request) == {
            "tranches": ["Tranche 1 has already been released and cannot change."]
        }


def test_released_tranches_stay_in_the_schedule() -> None:
    request = AmendmentRequest("Drop the first", tranches=(spec(2, 1_000_000),))
    assert refusal(terms("paid", "scheduled"), request) == {
        "tranches": ["Released tranches must stay in the schedule."]
    }


def test_a_cancelled_tranche_is_not_brought_back() -> None:
    current = terms("scheduled", "cancelled")
    request = AmendmentRequest("Bring it back", tranches=(spec(1, 600_000), spec(2, 400_000)))
    assert refusal(current, request) == {"tranches": ["Tranche 2 was cancelled; add a new one."]}


def test_the_tranches_add_up_to_the_grant() -> None:
    request = AmendmentRequest("Short", tranches=(spec(1, 600_000), spec(2, 300_000)))
    assert refusal(terms(), request) == {
        "tranches": ["The tranches add up to 9000.00 USD but the grant is 10000.00 USD."]
    }


def test_conditions_that_are_not_valid_are_refused() -> None:
    request = AmendmentRequest(
        "Odd", tranches=(spec(1, 600_000), spec(2, 400_000, conditions={"none": []}))
    )
    assert refusal(terms(), request) == {"conditions": ["Conditions start with “all” or “any”."]}


def test_an_amendment_that_changes_nothing_is_refused() -> None:
    current = terms("paid", "scheduled")
    for request in (
        AmendmentRequest("Same", amount=usd(1_000_000), end_on=dt.date(2026, 12, 31)),
        # A released tranche's date is not part of the change.
        AmendmentRequest(
            "Same",
            tranches=(
                spec(1, 600_000, dt.date(2030, 1, 1)),
                spec(2, 400_000, START + dt.timedelta(days=180)),
            ),
        ),
    ):
        assert refusal(current, request) == {"": ["Nothing has changed."]}


# --- payments and the commands that carry them ----------------------------------------------


def test_a_payment_in_the_fund_currency_is_the_tranche_amount() -> None:
    payment = payment_details(reference=" MP-1 ", method="mobile_money", paid_on="2026-01-10")
    assert payment.reference == "MP-1" and payment.paid_on == dt.date(2026, 1, 10)
    settled = rules.settle_payment(payment, usd(600_000))
    assert settled == rules.Settlement(usd(600_000), Decimal(1))


def test_a_payment_in_another_currency_is_worth_the_tranche_at_its_rate() -> None:
    kes = dict(reference="B-7", method="bank_transfer", paid_on=dt.date(2026, 1, 10))
    stated = payment_details(**kes, currency="kes", amount="774,000", exchange_rate="0.00775194")
    assert rules.settle_payment(stated, usd(600_000)).amount == Money(77_400_000, "KES")
    derived = rules.settle_payment(
        payment_details(**kes, currency="KES", amount="774000"), usd(600_000)
    )
    assert derived.rate == Decimal("0.0077519380")
    with pytest.raises(ValidationFailed) as refused:
        rules.settle_payment(
            payment_details(**kes, currency="KES", amount="700000", exchange_rate="0.00775194"),
            usd(600_000),
        )
    assert refused.value.errors == {
        "amount": ["At this rate the payment is worth 5426.36 USD, not the tranche's 6000.00 USD."]
    }
    with pytest.raises(ValidationFailed) as refused:
        rules.settle_payment(payment_details(**kes, currency="KES"), usd(600_000))
    assert refused.value.errors == {"amount": ["Enter the amount paid in KES."]}


def test_what_cannot_be_read_in_a_payment_is_refused_field_by_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        payment_details(
            reference="", method="cheque", paid_on="10/01/2026", amount="-5", exchange_rate="0"
        )
    assert set(refused.value.errors) == {
        "reference",
        "method",
        "paid_on",
        "amount",
        "exchange_rate",
    }
    with pytest.raises(ValidationFailed) as refused:
        payment_details(reference="R", method="cash_agent", paid_on=START, currency="ZZZ")
    assert set(refused.value.errors) == {"currency"}


@pytest.mark.parametrize("text", ["0", "-1", "abc", "NaN", "Infinity", "1e400000", "1e-25", ""])
def test_an_exchange_rate_is_a_finite_positive_decimal(text: str) -> None:
    with pytest.raises(ValueError):
        parse_exchange_rate(text)
    assert parse_exchange_rate(" 0.0077 ") == Decimal("0.0077")


def test_a_report_is_read_with_its_table_of_amounts_in_the_person_s_language() -> None:
    report = report_details(
        kind="financial",
        tranche_number="1",
        spent_lines=[{"line": "Graines", "amount": "1 200,50"}, {"line": "", "amount": ""}],
        spent="not read: the table says it",
        locale="fr",
    )
    assert report.spent_lines == (SpentLine("Graines", Decimal("1200.50")),)
    assert report.spent is None
    with pytest.raises(ValidationFailed) as refused:
        report_details(kind="poem", tranche_number=0, spent_lines=[{"line": "", "amount": "5"}])
    assert set(refused.value.errors) == {"kind", "tranche_number", "spent_lines"}
