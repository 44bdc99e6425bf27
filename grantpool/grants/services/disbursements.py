"""Releasing a tranche: requested by one person, approved by another, paid and posted to
the ledger. Guarded four ways, because SQLite ignores FOR UPDATE: the tranche row is
locked on PostgreSQL; its version column makes a stale writer fail; a unique partial
index allows one live disbursement per tranche; and idempotency keys turn a retry into
the first answer."""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...ledger import rules as ledger_rules
from ...ledger import services as ledger
from ...ledger.models import LedgerTransaction, TransactionKind
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ...platform.permissions import require
from ...platform.time import now_utc
from .. import rules, signals
from ..commands import PaymentDetails
from ..models import Disbursement, Tranche
from ..rules import DisbursementState, GrantState, TrancheState
from ._common import (
    flush_guarded,
    local_date,
    lock_tranche,
    refresh_disbursement,
    request_fingerprint,
)
from .conditions import evaluate_tranche


def _replayed_release(
    session: Session, actor: User, tranche: Tranche, key: str | None, fingerprint: str
) -> Disbursement | None:
    if not key:
        return None
    earlier = session.scalar(
        select(Disbursement).where(
            Disbursement.requested_by_id == actor.id, Disbursement.idempotency_key == key
        )
    )
    if earlier is None:
        return None
    if earlier.tranche_id != tranche.id or earlier.request_fingerprint != fingerprint:
        raise ValidationFailed(
            {"": [_("This Idempotency-Key was already used for a different request.")]}
        )
    return earlier


