"""Four-eyes decisions: one fund manager proposes to award or decline, another confirms
(the money is committed and the applicant told) or rejects."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...calls.models import Call
from ...intake.models import Application
from ...intake.rules import ApplicationState
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ...platform.i18n import current_locale
from ...platform.money import Money, format_money
from ...platform.time import now_utc
from ..commands import DecisionProposal, DecisionRejection
from ..models import Decision
from ..queries import awarded_total, open_decision, settings_of
from ..rules import DecisionKind, DecisionState, compose_feedback
from ..signals import decision_confirmed
from ._common import NOTE_MAX, set_application_state
from .notifications import notify_applicant

if TYPE_CHECKING:
    from ...grants.models import Grant


def _check_envelope(session: Session, call: Call, amount: Money) -> None:
    awarded = awarded_total(session, call)
    if awarded + amount > call.budget:
        left = call.budget - awarded
        raise InvalidTransition(
            _(
                "This award would take the call past its budget envelope of %(budget)s: "
                "%(awarded)s is already awarded, so at most %(left)s remains.",
                budget=format_money(call.budget, current_locale()),
                awarded=format_money(awarded, current_locale()),
                left=format_money(left, current_locale()),
            )
        )


def _award_amount(session: Session, call: Call, proposal: DecisionProposal, reason: str) -> Money:
    """The amount of an award with its reasons, within the call's bounds and envelope."""
    errors: dict[str, str] = {}
    amount: Money | None = None
    if not reason:
        errors["reason"] = _("Give the reasons for this award.")
    if proposal.amount_minor is None:
        errors["amount"] = _("Enter the amount to award.")
    else:
        amount = Money(proposal.amount_minor, call.currency)
        if not call.min_request <= amount <= call.max_request:
            errors["amount"] = _(
                "Award between %(min)s and %(max)s.",
                min=format_money(call.min_request, current_locale()),
                max=format_money(call.max_request, current_locale()),
            )
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None
    _check_envelope(session, call, amount)
    return amount


def _decline_feedback(
    session: Session, application: Application, proposal: DecisionProposal
) -> tuple[list[str], str]:
    """The call's decline reasons that were chosen, and the feedback the applicant reads
    (those reasons in its language, then the manager's words), which may not be empty."""
    reasons = settings_of(session, application.call).decline_reasons
    known = {r["key"] for r in reasons}
    chosen = [k for k in proposal.reason_keys if k in known]
    feedback = compose_feedback(reasons, chosen, proposal.feedback_text, application.language)
    if not feedback:
        raise ValidationFailed.single(
            "feedback_text",
            _("Choose at least one reason or write feedback the applicant can use."),
        )
    return chosen, feedback


def propose_decision(
    session: Session,
    actor: User,
    application: Application,
    proposal: DecisionProposal,
    *,
    now: dt.datetime | None = None,
) -> Decision:
    """A fund manager proposes to award (an amount within the call's bounds that keeps the
    call within its envelope) or to decline (with feedback in the applicant's language);
    another manager confirms."""
    now = now or now_utc()
    call = application.call
    if application.state != ApplicationState.IN_REVIEW:
        raise InvalidTransition(_("Only an application under review can be decided."))
    if open_decision(session, application) is not None:
        raise InvalidTransition(_("A decision on this application is already proposed."))
    kind = DecisionKind(proposal.kind)
    reason = proposal.reason.strip()
    amount: Money | None = None
    feedback: str | None = None
    if kind == DecisionKind.AWARD:
        amount = _award_amount(session, call, proposal, reason)
        reason_keys = list(proposal.reason_keys)
    else:
        reason_keys, feedback = _decline_feedback(session, application, proposal)
        reason = reason or feedback
    decision = Decision(
        application_id=application.id,
        kind=kind.value,
        state=DecisionState.PROPOSED.value,
        amount_minor=amount.amount_minor if amount is not None else None,
        currency=call.currency,
        reason=reason[:NOTE_MAX],
        reason_keys=reason_keys,
        feedback=feedback,
        language=application.language,
        proposed_by_id=actor.id,
        proposed_at=now,
    )
    session.add(decision)
    session.flush()
    record_event(
        session,
        actor,
        "decision.propose",
        decision,
        after={
            "application_id": application.id,
            "kind": kind.value,
            "amount_minor": decision.amount_minor,
            "reason": decision.reason,
        },
        at=now,
    )
    return decision


def commit_award(session: Session, actor: User, application: Application, amount: Money) -> Grant:
    """Put money behind a confirmed award: the grant is created and its amount committed
    in the ledger, in the fund's currency at the call's stated rate. Raises
    InsufficientFunds, having written nothing, when the fund cannot cover it."""
    from ...grants.rules import RiskLevel
    from ...grants.services import create_grant

    call = application.call
    template = (call.tranche_template or "").strip().lower()
    risk = template if template in {r.value for r in RiskLevel} else RiskLevel.MEDIUM.value
    return create_grant(
        session,
        actor,
        application,
        call.in_base_currency(amount),
        risk_level=risk,
        language=application.language,
    )


def confirm_decision(
    session: Session, actor: User, decision: Decision, now: dt.datetime | None = None
) -> Decision:
    """A second fund manager confirms: the application is awarded (and the money
    committed) or declined, and the applicant is told in its language."""
    now = now or now_utc()
    _check_second_person(actor, decision)
    application = decision.application
    call = application.call
    # One award at a time per call, so two confirmations cannot both fit the envelope.
    session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    if decision.state != DecisionState.PROPOSED:
        raise InvalidTransition(_("This decision has already been confirmed or rejected."))
    if decision.kind == DecisionKind.AWARD:
        amount = decision.amount
        assert amount is not None
        _check_envelope(session, call, amount)
        # First the money: when the fund cannot cover it, nothing else has changed.
        commit_award(session, actor, application, amount)
        set_application_state(session, actor, application, ApplicationState.AWARDED.value, now)
    else:
        set_application_state(session, actor, application, ApplicationState.DECLINED.value, now)
    decision.state = DecisionState.CONFIRMED
    decision.decided_by_id = actor.id
    decision.decided_at = now
    session.flush()
    decision_confirmed.send(decision, session=session)
    record_event(
        session,
        actor,
        "decision.confirm",
        decision,
        after={"application_id": application.id, "kind": decision.kind},
        at=now,
    )
    notify_applicant(session, application, decision=decision)
    return decision


def reject_decision(
    session: Session,
    actor: User,
    decision: Decision,
    rejection: DecisionRejection,
    now: dt.datetime | None = None,
) -> Decision:
    """The second manager sends the proposal back; a new one may then be made."""
    now = now or now_utc()
    _check_second_person(actor, decision)
    if decision.state != DecisionState.PROPOSED:
        raise InvalidTransition(_("This decision has already been confirmed or rejected."))
    note = rejection.note.strip()
    if not note:
        raise ValidationFailed.single("note", _("Say why the proposal is rejected."))
    decision.state = DecisionState.REJECTED
    decision.decided_by_id = actor.id
    decision.decided_at = now
    decision.rejection_note = note[:NOTE_MAX]
    session.flush()
    record_event(
        session, actor, "decision.reject", decision, after={"note": decision.rejection_note}, at=now
    )
    return decision


def _check_second_person(actor: User, decision: Decision) -> None:
    if actor.id == decision.proposed_by_id:
        raise NotPermitted(
            _("You proposed this decision. A different fund manager must confirm or reject it.")
        )
