"""Amending a grant: end date, tranches or amount."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...ledger import rules as ledger_rules
from ...ledger import services as ledger
from ...ledger.models import LedgerTransaction, TransactionKind
from ...platform.audit import record_event
from ...platform.money import Money
from ...platform.permissions import require
from ...platform.time import now_utc
from .. import rules
from ..commands import AmendmentRequest
from ..models import Amendment, Grant, Tranche
from ..queries import tranches_of
from ..rules import TrancheState
from ._common import flush_guarded, lock_fund, lock_grant
from .agreements import issue_agreement


def _grant_snapshot(grant: Grant, tranches: Iterable[Tranche]) -> dict[str, Any]:
    return {
        "amount_minor": grant.amount_minor,
        "end_on": grant.end_on.isoformat(),
        "tranches": [
            {
                "number": t.number,
                "amount_minor": t.amount_minor,
                "due_on": t.due_on.isoformat(),
                "conditions": t.conditions,
                "state": t.state,
            }
            for t in tranches
        ],
    }


def amend_grant(
    session: Session,
    actor: User,
    grant: Grant,
    request: AmendmentRequest,
    *,
    now: dt.datetime | None = None,
) -> Amendment:
    """Change the end date, the tranches (amounts, dates, conditions) or the grant amount
    (see rules.plan_amendment for what may change). An increase commits more money
    (InsufficientFunds if the fund lacks it); a decrease releases commitment back to the
    fund. A new agreement version is issued."""
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    grant = lock_grant(session, grant)
    fund = grant.fund
    lock_fund(session, fund)
    current = list(
        session.scalars(
            select(Tranche)
            .where(Tranche.grant_id == grant.id)
            .order_by(Tranche.number)
            .with_for_update(of=Tranche)
            .execution_options(populate_existing=True)
        )
    )
    plan = rules.plan_amendment(_terms(grant, current), request)
    before = _grant_snapshot(grant, current)
    transaction = _post_difference(session, actor, grant, plan)
    _apply(session, grant, current, plan)
    flush_guarded(session)
    after = _grant_snapshot(grant, tranches_of(session, grant))
    number = (
        session.scalar(select(func.max(Amendment.number)).where(Amendment.grant_id == grant.id))
        or 0
    ) + 1
    amendment = Amendment(
        grant_id=grant.id,
        number=number,
        reason=plan.reason,
        before=before,
        after=after,
        amended_by_id=actor.id,
        amended_at=now,
        transaction_id=transaction.id if transaction is not None else None,
    )
    session.add(amendment)
    session.flush()
    record_event(
        session,
        actor,
        "grant.amend",
        grant,
        at=now,
        before=before,
        after={**after, "reason": amendment.reason, "amendment": number},
    )
    issue_agreement(session, actor, grant, amendment=amendment)
    return amendment


def _terms(grant: Grant, tranches: Iterable[Tranche]) -> rules.GrantTerms:
    return rules.GrantTerms(
        state=grant.state,
        amount=grant.amount,
        start_on=grant.start_on,
        end_on=grant.end_on,
        tranches=tuple(
            rules.CurrentTranche(t.number, t.amount, t.due_on, t.conditions, t.state)
            for t in tranches
        ),
    )


def _post_difference(
    session: Session, actor: User, grant: Grant, plan: rules.AmendmentPlan
) -> LedgerTransaction | None:
    """Commit more money to the grant, or give the part no longer needed back to the fund."""
    difference = plan.difference_minor
    if difference > 0:
        return ledger.commit_to_grant(
            session, grant.fund, grant.id, Money(difference, grant.currency), actor
        )
    if difference < 0:
        return ledger.post_transaction(
            session,
            grant.fund,
            TransactionKind.COMMITMENT_RELEASE,
            [
                (ledger_rules.FUND_AVAILABLE, -difference),
                (ledger_rules.grant_committed_account(grant.id), difference),
            ],
            actor,
            description=f"grant {grant.id} amended: {plan.reason}"[:500],
        )
    return None


def _apply(
    session: Session, grant: Grant, current: list[Tranche], plan: rules.AmendmentPlan
) -> None:
    by_number = {t.number: t for t in current}
    for planned in plan.tranches:
        existing = by_number.get(planned.number)
        if existing is None:
            session.add(
                Tranche(
                    grant_id=grant.id,
                    number=planned.number,
                    amount_minor=planned.amount.amount_minor,
                    currency=grant.currency,
                    due_on=planned.due_on,
                    conditions=planned.conditions,
                    state=TrancheState.SCHEDULED.value,
                )
            )
        elif existing.number not in plan.released:
            existing.amount_minor = planned.amount.amount_minor
            existing.due_on = planned.due_on
            existing.conditions = planned.conditions
    for tranche in current:
        if tranche.number in plan.cancelled:
            tranche.state = TrancheState.CANCELLED
    grant.amount_minor = plan.amount.amount_minor
    grant.end_on = plan.end_on
