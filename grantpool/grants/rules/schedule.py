"""Tranche templates and the schedule planned from them; how long the money took."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from ...platform.errors import ValidationFailed
from ...platform.money import Money
from .conditions import is_group, normalise_conditions
from .states import RiskLevel

# A template is data: a list of tranches, each with a share (percent, weights for
# Money.allocate), a due date as days after the grant's start, and conditions in which
# date_reached may say "offset_days" instead of a date and report tranches are numbers.
DEFAULT_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    RiskLevel.LOW: [
        {"percent": 60, "offset_days": 0, "conditions": {"all": []}},
        {
            "percent": 40,
            "offset_days": 180,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 180},
                    {"type": "report_accepted", "kind": "narrative", "tranche": 1},
                ]
            },
        },
    ],
    RiskLevel.MEDIUM: [
        {"percent": 40, "offset_days": 0, "conditions": {"all": []}},
        {
            "percent": 30,
            "offset_days": 120,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 120},
                    {"type": "report_accepted", "kind": "financial", "tranche": 1},
                ]
            },
        },
        {
            "percent": 30,
            "offset_days": 240,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 240},
                    {"type": "report_accepted", "kind": "narrative", "tranche": 2},
                    {"type": "report_accepted", "kind": "financial", "tranche": 2},
                ]
            },
        },
    ],
    RiskLevel.HIGH: [
        {
            "percent": 25,
            "offset_days": 0,
            "conditions": {"all": [{"type": "document_provided", "kind": "bank account letter"}]},
        },
        *[
            {
                "percent": 25,
                "offset_days": 90 * n,
                "conditions": {
                    "all": [
                        {"type": "date_reached", "offset_days": 90 * n},
                        {"type": "report_accepted", "kind": "narrative", "tranche": n},
                        {"type": "report_accepted", "kind": "financial", "tranche": n},
                        {"type": "previous_spent_at_least", "percent": 70},
                    ]
                },
            }
            for n in (1, 2, 3)
        ],
    ],
}


def validate_template(tranches: Any) -> list[dict[str, Any]]:
    """A clean copy of a template's tranche list, or ValidationFailed."""
    if not isinstance(tranches, list) or not 1 <= len(tranches) <= 12:
        raise ValidationFailed.single("tranches", _("A template has from 1 to 12 tranches."))
    clean: list[dict[str, Any]] = []
    for number, spec in enumerate(tranches, start=1):
        if not isinstance(spec, dict):
            raise ValidationFailed.single("tranches", _("Each tranche must be an object."))
        percent = spec.get("percent")
        offset = spec.get("offset_days", 0)
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
            raise ValidationFailed.single(
                "tranches", _("Each tranche's share is a whole percentage from 1 to 100.")
            )
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 3650:
            raise ValidationFailed.single(
                "tranches", _("Days after the start are a whole number from 0 to 3650.")
            )
        # Check the conditions with a stand-in date where the template uses offsets.
        probe = _resolve_offsets(spec.get("conditions") or {"all": []}, dt.date(2000, 1, 1))
        normalise_conditions(probe, tranche_number=number)
        clean.append(
            {
                "percent": percent,
                "offset_days": offset,
                "conditions": spec.get("conditions") or {"all": []},
            }
        )
    if sum(t["percent"] for t in clean) != 100:
        raise ValidationFailed.single("tranches", _("The tranches' shares must add up to 100%."))
    return clean


def _resolve_offsets(node: Any, start: dt.date) -> Any:
    if isinstance(node, dict) and is_group(node):
        op = "all" if "all" in node else "any"
        return {op: [_resolve_offsets(child, start) for child in node[op]]}
    if isinstance(node, dict) and node.get("type") == "date_reached" and "offset_days" in node:
        leaf = {k: v for k, v in node.items() if k != "offset_days"}
        leaf["date"] = (start + dt.timedelta(days=int(node["offset_days"]))).isoformat()
        return leaf
    return node


@dataclass(frozen=True)
class PlannedTranche:
    number: int
    amount: Money
    due_on: dt.date
    conditions: dict[str, Any]


def plan_schedule(
    template: list[dict[str, Any]], amount: Money, start: dt.date
) -> list[PlannedTranche]:
    """The tranches of a grant from a template: amounts add up exactly to the grant."""
    shares = amount.allocate([int(spec["percent"]) for spec in template])
    return [
        PlannedTranche(
            number=n,
            amount=share,
            due_on=start + dt.timedelta(days=int(spec.get("offset_days", 0))),
            conditions=normalise_conditions(
                _resolve_offsets(spec.get("conditions") or {"all": []}, start), tranche_number=n
            ),
        )
        for n, (spec, share) in enumerate(zip(template, shares, strict=True), start=1)
    ]


def check_schedule_adds_up(amounts: Iterable[Money], total: Money) -> None:
    amounts = list(amounts)
    added = sum((a.amount_minor for a in amounts), 0)
    if any(a.amount_minor <= 0 for a in amounts):
        raise ValidationFailed.single("tranches", _("Every tranche needs an amount above zero."))
    if added != total.amount_minor:
        raise ValidationFailed.single(
            "tranches",
            _(
                "The tranches add up to %(sum)s but the grant is %(total)s.",
                sum=str(Money(added, total.currency)),
                total=str(total),
            ),
        )


# --- timeliness -----------------------------------------------------------------------------


def days_between(start: dt.date | None, end: dt.date | None) -> int | None:
    if start is None or end is None:
        return None
    return max((end - start).days, 0)


def spent_percent(spent: Money, of: Money) -> Decimal:
    if of.amount_minor <= 0:
        return Decimal(0)
    return (Decimal(spent.amount_minor) * 100 / Decimal(of.amount_minor)).quantize(Decimal("0.01"))
