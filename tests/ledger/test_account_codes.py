"""Account codes taken apart by one parser (ledger.rules), without a database."""

from __future__ import annotations

import pytest

from grantpool.ledger import rules
from grantpool.ledger.rules import AccountCode, AccountKind, parse_account_code


@pytest.mark.parametrize(
    ("code", "parsed"),
    [
        ("fund:available", AccountCode(AccountKind.FUND, "", "available")),
        ("fund:costs", AccountCode(AccountKind.FUND, "", "costs")),
        ("donor:3", AccountCode(AccountKind.DONOR, "3")),
        ("grant:12:committed", AccountCode(AccountKind.GRANT, "12", "committed")),
        ("grant:12:paid", AccountCode(AccountKind.GRANT, "12", "paid")),
        ("grant:KE-2026.a_1:paid", AccountCode(AccountKind.GRANT, "KE-2026.a_1", "paid")),
    ],
)
def test_every_kind_of_code_parses_and_prints_back(code: str, parsed: AccountCode) -> None:
    assert parse_account_code(code) == parsed
    assert str(parsed) == code
    assert rules.is_valid_account_code(code)


def test_the_reference_is_a_row_id_only_when_it_is_a_number() -> None:
    assert parse_account_code("donor:3").number == 3
    assert parse_account_code("grant:12:committed").number == 12
    assert parse_account_code("grant:KE-12:committed").number is None
    assert parse_account_code("fund:available").number is None


def test_the_parts_name_the_account() -> None:
    available, costs = parse_account_code("fund:available"), parse_account_code("fund:costs")
    committed = parse_account_code("grant:7:committed")
    paid = parse_account_code("grant:7:paid")
    assert available.is_fund_available and not available.is_fund_costs
    assert costs.is_fund_costs and not costs.is_fund_available
    assert committed.is_grant_committed and not committed.is_grant_paid
    assert paid.is_grant_paid and not paid.is_grant_committed
    donor = parse_account_code("donor:1")
    flags = (donor.is_fund_available, donor.is_fund_costs, donor.is_grant_committed)
    assert flags == (False, False, False)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "fund",
        "fund:",
        "fund:other",
        "fund:available:x",
        "donor:",
        "donor:x",
        "donor:٣",  # a digit, but not an ASCII one
        "donor:3:paid",
        "grant:12",
        "grant::committed",
        "grant:12:refunded",
        "grant:a:b:committed",
        "grant:%:paid",
        "grant:" + "9" * 41 + ":paid",
        " fund:available",
        "FUND:available",
    ],
)
def test_anything_else_is_not_a_code(code: str) -> None:
    assert not rules.is_valid_account_code(code)
    assert not rules.must_stay_non_negative(code)
    with pytest.raises(ValueError, match="not a ledger account code"):
        parse_account_code(code)


def test_the_builders_make_codes_the_parser_reads() -> None:
    assert parse_account_code(rules.donor_account(5)) == AccountCode(AccountKind.DONOR, "5")
    assert parse_account_code(rules.grant_committed_account(9)).is_grant_committed
    assert parse_account_code(rules.grant_paid_account("G-9")).ref == "G-9"
    assert parse_account_code(rules.FUND_AVAILABLE).is_fund_available
    assert parse_account_code(rules.FUND_COSTS).is_fund_costs


def test_only_the_fund_and_grant_commitments_must_stay_non_negative() -> None:
    guarded = {
        code
        for code in ("fund:available", "fund:costs", "donor:1", "grant:1:committed", "grant:1:paid")
        if rules.must_stay_non_negative(code)
    }
    assert guarded == {"fund:available", "grant:1:committed"}


def test_like_patterns_leave_only_the_reference_open() -> None:
    assert rules.account_code_pattern(AccountKind.DONOR) == "donor:%"
    assert rules.account_code_pattern(AccountKind.GRANT, rules.COMMITTED) == "grant:%:committed"
    assert rules.account_code_pattern(AccountKind.GRANT, rules.PAID) == "grant:%:paid"
    assert rules.account_code_affixes(AccountKind.GRANT, rules.PAID) == ("grant:", ":paid")
    with pytest.raises(ValueError):
        rules.account_code_pattern(AccountKind.FUND, rules.AVAILABLE)
    with pytest.raises(ValueError):
        rules.account_code_pattern(AccountKind.GRANT)
    with pytest.raises(ValueError):
        rules.account_code_pattern(AccountKind.DONOR, rules.PAID)
