"""Ledger operations. Each takes a session and the acting user, flushes, never commits.

Concurrency: every posting first locks the fund's row (PostgreSQL: SELECT … FOR NO KEY
UPDATE; SQLite: writers are already serialised by BEGIN IMMEDIATE), then the balance rows
it touches, in account order. So two postings to one fund run one after the other and the
second sees the first's balances. The version column on each balance row is a second
guard: an UPDATE that did not see the latest version fails instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..funds.models import Donor, Fund
from ..funds.services import add_fund_donor
from ..platform.audit import record_event
from ..platform.errors import InsufficientFunds, ValidationFailed
from ..platform.idempotency import request_fingerprint
from ..platform.money import Money, amount_problem
from ..platform.permissions import can, require
from . import rules, signals
from .commands import ContributionDetails, PledgeDetails
from .models import (
    Contribution,
    LedgerAccount,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Pledge,
    TransactionKind,
)

Line = tuple[str, int]


# --- the core: balanced, locked postings -------------------------------------------------


def _lock_fund(session: Session, fund: Fund) -> None:
    session.execute(
        select(Fund.id)
        .where(Fund.id == fund.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )


def _replayed(
    session: Session, fund: Fund, idempotency_key: str | None, fingerprint: str | None
) -> LedgerTransaction | None:
    """The transaction an earlier request with this key posted, if any (after the lock)."""
    if not idempotency_key:
        return None
    earlier = session.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.fund_id == fund.id,
            LedgerTransaction.idempotency_key == idempotency_key,
        )
    )
    if earlier is None:
        return None
    if earlier.request_fingerprint != fingerprint:
        raise ValidationFailed(
            {"": [_("This Idempotency-Key was already used for a different request.")]}
        )
    return earlier


def post_transaction(
    session: Session,
    fund: Fund,
    kind: str,
    lines: Sequence[Line],
    actor: User | None,
    *,
    description: str = "",
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Post balanced entries (account code, signed base-currency minor units; debit > 0).

    Raises InsufficientFunds, having written nothing, when fund:available or a
    grant:*:committed account would go below zero. With an idempotency key already used
    for this fund, returns the earlier transaction (same fingerprint) or refuses (other).
    """
    if kind not in TransactionKind.ALL:
        raise ValueError(f"unknown transaction kind {kind!r}")
    if len(lines) < 2:
        raise ValueError("a transaction needs at least two entries")
    for code, amount in lines:
        if not rules.is_valid_account_code(code):
            raise ValueError(f"not a ledger account code: {code!r}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ValueError("entry amounts are non-zero integers of minor units")
    if not rules.is_balanced(amount for _code, amount in lines):
        raise ValueError("the entries of a transaction must sum to zero")

    _lock_fund(session, fund)
    earlier = _replayed(session, fund, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier

    net = rules.net_by_account(lines)
    codes = sorted(net)
    accounts = {
        a.code: a
        for a in session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.fund_id == fund.id, LedgerAccount.code.in_(codes)
            )
        )
    }
    balances: dict[str, LedgerBalance] = {}
    if accounts:
        ids = sorted(a.id for a in accounts.values())
        locked = session.scalars(
            select(LedgerBalance)
            .where(LedgerBalance.account_id.in_(ids))
            .order_by(LedgerBalance.account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        by_id = {b.account_id: b for b in locked}
        balances = {code: by_id[a.id] for code, a in accounts.items()}

    # Check every guarded account before writing anything.
    for code in codes:
        current = balances[code].balance_minor if code in balances else 0
        if rules.must_stay_non_negative(code) and current + net[code] < 0:
            raise InsufficientFunds()

    for code in codes:
        if code not in accounts:
            account = LedgerAccount(fund_id=fund.id, code=code)
            session.add(account)
            session.flush()
            accounts[code] = account
            balances[code] = LedgerBalance(account_id=account.id, balance_minor=0)
            session.add(balances[code])

    transaction = LedgerTransaction(
        fund_id=fund.id,
        kind=kind,
        description=description[:500],
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else None,
        created_by_id=getattr(actor, "id", None),
        reverses_id=reverses.id if reverses is not None else None,
    )
    session.add(transaction)
    session.flush()
    session.add_all(
        LedgerEntry(transaction_id=transaction.id, account_id=accounts[code].id, amount_minor=a)
        for code, a in lines
    )
    for code in codes:
        balances[code].balance_minor += net[code]
    session.flush()
    signals.transaction_posted.send(transaction, session=session, lines=lines)
    record_event(
        session,
        actor,
        f"ledger.{kind}",
        transaction,
        object_type="ledger_transaction",
        after={
            "fund_id": fund.id,
            "lines": [list(line) for line in lines],
            "description": description,
        },
    )
    return transaction


def _base_amount(fund: Fund, amount: Money) -> int:
    if amount.currency != fund.base_currency:
        raise ValueError(f"ledger amounts are in the fund's base currency {fund.base_currency}")
    if amount.amount_minor <= 0:
        raise ValueError("the amount must be positive")
    return amount.amount_minor


def commit_to_grant(
    session: Session,
    fund: Fund,
    grant_ref: str | int,
    amount: Money,
    actor: User | None,
    *,
    idempotency_key: str | None = None,
) -> LedgerTransaction:
    """Commit money to a grant: debit grant:G:committed, credit fund:available.

    For the grants capability: the award that calls this checks its own permission and
    runs in the same transaction, so an award the fund cannot cover is refused whole
    (InsufficientFunds) rather than half-made.
    """
    minor = _base_amount(fund, amount)
    return post_transaction(
        session,
        fund,
        TransactionKind.GRANT_COMMITMENT,
        [(rules.grant_committed_account(grant_ref), minor), (rules.FUND_AVAILABLE, -minor)],
        actor,
        description=f"commitment to grant {grant_ref}",
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(["commit", str(grant_ref), minor]),
    )


def reverse_transaction(
    session: Session, actor: User, transaction: LedgerTransaction, reason: str
) -> LedgerTransaction:
    """Correct a transaction by posting its mirror image; the original stays as it was."""
    fund = session.get(Fund, transaction.fund_id)
    assert fund is not None
    require(actor, "ledger.post", fund)
    if not reason.strip():
        raise ValidationFailed.single("reason", _("Say why this transaction is reversed."))
    if transaction.kind == TransactionKind.REVERSAL:
        raise ValidationFailed.single("", _("A reversal cannot itself be reversed."))
    _lock_fund(session, fund)
    if session.scalar(
        select(LedgerTransaction.id).where(LedgerTransaction.reverses_id == transaction.id)
    ):
        raise ValidationFailed.single("", _("This transaction has already been reversed."))
    rows = session.execute(
        select(LedgerAccount.code, LedgerEntry.amount_minor)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.transaction_id == transaction.id)
        .order_by(LedgerEntry.id)
    ).all()
    return post_transaction(
        session,
        fund,
        TransactionKind.REVERSAL,
        [(code, -amount) for code, amount in rows],
        actor,
        description=reason.strip(),
        reverses=transaction,
    )


# --- contributions, pledges, refunds, costs ----------------------------------------------


def _donor(session: Session, actor: User, donor_id: int, errors: dict[str, str]) -> Donor | None:
    """The donor chosen, if `actor` may see it: a donor of another fund is as unknown as a
    donor that does not exist."""
    donor = session.get(Donor, donor_id)
    if donor is None or not can(actor, "donor.view", donor):
        errors["donor_id"] = _("Choose the donor.")
        return None
    return donor


def _exchange_rate(
    fund: Fund, details: ContributionDetails, errors: dict[str, str]
) -> Decimal | None:
    """The rate the contribution converts at: 1 for money in the fund's own currency."""
    if details.amount.currency == fund.base_currency:
        if details.exchange_rate not in (None, Decimal(1)):
            errors["exchange_rate"] = _("The rate is 1 when the money is in the fund's currency.")
            return None
        return Decimal(1)
    if details.exchange_rate is None:
        errors["exchange_rate"] = _("Enter the exchange rate as a positive number, such as 1.0842.")
    return details.exchange_rate


def record_contribution(
    session: Session,
    actor: User,
    fund: Fund,
    details: ContributionDetails,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> Contribution:
    """Record money received from a donor and post it: debit fund:available, credit donor:D,
    by the amount converted into the fund's currency."""
    require(actor, "contribution.create", fund)
    errors: dict[str, str] = {}
    donor = _donor(session, actor, details.donor_id, errors)
    amount = details.amount
    rate = _exchange_rate(fund, details, errors)
    base = amount.convert(rate, fund.base_currency) if rate is not None else None
    if base is not None and base.amount_minor <= 0:
        errors["amount"] = _("This amount is less than one unit of the fund's currency.")
    elif base is not None and (problem := amount_problem(base)):
        errors["amount"] = problem
    if errors:
        raise ValidationFailed(errors)
    assert donor is not None and rate is not None and base is not None

    _lock_fund(session, fund)
    earlier = _replayed(session, fund, idempotency_key, fingerprint)
    if earlier is not None:
        found = session.scalar(
            select(Contribution).where(Contribution.transaction_id == earlier.id)
        )
        if found is None:
            raise ValidationFailed(
                {"": [_("This Idempotency-Key was already used for a different request.")]}
            )
        return found

    transaction = post_transaction(
        session,
        fund,
        TransactionKind.CONTRIBUTION,
        [
            (rules.FUND_AVAILABLE, base.amount_minor),
            (rules.donor_account(donor.id), -base.amount_minor),
        ],
        actor,
        description=f"contribution from {donor.name}",
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    contribution = Contribution(
        fund_id=fund.id,
        donor_id=donor.id,
        amount_minor=amount.amount_minor,
        currency=amount.currency,
        exchange_rate=rate,
        base_amount_minor=base.amount_minor,
        received_at=details.received_at,
        earmark_theme=details.earmark_theme,
        earmark_country=details.earmark_country,
        transaction_id=transaction.id,
        recorded_by_id=actor.id,
    )
    session.add(contribution)
    add_fund_donor(session, donor, fund.id)
    session.flush()
    record_event(
        session,
        actor,
        "contribution.create",
        contribution,
        after={
            "fund_id": fund.id,
            "donor_id": donor.id,
            "amount": str(amount),
            "exchange_rate": rate,
            "base_amount": str(base),
            "transaction_id": transaction.id,
        },
    )
    return contribution


def record_pledge(session: Session, actor: User, fund: Fund, details: PledgeDetails) -> Pledge:
    """Record a donor's promise. Nothing is posted: a pledge is not money."""
    require(actor, "pledge.create", fund)
    errors: dict[str, str] = {}
    donor = _donor(session, actor, details.donor_id, errors)
    if errors:
        raise ValidationFailed(errors)
    assert donor is not None
    pledge = Pledge(
        fund_id=fund.id,
        donor_id=donor.id,
        amount_minor=details.amount.amount_minor,
        currency=details.amount.currency,
        expected_on=details.expected_on,
        note=details.note,
        recorded_by_id=actor.id,
    )
    session.add(pledge)
    add_fund_donor(session, donor, fund.id)
    session.flush()
    record_event(
        session,
        actor,
        "pledge.create",
        pledge,
        after={"fund_id": fund.id, "donor_id": donor.id, "amount": str(details.amount)},
    )
    return pledge


def fund_donor(session: Session, actor: User, fund: Fund, donor_id: int) -> Donor:
    """A donor of `fund` that `actor` may see, or ValidationFailed: money is returned only
    to those who gave it."""
    errors: dict[str, str] = {}
    donor = _donor(session, actor, donor_id, errors)
    if donor is None or fund.id not in donor.fund_ids:
        raise ValidationFailed.single("donor_id", _("Choose the donor."))
    return donor


def refund_donor(
    session: Session,
    actor: User,
    fund: Fund,
    donor: Donor,
    amount: Money,
    reason: str,
    *,
    idempotency_key: str | None = None,
) -> LedgerTransaction:
    """Return money to a donor of the fund: debit donor:D, credit fund:available.

    Refused with InsufficientFunds when fund:available would go below zero.
    """
    require(actor, "ledger.post", fund)
    if not can(actor, "donor.view", donor) or fund.id not in donor.fund_ids:
        raise ValidationFailed.single("donor_id", _("Choose the donor."))
    if not reason.strip():
        raise ValidationFailed.single("reason", _("Say why the money is returned."))
    minor = _base_amount(fund, amount)
    return post_transaction(
        session,
        fund,
        TransactionKind.DONOR_REFUND,
        [(rules.donor_account(donor.id), minor), (rules.FUND_AVAILABLE, -minor)],
        actor,
        description=reason.strip(),
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(["refund", donor.id, minor, reason.strip()]),
    )


def record_fund_cost(
    session: Session,
    actor: User,
    fund: Fund,
    amount: Money,
    description: str,
    *,
    idempotency_key: str | None = None,
) -> LedgerTransaction:
    """Charge a fund management cost: debit fund:costs, credit fund:available."""
    require(actor, "ledger.post", fund)
    if not description.strip():
        raise ValidationFailed.single("description", _("Describe the cost."))
    minor = _base_amount(fund, amount)
    return post_transaction(
        session,
        fund,
        TransactionKind.FUND_COST,
        [(rules.FUND_COSTS, minor), (rules.FUND_AVAILABLE, -minor)],
        actor,
        description=description.strip(),
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(["cost", minor, description.strip()]),
    )


# --- read side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountBalance:
    code: str
    balance: Money
    version: int


def balances(session: Session, fund: Fund) -> list[AccountBalance]:
    rows = session.execute(
        select(LedgerAccount.code, LedgerBalance.balance_minor, LedgerBalance.version)
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.fund_id == fund.id)
        .order_by(LedgerAccount.code)
    ).all()
    return [AccountBalance(code, Money(int(b), fund.base_currency), v) for code, b, v in rows]


def balance_of(session: Session, fund: Fund, code: str) -> Money:
    value = session.scalar(
        select(LedgerBalance.balance_minor)
        .join(LedgerAccount, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.fund_id == fund.id, LedgerAccount.code == code)
    )
    return Money(int(value or 0), fund.base_currency)


def recent_transactions(
    session: Session, fund: Fund, limit: int = 50
) -> list[tuple[LedgerTransaction, list[tuple[str, int]]]]:
    transactions = list(
        session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.fund_id == fund.id)
            .order_by(LedgerTransaction.id.desc())
            .limit(limit)
        )
    )
    lines: dict[int, list[tuple[str, int]]] = {t.id: [] for t in transactions}
    if transactions:
        for tx_id, code, amount in session.execute(
            select(LedgerEntry.transaction_id, LedgerAccount.code, LedgerEntry.amount_minor)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .where(LedgerEntry.transaction_id.in_(lines))
            .order_by(LedgerEntry.id)
        ):
            lines[tx_id].append((code, int(amount)))
    return [(t, lines[t.id]) for t in transactions]


