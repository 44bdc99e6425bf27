"""The benchmark's ledger is built with the application's ledger rules and refuses what
post_transaction refuses, so generated money can never be in a state the app forbids."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.money import Ledger
from grantpool.ledger import rules
from grantpool.ledger.models import TransactionKind

AT = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _funded_ledger() -> Ledger:
    ledger = Ledger(fund_id=1, created_by=1)
    ledger.post(
        TransactionKind.CONTRIBUTION,
        [(rules.FUND_AVAILABLE, 1_000), (rules.donor_account(3), -1_000)],
        AT,
        "contribution",
    )
    return ledger


def test_balances_follow_the_posted_entries() -> None:
    ledger = _funded_ledger()
    ledger.post(
        TransactionKind.GRANT_COMMITMENT,
        [(rules.grant_committed_account(7), 600), (rules.FUND_AVAILABLE, -600)],
        AT,
        "commitment",
    )
    ledger.post(
        TransactionKind.TRANCHE_PAYMENT,
        [(rules.grant_paid_account(7), 250), (rules.grant_committed_account(7), -250)],
        AT,
        "payment",
    )
    assert ledger.balances == {
        "fund:available": 400,
        "donor:3": -1_000,
        "grant:7:committed": 350,
        "grant:7:paid": 250,
    }


@pytest.mark.parametrize(
    ("kind", "lines", "message"),
    [
        (
            TransactionKind.GRANT_COMMITMENT,
            [("grant:7:spent", 100), (rules.FUND_AVAILABLE, -100)],
            "not a ledger account code",
        ),
        (
            TransactionKind.FUND_COST,
            [(rules.FUND_COSTS, 100), (rules.FUND_AVAILABLE, -90)],
            "sum to zero",
        ),
        (
            TransactionKind.GRANT_COMMITMENT,
            [(rules.grant_committed_account(7), 1_001), (rules.FUND_AVAILABLE, -1_001)],
            "fund:available would go below zero",
        ),
        (
            TransactionKind.TRANCHE_PAYMENT,
            [(rules.grant_paid_account(7), 1), (rules.grant_committed_account(7), -1)],
            "grant:7:committed would go below zero",
        ),
        ("gift", [(rules.FUND_AVAILABLE, 1), (rules.donor_account(3), -1)], "unknown"),
    ],
)
def test_refuses_what_the_application_refuses(
    kind: str, lines: list[tuple[str, int]], message: str
) -> None:
    ledger = _funded_ledger()
    before = (list(ledger.transactions), dict(ledger.balances))
    with pytest.raises(ValueError, match=message):
        ledger.post(kind, lines, AT, "refused")
    assert (ledger.transactions, ledger.balances) == before
