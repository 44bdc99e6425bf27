"""Grants, their tranches, conditions' evidence and waivers, reports, disbursements,
amendments and agreement versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..ledger.models import DecimalText
from ..platform.db import Base, IdPK
from ..platform.money import Money
from ..platform.states import state_enum
from ..platform.time import now_utc
from .rules import (
    DisbursementState,
    EvidenceKind,
    GrantState,
    PaymentMethod,
    ReportKind,
    ReportState,
    RiskLevel,
    TrancheState,
)

if TYPE_CHECKING:
    from ..funds.models import Fund
    from ..organisations.models import Organisation


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class TrancheTemplate(Base):
    """A fund's tranche template for one risk level, as data (see rules.DEFAULT_TEMPLATES)."""

    __tablename__ = "tranche_templates"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    risk_level: Mapped[str] = mapped_column(String(8))
    tranches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint(f"risk_level IN ({_in(RiskLevel)})", name="risk_known"),
        UniqueConstraint("fund_id", "name"),
    )


class Grant(Base):
    __tablename__ = "grants"

    id: Mapped[IdPK]
    fund_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("funds.id", ondelete="RESTRICT"))
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="RESTRICT"), unique=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date] = mapped_column(Date)
    risk_level: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(16))
    state: Mapped[GrantState] = mapped_column(
        state_enum(GrantState, length=16), default=GrantState.ACTIVE
    )
    awarded_at: Mapped[dt.datetime]
    awarded_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    first_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    days_award_to_first_payment: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer)

    fund: Mapped[Fund] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"risk_level IN ({_in(RiskLevel)})", name="risk_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("start_on <= end_on", name="starts_before_end"),
        CheckConstraint(
            "(state IN ('closed', 'terminated')) = (closed_at IS NOT NULL)",
            name="closed_iff_closed_at",
        ),
        Index("ix_grants_fund_id_state", "fund_id", "state"),
        Index("ix_grants_organisation_id", "organisation_id"),
    )

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def reference(self) -> str:
        return self.reference_for(self.id)

    @staticmethod
    def reference_for(grant_id: int) -> str:
        return f"G-{grant_id:05d}"

    def __repr__(self) -> str:
        return f"<Grant {self.id} {self.state}>"


class Tranche(Base):
    __tablename__ = "tranches"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_on: Mapped[dt.date] = mapped_column(Date)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[TrancheState] = mapped_column(
        state_enum(TrancheState, length=20), default=TrancheState.SCHEDULED
    )
    # Every change moves the version: of two writers that read the same tranche, one loses.
    version: Mapped[int] = mapped_column(Integer)

    grant: Mapped[Grant] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("number >= 1", name="number_positive"),
        UniqueConstraint("grant_id", "number"),
    )

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class ConditionWaiver(Base):
    __tablename__ = "condition_waivers"

    id: Mapped[IdPK]
    tranche_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tranches.id", ondelete="RESTRICT")
    )
    condition_id: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    waived_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    waived_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        UniqueConstraint("tranche_id", "condition_id"),
    )


class GrantEvidence(Base):
    """A fact a condition may wait for: a verified milestone, a document, a manual approval."""

    __tablename__ = "grant_evidence"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    tranche_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tranches.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    file_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    recorded_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(EvidenceKind)})", name="kind_known"),
        CheckConstraint(
            "kind != 'manual_approval' OR tranche_id IS NOT NULL", name="approval_names_tranche"
        ),
        Index("ix_grant_evidence_grant_id", "grant_id"),
    )