def list_contributions(session: Session, fund: Fund) -> list[Contribution]:
    return list(
        session.scalars(
            select(Contribution)
            .where(Contribution.fund_id == fund.id)
            .order_by(Contribution.received_at.desc(), Contribution.id.desc())
        )
    )


def list_pledges(session: Session, fund: Fund) -> list[Pledge]:
    return list(
        session.scalars(select(Pledge).where(Pledge.fund_id == fund.id).order_by(Pledge.id.desc()))
    )


# --- reconciliation ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerProblem:
    kind: str
    subject: str
    detail: str


def check_ledger(session: Session) -> Iterator[LedgerProblem]:
    """Recompute every balance from the entries; report snapshots that differ, transactions
    that do not balance, and guarded accounts below zero. Aggregates run in SQL."""
    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_minor).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            LedgerAccount.fund_id,
            LedgerAccount.code,
            LedgerBalance.balance_minor,
            func.coalesce(sums.c.total, 0),
        )
        .outerjoin(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .order_by(LedgerAccount.fund_id, LedgerAccount.code)
    )
    for fund_id, code, snapshot, total in rows:
        subject = f"fund {fund_id} {code}"
        if snapshot is None:
            yield LedgerProblem("missing_snapshot", subject, f"entries sum to {total}")
        elif int(snapshot) != int(total):
            yield LedgerProblem(
                "snapshot_mismatch", subject, f"snapshot {snapshot}, entries sum to {total}"
            )
        if rules.must_stay_non_negative(code) and int(total) < 0:
            yield LedgerProblem("negative_balance", subject, f"entries sum to {total}")
    unbalanced = session.execute(
        select(
            LedgerTransaction.id,
            func.coalesce(func.sum(LedgerEntry.amount_minor), 0),
            func.count(LedgerEntry.id),
        )
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id)
        .having(
            (func.coalesce(func.sum(LedgerEntry.amount_minor), 0) != 0)
            | (func.count(LedgerEntry.id) < 2)
        )
        .order_by(LedgerTransaction.id)
    )
    for tx_id, total, count in unbalanced:
        yield LedgerProblem(
            "unbalanced_transaction",
            f"transaction {tx_id}",
            f"{count} entries summing to {total}",
        )


# --- helpers for forms and pages -----------------------------------------------------------


def account_labels(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Readable names for account codes (donor names in one query)."""
    parsed = {c: rules.parse_account_code(c) for c in codes if rules.is_valid_account_code(c)}
    donor_ids = {int(p.ref) for p in parsed.values() if p.kind == rules.AccountKind.DONOR}
    names = (
        dict(session.execute(select(Donor.id, Donor.name).where(Donor.id.in_(donor_ids))).all())
        if donor_ids
        else {}
    )
    labels: dict[str, str] = {}
    for code in codes:
        account = parsed.get(code)
        if account is None:
            labels[code] = code
        elif account.is_fund_available:
            labels[code] = _("Available in the fund")
        elif account.is_fund_costs:
            labels[code] = _("Fund management costs")
        elif account.kind == rules.AccountKind.DONOR:
            labels[code] = _("Donor: %(name)s", name=names.get(int(account.ref), account.ref))
        elif account.is_grant_committed:
            labels[code] = _("Grant %(ref)s: committed", ref=account.ref)
        else:
            labels[code] = _("Grant %(ref)s: paid", ref=account.ref)
    return labels