def request_release(
    session: Session,
    actor: User,
    tranche: Tranche,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    now: dt.datetime | None = None,
) -> Disbursement:
    """A finance officer asks for a tranche to be paid. Only when its conditions hold or
    are waived; a retry with the same key returns the first request."""
    now = now or now_utc()
    require(actor, "grant.request_release", tranche.grant)
    fingerprint = fingerprint or request_fingerprint(["release", tranche.id])
    tranche = lock_tranche(session, tranche.id)
    earlier = _replayed_release(session, actor, tranche, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier
    grant = tranche.grant
    if grant.state != GrantState.ACTIVE:
        raise InvalidTransition(_("Tranches of a grant that is not active cannot be released."))
    rules.check_tranche_transition(tranche.state, TrancheState.RELEASE_REQUESTED)
    evaluation = evaluate_tranche(session, tranche, now=now)
    if not evaluation.met:
        raise InvalidTransition(
            _("This tranche cannot be released yet. %(why)s", why=evaluation.summary)
        )
    disbursement = Disbursement(
        grant_id=grant.id,
        tranche_id=tranche.id,
        state=DisbursementState.REQUESTED.value,
        amount_minor=tranche.amount_minor,
        currency=tranche.currency,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else None,
        requested_by_id=actor.id,
        requested_at=now,
        conditions_met_on=evaluation.since or local_date(grant.fund, now),
    )
    session.add(disbursement)
    tranche.state = TrancheState.RELEASE_REQUESTED
    flush_guarded(session)
    record_event(
        session,
        actor,
        "tranche.request_release",
        disbursement,
        at=now,
        after={
            "grant_id": grant.id,
            "tranche": tranche.number,
            "amount": str(tranche.amount),
            "conditions": evaluation.summary,
        },
    )
    return disbursement


def approve_release(
    session: Session, actor: User, disbursement: Disbursement, *, now: dt.datetime | None = None
) -> Disbursement:
    """A second person (finance officer or fund manager of the fund) approves."""
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.approve_release", grant)
    if actor.id == disbursement.requested_by_id:
        raise NotPermitted(_("A release must be approved by someone other than its requester."))
    tranche = lock_tranche(session, disbursement.tranche_id)
    disbursement = refresh_disbursement(session, disbursement.id)
    if disbursement.approved_by_id == actor.id and disbursement.state in (
        DisbursementState.APPROVED,
        DisbursementState.PAID,
    ):
        return disbursement  # the same approval sent again
    rules.check_disbursement_transition(disbursement.state, DisbursementState.APPROVED)
    rules.check_tranche_transition(tranche.state, TrancheState.APPROVED)
    disbursement.state = DisbursementState.APPROVED
    disbursement.approved_by_id = actor.id
    disbursement.approved_at = now
    tranche.state = TrancheState.APPROVED
    flush_guarded(session)
    record_event(
        session, actor, "disbursement.approve", disbursement, at=now, after={"grant_id": grant.id}
    )
    return disbursement


def reject_release(
    session: Session,
    actor: User,
    disbursement: Disbursement,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> Disbursement:
    """Refuse a request (or an approved release not yet paid): the tranche goes back on
    the schedule and may be requested again."""
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.approve_release", grant)
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Say why the release is refused."))
    tranche = lock_tranche(session, disbursement.tranche_id)
    disbursement = refresh_disbursement(session, disbursement.id)
    rules.check_disbursement_transition(disbursement.state, DisbursementState.REJECTED)
    disbursement.state = DisbursementState.REJECTED
    disbursement.rejected_by_id = actor.id
    disbursement.rejected_at = now
    disbursement.rejection_reason = reason.strip()
    tranche.state = TrancheState.SCHEDULED
    flush_guarded(session)
    record_event(
        session,
        actor,
        "disbursement.reject",
        disbursement,
        at=now,
        after={"grant_id": grant.id, "reason": reason.strip()},
    )
    return disbursement


def record_payment(
    session: Session,
    actor: User,
    disbursement: Disbursement,
    payment: PaymentDetails,
    *,
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> Disbursement:
    """Record the payment of an approved release and post it: debit grant:G:paid, credit
    grant:G:committed. Recording the same payment again (a double click) changes nothing.
    The amount paid, in another currency, must be worth the tranche at its exchange rate
    (rules.settle_payment)."""
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.record_payment", grant)
    tranche = lock_tranche(session, disbursement.tranche_id)
    disbursement = refresh_disbursement(session, disbursement.id)
    # A client's key is kept on the ledger transaction the payment posts (one per fund):
    # the same key with another body is refused, with the same body it is a replay.
    ledger_key = (
        f"payment-{actor.id}-{idempotency_key}"
        if idempotency_key
        else f"disbursement-{disbursement.id}"
    )
    if idempotency_key:
        fingerprint = fingerprint or request_fingerprint(
            ["payment", disbursement.id, dataclasses.asdict(payment)]
        )
        earlier = session.scalar(
            select(LedgerTransaction).where(
                LedgerTransaction.fund_id == grant.fund_id,
                LedgerTransaction.idempotency_key == ledger_key,
            )
        )
        if earlier is not None:
            if (
                earlier.request_fingerprint != fingerprint
                or disbursement.transaction_id != earlier.id
            ):
                raise ValidationFailed(
                    {"": [_("This Idempotency-Key was already used for a different request.")]}
                )
            return disbursement
    settlement = rules.settle_payment(payment, tranche.amount)
    if (
        disbursement.state == DisbursementState.PAID
        and disbursement.payment_reference == payment.reference
    ):
        return disbursement  # the same payment recorded again: nothing to do
    rules.check_disbursement_transition(disbursement.state, DisbursementState.PAID)
    rules.check_tranche_transition(tranche.state, TrancheState.PAID)
    fund = grant.fund
    transaction = ledger.post_transaction(
        session,
        fund,
        TransactionKind.TRANCHE_PAYMENT,
        [
            (ledger_rules.grant_paid_account(grant.id), tranche.amount_minor),
            (ledger_rules.grant_committed_account(grant.id), -tranche.amount_minor),
        ],
        actor,
        description=f"grant {grant.id} tranche {tranche.number}: {payment.reference}",
        idempotency_key=ledger_key,
        fingerprint=fingerprint
        if idempotency_key
        else request_fingerprint(["payment", disbursement.id, tranche.amount_minor]),
    )
    paid_on = payment.paid_on
    disbursement.state = DisbursementState.PAID
    disbursement.paid_by_id = actor.id
    disbursement.paid_on = paid_on
    disbursement.payment_reference = payment.reference
    disbursement.payment_method = payment.method.value
    disbursement.payment_amount_minor = settlement.amount.amount_minor
    disbursement.payment_currency = settlement.amount.currency
    disbursement.exchange_rate = settlement.rate
    disbursement.transaction_id = transaction.id
    awarded_on = local_date(fund, grant.awarded_at)
    disbursement.days_award_to_payment = rules.days_between(awarded_on, paid_on)
    disbursement.days_conditions_to_payment = rules.days_between(
        disbursement.conditions_met_on, paid_on
    )
    tranche.state = TrancheState.PAID
    first_payment_days_before = grant.days_award_to_first_payment
    if grant.first_paid_on is None or paid_on < grant.first_paid_on:
        grant.first_paid_on = paid_on
        grant.days_award_to_first_payment = rules.days_between(awarded_on, paid_on)
    flush_guarded(session)
    signals.disbursement_paid.send(
        disbursement,
        session=session,
        grant=grant,
        first_payment_days_before=first_payment_days_before,
    )
    record_event(
        session,
        actor,
        "disbursement.pay",
        disbursement,
        at=now,
        after={
            "grant_id": grant.id,
            "tranche": tranche.number,
            "reference": payment.reference,
            "method": payment.method.value,
            "paid_on": paid_on,
            "payment_amount": str(settlement.amount),
            "exchange_rate": settlement.rate,
            "transaction_id": transaction.id,
            "days_award_to_payment": disbursement.days_award_to_payment,
            "days_conditions_to_payment": disbursement.days_conditions_to_payment,
        },
    )
    return disbursement
