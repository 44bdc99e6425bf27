"""Ledger services: contributions, refunds, costs, commitments, reversals, reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.ledger import rules, services
from grantpool.ledger.commands import ContributionDetails, contribution_details, pledge_details
from grantpool.ledger.models import LedgerEntry, LedgerTransaction, Pledge
from grantpool.platform.errors import InsufficientFunds, NotFound, NotPermitted, ValidationFailed
from grantpool.platform.money import Money
from tests.factories import make_donor, make_fund, make_user

from .helpers import RECEIVED, contribute, make_finance_officer


@pytest.fixture
def fund(session: Session):
    return make_fund(session, base_currency="USD")


@pytest.fixture
def officer(session: Session, fund):
    return make_finance_officer(session, fund)


@pytest.fixture
def donor(session: Session):
    return make_donor(session, currency="EUR")


def usd(amount: str) -> Money:
    return Money.from_decimal(amount, "USD")


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_contribution_in_donor_currency_is_converted_and_posted(
    session: Session, fund, officer, donor
) -> None:
    contribution = contribute(session, officer, fund, donor, "1000.00", "EUR", "1.0842")

    assert contribution.amount_minor == 100000
    assert contribution.currency == "EUR"
    assert contribution.exchange_rate == Decimal("1.0842")
    assert contribution.base_amount_minor == 108420
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("1084.20")
    assert services.balance_of(session, fund, f"donor:{donor.id}") == usd("-1084.20")
    session.expire_all()
    again = session.get(type(contribution), contribution.id)
    assert again.exchange_rate == Decimal("1.0842")
    assert again.received_at == RECEIVED
    assert list(services.check_ledger(session)) == []


def test_contribution_that_cannot_be_read_names_each_field(app) -> None:
    with pytest.raises(ValidationFailed) as failure:
        contribution_details(donor_id="someone", amount="-5", currency="EUR", exchange_rate="zero")
    assert set(failure.value.errors) == {"donor_id", "amount", "exchange_rate", "received_at"}
    with pytest.raises(ValidationFailed) as failure:
        contribution_details(donor_id=1, amount="5", currency="EURO", received_on="2026-02-30")
    assert set(failure.value.errors) == {"currency", "received_on"}


def test_contribution_typed_on_a_form_is_read_into_typed_values(app) -> None:
    details = contribution_details(
        donor_id="7",
        amount="1 250,50",
        currency="eur",
        exchange_rate=" 1.0842 ",
        received_on="2026-11-02",
        timezone="Africa/Nairobi",
        earmark_country="ke",
        earmark_theme="  ",
        locale="fr",
    )
    assert details == ContributionDetails(
        donor_id=7,
        amount=Money(125050, "EUR"),
        received_at=dt.datetime(2026, 11, 1, 21, 0, tzinfo=dt.UTC),
        exchange_rate=Decimal("1.0842"),
        earmark_country="KE",
    )
    assert (
        contribution_details(
            donor_id=7, amount="1", currency="USD", exchange_rate="", received_at=RECEIVED
        ).exchange_rate
        is None
    )


def test_contribution_from_a_donor_one_cannot_see_is_refused_and_writes_nothing(
    session: Session, fund, officer
) -> None:
    other = make_fund(session)
    hidden = make_donor(session, make_user(session, (Role.FUND_MANAGER.value, other.id, None)))
    for donor_id in (999999, hidden.id):
        with pytest.raises(ValidationFailed) as failure:
            services.record_contribution(
                session,
                officer,
                fund,
                ContributionDetails(
                    donor_id=donor_id,
                    amount=Money(500, "EUR"),
                    received_at=RECEIVED,
                    exchange_rate=Decimal("1.1"),
                ),
            )
        assert set(failure.value.errors) == {"donor_id"}
    assert count(session, LedgerTransaction) == 0


def test_contribution_in_another_currency_needs_its_rate(
    session: Session, fund, officer, donor
) -> None:
    with pytest.raises(ValidationFailed) as failure:
        services.record_contribution(
            session,
            officer,
            fund,
            ContributionDetails(donor_id=donor.id, amount=Money(500, "EUR"), received_at=RECEIVED),
        )
    assert set(failure.value.errors) == {"exchange_rate"}


def test_contribution_in_base_currency_refuses_another_rate(
    session: Session, fund, officer, donor
) -> None:
    with pytest.raises(ValidationFailed) as failure:
        contribute(session, officer, fund, donor, "10", "USD", "1.5")
    assert "exchange_rate" in failure.value.errors


def test_pledge_is_recorded_not_posted(session: Session, fund, officer, donor) -> None:
    pledge = services.record_pledge(
        session, officer, fund, pledge_details(donor_id=donor.id, amount="5000", currency="EUR")
    )
    assert pledge.amount_minor == 500000
    assert count(session, Pledge) == 1
    assert count(session, LedgerTransaction) == 0


def test_refund_beyond_available_is_refused_and_writes_nothing(
    session: Session, fund, officer, donor
) -> None:
    contribute(session, officer, fund, donor, "100.00")
    before = count(session, LedgerEntry)
    with pytest.raises(InsufficientFunds):
        services.refund_donor(session, officer, fund, donor, usd("100.01"), "returned")
    assert count(session, LedgerEntry) == before
    services.refund_donor(session, officer, fund, donor, usd("100.00"), "returned")
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("0")
    assert services.balance_of(session, fund, f"donor:{donor.id}") == usd("0")


def test_refund_only_to_a_donor_of_the_fund(session: Session, fund, officer, donor) -> None:
    giver = make_donor(session, currency="USD")
    contribute(session, officer, fund, giver, "100.00")
    for chosen in (donor.id, 999999):
        with pytest.raises(ValidationFailed) as refused:
            services.fund_donor(session, officer, fund, chosen)
        assert set(refused.value.errors) == {"donor_id"}
    with pytest.raises(ValidationFailed) as refused:
        services.refund_donor(session, officer, fund, donor, usd("10.00"), "returned")
    assert set(refused.value.errors) == {"donor_id"}
    assert services.fund_donor(session, officer, fund, giver.id) is giver
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("100.00")


def test_costs_and_commitments_spend_only_what_is_available(
    session: Session, fund, officer, donor
) -> None:
    contribute(session, officer, fund, donor, "100.00")
    services.record_fund_cost(session, officer, fund, usd("7.00"), "audit fee")
    services.commit_to_grant(session, fund, "G1", usd("90.00"), officer)
    with pytest.raises(InsufficientFunds):
        services.commit_to_grant(session, fund, "G2", usd("3.01"), officer)
    assert services.balance_of(session, fund, "grant:G1:committed") == usd("90.00")
    assert services.balance_of(session, fund, rules.FUND_COSTS) == usd("7.00")
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("3.00")
    assert services.balance_of(session, fund, "grant:G2:committed") == usd("0")


def test_unbalanced_or_invalid_lines_are_refused(session: Session, fund) -> None:
    with pytest.raises(ValueError, match="sum to zero"):
        services.post_transaction(
            session, fund, "fund_cost", [("fund:costs", 5), ("fund:available", -4)], None
        )
    with pytest.raises(ValueError, match="account code"):
        services.post_transaction(
            session, fund, "fund_cost", [("fund:other", 5), ("fund:available", -5)], None
        )


def test_reversal_mirrors_the_original_and_happens_once(
    session: Session, fund, officer, donor
) -> None:
    contribution = contribute(session, officer, fund, donor, "50.00")
    original = session.get(LedgerTransaction, contribution.transaction_id)
    reversal = services.reverse_transaction(session, officer, original, "typed twice")
    assert reversal.reverses_id == original.id
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("0")
    with pytest.raises(ValidationFailed):
        services.reverse_transaction(session, officer, original, "again")
    assert list(services.check_ledger(session)) == []


def test_reversal_that_would_overspend_is_refused(session: Session, fund, officer, donor) -> None:
    contribution = contribute(session, officer, fund, donor, "50.00")
    services.commit_to_grant(session, fund, "G1", usd("40.00"), officer)
    original = session.get(LedgerTransaction, contribution.transaction_id)
    with pytest.raises(InsufficientFunds):
        services.reverse_transaction(session, officer, original, "wrong fund")


def test_idempotency_key_replays_same_request_and_refuses_another(
    session: Session, fund, officer, donor
) -> None:
    data = ContributionDetails(donor_id=donor.id, amount=usd("20"), received_at=RECEIVED)
    first = services.record_contribution(
        session, officer, fund, data, idempotency_key="k1", fingerprint="a"
    )
    second = services.record_contribution(
        session, officer, fund, data, idempotency_key="k1", fingerprint="a"
    )
    assert first.id == second.id
    with pytest.raises(ValidationFailed):
        services.record_contribution(
            session, officer, fund, data, idempotency_key="k1", fingerprint="b"
        )
    assert services.balance_of(session, fund, rules.FUND_AVAILABLE) == usd("20")


def test_only_finance_officers_of_the_fund_move_its_money(session: Session, fund, donor) -> None:
    other_fund = make_fund(session)
    stranger = make_finance_officer(session, other_fund)
    manager = make_user(session, (Role.FUND_MANAGER.value, fund.id, None))
    with pytest.raises(NotFound):
        contribute(session, stranger, fund, donor, "10")
    with pytest.raises(NotPermitted):
        contribute(session, manager, fund, donor, "10")
    with pytest.raises(NotFound):
        services.record_fund_cost(session, stranger, fund, usd("1"), "x")


def test_entries_and_transactions_cannot_be_changed(session: Session, fund, officer, donor) -> None:
    contribute(session, officer, fund, donor, "10")
    session.flush()
    for statement in (
        "UPDATE ledger_entries SET amount_minor = amount_minor * 2",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET description = 'edited'",
    ):
        with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
            session.execute(text(statement))


def test_ledger_check_finds_a_tampered_snapshot(
    app, session: Session, fund, officer, donor
) -> None:
    contribute(session, officer, fund, donor, "10")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["grantpool", "ledger-check"]).exit_code == 0
    session.execute(text("UPDATE ledger_balances SET balance_minor = balance_minor + 1"))
    problems = list(services.check_ledger(session))
    assert {p.kind for p in problems} == {"snapshot_mismatch"}
    result = runner.invoke(args=["grantpool", "ledger-check"])
    assert result.exit_code == 1
    assert "snapshot_mismatch" in result.output


def test_ledger_check_finds_an_unbalanced_transaction(
    session: Session, fund, officer, donor
) -> None:
    contribution = contribute(session, officer, fund, donor, "10")
    account_id = session.scalar(select(LedgerEntry.account_id).limit(1))
    # Written past the service, as a bad import or a manual fix might.
    session.add(
        LedgerEntry(
            transaction_id=contribution.transaction_id, account_id=account_id, amount_minor=5
        )
    )
    session.flush()
    kinds = {p.kind for p in services.check_ledger(session)}
    assert "unbalanced_transaction" in kinds
    assert "snapshot_mismatch" in kinds
