"""A grant's state changes: suspended, resumed, closing, terminated, closed."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...ledger import rules as ledger_rules
from ...ledger import services as ledger
from ...ledger.models import TransactionKind
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, ValidationFailed
from ...platform.money import Money
from ...platform.permissions import require
from ...platform.time import now_utc
from .. import rules
from ..models import Grant, Tranche
from ..queries import reports_of, tranches_of
from ..rules import GrantState, ReportKind, ReportState, TrancheState
from ._common import flush_guarded, lock_grant


def change_state(
    session: Session,
    actor: User,
    grant: Grant,
    target: str,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> Grant:
    """Suspend, resume, start closing or terminate a grant, with a reason."""
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    if target == GrantState.CLOSED:
        raise InvalidTransition(_("Close a grant through its closure."))
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Say why."))
    grant = lock_grant(session, grant)
    rules.check_grant_transition(grant.state, target)
    if target in (GrantState.CLOSING, GrantState.TERMINATED) and session.scalar(
        select(func.count())
        .select_from(Tranche)
        .where(
            Tranche.grant_id == grant.id,
            Tranche.state.in_([TrancheState.RELEASE_REQUESTED, TrancheState.APPROVED]),
        )
    ):
        raise InvalidTransition(_("A release is waiting: approve, pay or refuse it first."))
    before = grant.state
    if target == GrantState.TERMINATED:
        _release_remaining(session, actor, grant, reason)
        grant.closed_at = now
    grant.state = GrantState(target)
    flush_guarded(session)
    record_event(
        session,
        actor,
        f"grant.{target}",
        grant,
        at=now,
        before={"state": before},
        after={"state": target, "reason": reason.strip()},
    )
    return grant


def _release_remaining(session: Session, actor: User, grant: Grant, reason: str) -> None:
    """Cancel scheduled tranches and give the unpaid commitment back to the fund."""
    for t in tranches_of(session, grant):
        if t.state == TrancheState.SCHEDULED:
            t.state = TrancheState.CANCELLED
    fund = grant.fund
    remaining = ledger.balance_of(session, fund, ledger_rules.grant_committed_account(grant.id))
    if remaining.amount_minor > 0:
        ledger.post_transaction(
            session,
            fund,
            TransactionKind.COMMITMENT_RELEASE,
            [
                (ledger_rules.FUND_AVAILABLE, remaining.amount_minor),
                (ledger_rules.grant_committed_account(grant.id), -remaining.amount_minor),
            ],
            actor,
            description=f"grant {grant.id}: {reason.strip()}"[:500],
        )


def close_grant(
    session: Session,
    actor: User,
    grant: Grant,
    *,
    returned: Money | None = None,
    now: dt.datetime | None = None,
) -> Grant:
    """Close a grant that is closing: its final narrative and financial reports accepted,
    money the partner returns posted back to the fund, the unpaid commitment released."""
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    grant = lock_grant(session, grant)
    rules.check_grant_transition(grant.state, GrantState.CLOSED)
    reports = reports_of(session, grant)
    accepted_final = {r.kind for r in reports if r.final and r.state == ReportState.ACCEPTED}
    if accepted_final != {ReportKind.NARRATIVE.value, ReportKind.FINANCIAL.value}:
        raise InvalidTransition(
            _("A grant closes once its final narrative and financial reports are accepted.")
        )
    if any(r.state == ReportState.SUBMITTED for r in reports):
        raise InvalidTransition(_("A report is waiting to be reviewed."))
    fund = grant.fund
    if returned is not None and returned.amount_minor > 0:
        if returned.currency != grant.currency:
            raise ValidationFailed.single("returned", _("Enter the amount in the fund's currency."))
        paid = ledger.balance_of(session, fund, ledger_rules.grant_paid_account(grant.id))
        if returned > paid:
            raise ValidationFailed.single(
                "returned", _("More cannot be returned than was paid (%(paid)s).", paid=str(paid))
            )
        ledger.post_transaction(
            session,
            fund,
            TransactionKind.PARTNER_RETURN,
            [
                (ledger_rules.FUND_AVAILABLE, returned.amount_minor),
                (ledger_rules.grant_paid_account(grant.id), -returned.amount_minor),
            ],
            actor,
            description=f"grant {grant.id}: unspent balance returned",
        )
    _release_remaining(session, actor, grant, "closure")
    grant.closed_at = now
    grant.state = GrantState.CLOSED
    flush_guarded(session)
    record_event(
        session,
        actor,
        "grant.close",
        grant,
        at=now,
        after={"returned": str(returned) if returned else None},
    )
    return grant