class Report(Base):
    __tablename__ = "grant_reports"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(12))
    # The tranche whose use the report describes; a final report covers the whole grant.
    tranche_number: Mapped[int] = mapped_column(Integer)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[ReportState] = mapped_column(
        state_enum(ReportState, length=12), default=ReportState.SUBMITTED
    )
    text: Mapped[str] = mapped_column(Text, default="")
    # Financial reports: a simple table of amounts spent [{"line", "amount_minor"}], total.
    spent_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    spent_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Stored files: [{"key", "role" (photo | voice | spreadsheet), "content_type", "size"}].
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime]
    reviewed_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    # A client's Idempotency-Key: a retried submission returns the first report.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("submitted_by_id", "idempotency_key"),
        CheckConstraint(f"kind IN ({_in(ReportKind)})", name="kind_known"),
        CheckConstraint("kind = 'narrative' OR spent_minor >= 0", name="financial_has_spent"),
        CheckConstraint(
            "(state = 'submitted') = (reviewed_at IS NULL)", name="reviewed_unless_submitted"
        ),
        CheckConstraint(
            "state != 'returned' OR length(trim(review_comment)) > 0", name="returned_has_comment"
        ),
        Index("ix_grant_reports_grant_id", "grant_id"),
    )


class Disbursement(Base):
    """The release of one tranche: requested by one person, approved by another, paid."""

    __tablename__ = "disbursements"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    tranche_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tranches.id", ondelete="RESTRICT")
    )
    state: Mapped[DisbursementState] = mapped_column(
        state_enum(DisbursementState, length=12), default=DisbursementState.REQUESTED
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    requested_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime]
    # The day the tranche's conditions came to hold (or were waived), for timeliness.
    conditions_met_on: Mapped[dt.date | None] = mapped_column(Date)
    approved_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None]
    rejected_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    rejected_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    paid_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    payment_method: Mapped[str | None] = mapped_column(String(16))
    payment_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    payment_currency: Mapped[str | None] = mapped_column(String(3))
    # Units of the fund's currency per unit of the payment currency.
    exchange_rate: Mapped[Decimal | None] = mapped_column(DecimalText)
    transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), unique=True
    )
    days_award_to_payment: Mapped[int | None] = mapped_column(Integer)
    days_conditions_to_payment: Mapped[int | None] = mapped_column(Integer)

    tranche: Mapped[Tranche] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            f"payment_method IS NULL OR payment_method IN ({_in(PaymentMethod)})",
            name="method_known",
        ),
        # Two people on every payment: the database refuses it too.
        CheckConstraint(
            "approved_by_id IS NULL OR approved_by_id <> requested_by_id",
            name="approver_is_not_requester",
        ),
        CheckConstraint(
            "state NOT IN ('approved', 'paid') OR (approved_by_id IS NOT NULL "
            "AND approved_at IS NOT NULL)",
            name="approved_has_approver",
        ),
        CheckConstraint(
            "(state = 'paid') = (transaction_id IS NOT NULL AND paid_on IS NOT NULL "
            "AND payment_reference IS NOT NULL AND payment_method IS NOT NULL)",
            name="paid_iff_payment",
        ),
        CheckConstraint(
            "(state = 'rejected') = (rejected_at IS NOT NULL)", name="rejected_iff_rejected_at"
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("requested_by_id", "idempotency_key"),
        # One live disbursement per tranche: a second request, however it races, fails here.
        Index(
            "uq_disbursements_one_live_per_tranche",
            "tranche_id",
            unique=True,
            postgresql_where=text("state <> 'rejected'"),
            sqlite_where=text("state <> 'rejected'"),
        ),
        Index("ix_disbursements_grant_id", "grant_id"),
    )

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class Amendment(Base):
    __tablename__ = "grant_amendments"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    amended_by_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    amended_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ledger_transactions.id", ondelete="RESTRICT")
    )

    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        UniqueConstraint("grant_id", "number"),
    )


class AgreementVersion(Base):
    """One generated agreement PDF; every amendment adds a version, none is replaced."""

    __tablename__ = "grant_agreements"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"))
    version: Mapped[int] = mapped_column(Integer)
    file_key: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    amendment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grant_amendments.id", ondelete="RESTRICT")
    )
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    __table_args__ = (UniqueConstraint("grant_id", "version"),)
