"""Ledger accounts, balanced append-only transactions, balance snapshots; pledges and
received contributions.

Entries are signed integers in the fund's base currency: a debit is positive, a credit
negative, and the entries of one transaction sum to zero. Transactions and entries are
never updated or deleted (database triggers refuse it); a correction is a reversing
transaction. `LedgerBalance` is a snapshot maintained in the same transaction as the
entries it summarises; `flask grantpool ledger-check` recomputes it from the entries.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ..platform.db import Base, IdPK
from ..platform.time import now_utc


class DecimalText(TypeDecorator[Decimal]):
    """An exact Decimal kept as text: identical on SQLite and PostgreSQL, never a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("DecimalText columns take Decimal values")
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class TransactionKind:
    CONTRIBUTION = "contribution"
    DONOR_REFUND = "donor_refund"
    GRANT_COMMITMENT = "grant_commitment"
    COMMITMENT_RELEASE = "commitment_release"
    TRANCHE_PAYMENT = "tranche_payment"
    PARTNER_RETURN = "partner_return"
    FUND_COST = "fund_cost"
    REVERSAL = "reversal"

    ALL = (
        CONTRIBUTION,
        DONOR_REFUND,
        GRANT_COMMITMENT,
        COMMITMENT_RELEASE,
        TRANCHE_PAYMENT,
        PARTNER_RETURN,
        FUND_COST,
        REVERSAL,
    )


class LedgerAccount(Base):
    """One account of a fund, named by a code: fund:available, fund:costs, donor:<id>,
    grant:<ref>:committed, grant:<ref>:paid."""

    __tablename__ = "ledger_accounts"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (UniqueConstraint("fund_id", "code"),)


class LedgerBalance(Base):
    """The maintained balance of one account (sum of its entries) and a version counter
    that every posting moves, so of two writers that read the same version one loses."""

    __tablename__ = "ledger_balances"

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), primary_key=True
    )
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # A digest of the request that carried the idempotency key: the same key with another
    # request is refused rather than silently answered with the first result.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    reverses_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), unique=True
    )

    __table_args__ = (
        CheckConstraint(
            "kind IN ('contribution', 'donor_refund', 'grant_commitment', "
            "'commitment_release', 'tranche_payment', 'partner_return', 'fund_cost', "
            "'reversal')",
            name="kind_known",
        ),
        CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_names_original"
        ),
        UniqueConstraint("fund_id", "idempotency_key"),
        Index("ix_ledger_transactions_fund_id_created_at", "fund_id", "created_at"),
    )


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[IdPK]
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_transactions.id", ondelete="RESTRICT")
    )
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_accounts.id", ondelete="RESTRICT")
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        Index("ix_ledger_entries_transaction_id", "transaction_id"),
        Index("ix_ledger_entries_account_id", "account_id"),
    )


class Pledge(Base):
    """A donor's promise. Recorded, never posted: a promise is not money."""

    __tablename__ = "pledges"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    donor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("donors.id", ondelete="RESTRICT"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    expected_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_pledges_fund_id", "fund_id"),
    )


class Contribution(Base):
    """Money received from a donor, in the donor's currency, with the rate used to post it
    in the fund's base currency."""

    __tablename__ = "contributions"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    donor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("donors.id", ondelete="RESTRICT"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Units of the fund's base currency per unit of `currency`.
    exchange_rate: Mapped[Decimal] = mapped_column(DecimalText)
    base_amount_minor: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime]
    earmark_theme: Mapped[str | None] = mapped_column(String(100))
    earmark_country: Mapped[str | None] = mapped_column(String(2))
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), unique=True
    )
    recorded_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("base_amount_minor > 0", name="base_amount_positive"),
        Index("ix_contributions_fund_id", "fund_id"),
        Index("ix_contributions_donor_id", "donor_id"),
    )
