"""The states of a grant, its tranches, disbursements and reports, each with one
transition table; the kinds and labels that go with them."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ...platform.states import check_transition


class GrantState(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSING = "closing"
    CLOSED = "closed"
    TERMINATED = "terminated"


G = GrantState
GRANT_TRANSITIONS: dict[GrantState, frozenset[GrantState]] = {
    G.ACTIVE: frozenset({G.SUSPENDED, G.CLOSING, G.TERMINATED}),
    G.SUSPENDED: frozenset({G.ACTIVE, G.TERMINATED}),
    G.CLOSING: frozenset({G.CLOSED}),
    G.CLOSED: frozenset(),
    G.TERMINATED: frozenset(),
}


class TrancheState(StrEnum):
    SCHEDULED = "scheduled"
    RELEASE_REQUESTED = "release_requested"
    APPROVED = "approved"
    PAID = "paid"
    CANCELLED = "cancelled"


T = TrancheState
TRANCHE_TRANSITIONS: dict[TrancheState, frozenset[TrancheState]] = {
    T.SCHEDULED: frozenset({T.RELEASE_REQUESTED, T.CANCELLED}),
    # A refused request puts the tranche back on the schedule.
    T.RELEASE_REQUESTED: frozenset({T.APPROVED, T.SCHEDULED}),
    T.APPROVED: frozenset({T.PAID, T.SCHEDULED}),
    T.PAID: frozenset(),
    T.CANCELLED: frozenset(),
}


class DisbursementState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


D = DisbursementState
DISBURSEMENT_TRANSITIONS: dict[DisbursementState, frozenset[DisbursementState]] = {
    D.REQUESTED: frozenset({D.APPROVED, D.REJECTED}),
    D.APPROVED: frozenset({D.PAID, D.REJECTED}),
    D.PAID: frozenset(),
    D.REJECTED: frozenset(),
}


class ReportState(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


R = ReportState
REPORT_TRANSITIONS: dict[ReportState, frozenset[ReportState]] = {
    R.SUBMITTED: frozenset({R.ACCEPTED, R.RETURNED}),
    R.RETURNED: frozenset({R.SUBMITTED}),
    R.ACCEPTED: frozenset(),
}


class ReportKind(StrEnum):
    NARRATIVE = "narrative"
    FINANCIAL = "financial"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    MOBILE_MONEY = "mobile_money"
    CASH_AGENT = "cash_agent"


class EvidenceKind(StrEnum):
    MILESTONE = "milestone"
    DOCUMENT = "document"
    MANUAL_APPROVAL = "manual_approval"


GRANT_STATE_LABELS = {
    G.ACTIVE: _l("Active"),
    G.SUSPENDED: _l("Suspended"),
    G.CLOSING: _l("Closing"),
    G.CLOSED: _l("Closed"),
    G.TERMINATED: _l("Terminated"),
}
TRANCHE_STATE_LABELS = {
    T.SCHEDULED: _l("Scheduled"),
    T.RELEASE_REQUESTED: _l("Release requested"),
    T.APPROVED: _l("Release approved"),
    T.PAID: _l("Paid"),
    T.CANCELLED: _l("Cancelled"),
}
# The words of a grant's page for each release of a tranche.
DISBURSEMENT_STATE_LABELS = {
    D.REQUESTED: _l("Release requested"),
    D.APPROVED: _l("Release approved"),
    D.PAID: _l("Paid"),
    D.REJECTED: _l("Release refused"),
}
REPORT_STATE_LABELS = {
    R.SUBMITTED: _l("Submitted"),
    R.ACCEPTED: _l("Accepted"),
    R.RETURNED: _l("Returned with comments"),
}
PAYMENT_METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.MOBILE_MONEY: _l("Mobile money"),
    PaymentMethod.CASH_AGENT: _l("Cash via agent"),
}
RISK_LABELS = {RiskLevel.LOW: _l("Low"), RiskLevel.MEDIUM: _l("Medium"), RiskLevel.HIGH: _l("High")}


def check_grant_transition(current: str, target: str) -> None:
    check_transition(GRANT_TRANSITIONS, current, target, GRANT_STATE_LABELS)


def check_tranche_transition(current: str, target: str) -> None:
    check_transition(TRANCHE_TRANSITIONS, current, target, TRANCHE_STATE_LABELS)


def check_disbursement_transition(current: str, target: str) -> None:
    check_transition(DISBURSEMENT_TRANSITIONS, current, target, DISBURSEMENT_STATE_LABELS)


def check_report_transition(current: str, target: str) -> None:
    check_transition(REPORT_TRANSITIONS, current, target, REPORT_STATE_LABELS)
