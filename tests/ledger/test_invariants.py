"""Ledger invariants under random sequences of postings, and under real concurrency."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.ledger import rules, services
from grantpool.ledger.models import LedgerEntry
from grantpool.platform.errors import InsufficientFunds
from grantpool.platform.money import Money
from tests.factories import make_donor, make_fund

from .helpers import contribute, make_finance_officer

amounts = st.integers(min_value=1, max_value=50_000)


def assert_ledger_sound(session: Session) -> None:
    problems = list(services.check_ledger(session))
    assert problems == [], problems


def test_ledger_invariants_hold_after_every_step(session: Session) -> None:
    fund = make_fund(session, base_currency="USD")
    officer = make_finance_officer(session, fund)
    # Donors of the fund: money is returned only to a fund's donors.
    donors = [make_donor(session, currency="USD", fund_ids=[fund.id]) for _ in range(2)]

    class LedgerMachine(RuleBasedStateMachine):
        """Models fund:available, each donor and each grant commitment as plain ints."""

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = session.begin_nested()
            self.available = 0
            self.donor_balance = {d.id: 0 for d in donors}
            self.committed: dict[str, int] = {}
            self.costs = 0

        def money(self, minor: int) -> Money:
            return Money(minor, "USD")

        @rule(donor=st.sampled_from(donors), minor=amounts)
        def contribution(self, donor, minor: int) -> None:
            contribute(session, officer, fund, donor, str(Money(minor, "USD").to_decimal()))
            self.available += minor
            self.donor_balance[donor.id] -= minor

        @rule(donor=st.sampled_from(donors), minor=amounts)
        def refund(self, donor, minor: int) -> None:
            if minor > self.available:
                with pytest.raises(InsufficientFunds):
                    services.refund_donor(session, officer, fund, donor, self.money(minor), "r")
                return
            services.refund_donor(session, officer, fund, donor, self.money(minor), "r")
            self.available -= minor
            self.donor_balance[donor.id] += minor

        @rule(grant=st.sampled_from(["G1", "G2", "G3"]), minor=amounts)
        def commitment(self, grant: str, minor: int) -> None:
            if minor > self.available:
                with pytest.raises(InsufficientFunds):
                    services.commit_to_grant(session, fund, grant, self.money(minor), officer)
                return
            services.commit_to_grant(session, fund, grant, self.money(minor), officer)
            self.available -= minor
            self.committed[grant] = self.committed.get(grant, 0) + minor

        @precondition(lambda self: any(self.committed.values()))
        @rule(data=st.data())
        def release_commitment(self, data) -> None:
            grant = data.draw(st.sampled_from(sorted(g for g, v in self.committed.items() if v)))
            minor = data.draw(st.integers(min_value=1, max_value=self.committed[grant] + 10))
            lines = [(rules.FUND_AVAILABLE, minor), (rules.grant_committed_account(grant), -minor)]
            if minor > self.committed[grant]:
                with pytest.raises(InsufficientFunds):
                    services.post_transaction(session, fund, "commitment_release", lines, officer)
                return
            services.post_transaction(session, fund, "commitment_release", lines, officer)
            self.available += minor
            self.committed[grant] -= minor

        @rule(minor=amounts)
        def cost(self, minor: int) -> None:
            if minor > self.available:
                with pytest.raises(InsufficientFunds):
                    services.record_fund_cost(session, officer, fund, self.money(minor), "fee")
                return
            services.record_fund_cost(session, officer, fund, self.money(minor), "fee")
            self.available -= minor
            self.costs += minor

        @invariant()
        def balances_match_the_model_and_the_entries(self) -> None:
            assert services.balance_of(session, fund, rules.FUND_AVAILABLE).amount_minor == (
                self.available
            )
            for grant, minor in self.committed.items():
                code = rules.grant_committed_account(grant)
                assert services.balance_of(session, fund, code).amount_minor == minor
            for donor_id, minor in self.donor_balance.items():
                code = rules.donor_account(donor_id)
                assert services.balance_of(session, fund, code).amount_minor == minor
            assert self.available >= 0
            # Balanced transactions, snapshots equal to entry sums, nothing guarded below 0.
            assert_ledger_sound(session)
            total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)))
            assert total == 0

        def teardown(self) -> None:
            self.savepoint.rollback()

    LedgerMachine.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    LedgerMachine.TestCase().runTest()


def test_concurrent_refunds_never_overdraw_the_fund(real_database: Flask) -> None:
    """Ten people refund 30.00 each from 100.00 at the same moment: exactly three succeed."""
    app = real_database
    with app.app_context():
        fund = make_fund(db.session, base_currency="USD")
        officer = make_finance_officer(db.session, fund)
        donor = make_donor(db.session, currency="USD")
        contribute(db.session, officer, fund, donor, "100.00")
        db.session.commit()
        fund_id, officer_id, donor_id = fund.id, officer.id, donor.id

    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def refund() -> None:
        from grantpool.accounts.models import User
        from grantpool.funds.models import Donor

        with app.app_context():
            session = db.session
            try:
                fund = session.get(Fund, fund_id)
                actor = session.get(User, officer_id)
                donor = session.get(Donor, donor_id)
                session.commit()  # start the race from a clean transaction
                barrier.wait(timeout=30)
                services.refund_donor(session, actor, fund, donor, Money(3000, "USD"), "returned")
                session.commit()
                result = "ok"
            except InsufficientFunds:
                session.rollback()
                result = "refused"
            except Exception as exc:  # report, do not hide, anything else
                session.rollback()
                result = f"error: {exc!r}"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=refund) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7, outcomes
    with app.app_context():
        fund = db.session.get(Fund, fund_id)
        assert services.balance_of(db.session, fund, rules.FUND_AVAILABLE) == Money(1000, "USD")
        assert_ledger_sound(db.session)
