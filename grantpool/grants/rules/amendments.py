"""What an amendment changes, worked out from the grant as it stands and the request, with
no database: `plan_amendment` returns the plan the service applies, or refuses with the
reason in plain words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from ...platform.errors import InvalidTransition, ValidationFailed
from ...platform.money import Money
from .conditions import normalise_conditions
from .schedule import PlannedTranche, check_schedule_adds_up
from .states import GrantState, TrancheState

if TYPE_CHECKING:
    from ..commands import AmendmentRequest

AMENDABLE = frozenset({GrantState.ACTIVE, GrantState.SUSPENDED})
# A tranche whose money is on its way cannot change any more.
RELEASED = frozenset({TrancheState.RELEASE_REQUESTED, TrancheState.APPROVED, TrancheState.PAID})


@dataclass(frozen=True)
class CurrentTranche:
    number: int
    amount: Money
    due_on: dt.date
    conditions: Mapping[str, Any]
    state: str


@dataclass(frozen=True)
class GrantTerms:
    """A grant as it stands: what an amendment starts from."""

    state: str
    amount: Money
    start_on: dt.date
    end_on: dt.date
    tranches: tuple[CurrentTranche, ...]

    @property
    def released(self) -> frozenset[int]:
        return frozenset(t.number for t in self.tranches if t.state in RELEASED)


@dataclass(frozen=True)
class AmendmentPlan:
    """The grant after the amendment: its amount and end, the tranches to add or change
    (numbers not on the grant yet are added; released ones are listed unchanged and left
    alone), and the scheduled tranches to cancel."""

    reason: str
    amount: Money
    end_on: dt.date
    tranches: tuple[PlannedTranche, ...]
    cancelled: frozenset[int]
    released: frozenset[int]
    difference_minor: int  # more (> 0) or less (< 0) money committed to the grant


def plan_amendment(terms: GrantTerms, request: AmendmentRequest) -> AmendmentPlan:
    """The plan of an amendment, or ValidationFailed / InvalidTransition saying why not.

    Tranches already requested, approved or paid must appear unchanged; scheduled ones
    left out are cancelled. When only the amount changes, the last scheduled tranche
    absorbs the difference."""
    reason = (request.reason or "").strip()
    if not reason:
        raise ValidationFailed.single("reason", _("Say why the grant is amended."))
    if terms.state not in AMENDABLE:
        raise InvalidTransition(_("Only an active or suspended grant can be amended."))
    currency = terms.amount.currency
    amount = request.amount if request.amount is not None else terms.amount
    if amount.currency != currency or amount.amount_minor <= 0:
        raise ValidationFailed.single("amount", _("Enter an amount greater than zero."))
    end_on = request.end_on or terms.end_on
    if end_on < terms.start_on:
        raise ValidationFailed.single("end_on", _("The grant must end after it starts."))
    difference = amount.amount_minor - terms.amount.amount_minor
    released = terms.released
    wanted = (
        _schedule_absorbing(terms, difference) if request.tranches is None else request.tranches
    )

    by_number = {t.number: t for t in terms.tranches}
    errors: dict[str, str] = {}
    seen: set[int] = set()
    planned: list[PlannedTranche] = []
    for spec in wanted:
        number = spec.number
        if number < 1 or number in seen:
            errors["tranches"] = _("Each tranche has its own number.")
            continue
        seen.add(number)
        if spec.amount.currency != currency:
            errors["tranches"] = _("Give each tranche an amount in %(c)s.", c=currency)
            continue
        conditions = normalise_conditions(spec.conditions or {"all": []}, tranche_number=number)
        existing = by_number.get(number)
        if (
            number in released
            and existing is not None
            and (spec.amount != existing.amount or conditions != existing.conditions)
        ):
            errors["tranches"] = _(
                "Tranche %(n)s has already been released and cannot change.", n=number
            )
            continue
        if existing is not None and existing.state == TrancheState.CANCELLED:
            errors["tranches"] = _("Tranche %(n)s was cancelled; add a new one.", n=number)
            continue
        planned.append(PlannedTranche(number, spec.amount, spec.due_on, conditions))
    if released - seen:
        errors["tranches"] = _("Released tranches must stay in the schedule.")
    if errors:
        raise ValidationFailed(errors)
    check_schedule_adds_up([p.amount for p in planned], amount)

    cancelled = frozenset(
        t.number
        for t in terms.tranches
        if t.number not in seen and t.state == TrancheState.SCHEDULED
    )
    plan = AmendmentPlan(
        reason=reason,
        amount=amount,
        end_on=end_on,
        tranches=tuple(planned),
        cancelled=cancelled,
        released=released,
        difference_minor=difference,
    )
    if not _changes_anything(terms, plan):
        raise ValidationFailed.single("", _("Nothing has changed."))
    return plan


def _schedule_absorbing(terms: GrantTerms, difference: int) -> list[PlannedTranche]:
    """The schedule as it is, the last scheduled tranche taking a change of the amount."""
    live = [
        PlannedTranche(t.number, t.amount, t.due_on, dict(t.conditions))
        for t in terms.tranches
        if t.state != TrancheState.CANCELLED
    ]
    if difference:
        open_ = [i for i, t in enumerate(live) if t.number not in terms.released]
        if not open_:
            raise ValidationFailed.single(
                "amount", _("Every tranche has been released: add a tranche for the change.")
            )
        last = live[open_[-1]]
        live[open_[-1]] = PlannedTranche(
            last.number,
            Money(last.amount.amount_minor + difference, last.amount.currency),
            last.due_on,
            last.conditions,
        )
    return live


def _changes_anything(terms: GrantTerms, plan: AmendmentPlan) -> bool:
    if plan.amount != terms.amount or plan.end_on != terms.end_on or plan.cancelled:
        return True
    by_number = {t.number: t for t in terms.tranches}
    for tranche in plan.tranches:
        existing = by_number.get(tranche.number)
        if existing is None:
            return True
        if tranche.number in plan.released:
            continue  # left as it is
        if (tranche.amount, tranche.due_on, tranche.conditions) != (
            existing.amount,
            existing.due_on,
            existing.conditions,
        ):
            return True
    return False
