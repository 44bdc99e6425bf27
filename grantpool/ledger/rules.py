"""Pure ledger rules: account codes, which accounts may never go below zero, balance."""

from __future__ import annotations

import re
from collections.abc import Iterable

FUND_AVAILABLE = "fund:available"
FUND_COSTS = "fund:costs"

_CODE = re.compile(
    r"fund:available|fund:costs|donor:\d+|grant:[A-Za-z0-9_.\-]{1,40}:(committed|paid)"
)
_GUARDED = re.compile(r"fund:available|grant:[A-Za-z0-9_.\-]{1,40}:committed")


def donor_account(donor_id: int) -> str:
    return f"donor:{donor_id}"


def grant_committed_account(grant_ref: str | int) -> str:
    return f"grant:{grant_ref}:committed"


def grant_paid_account(grant_ref: str | int) -> str:
    return f"grant:{grant_ref}:paid"


def is_valid_account_code(code: str) -> bool:
    return bool(_CODE.fullmatch(code))


def must_stay_non_negative(code: str) -> bool:
    """fund:available and every grant:G:committed never go below zero."""
    return bool(_GUARDED.fullmatch(code))


def is_balanced(amounts: Iterable[int]) -> bool:
    return sum(amounts) == 0


def net_by_account(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    net: dict[str, int] = {}
    for code, amount in lines:
        net[code] = net.get(code, 0) + amount
    return net


def _kind_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {
        "contribution": _("Contribution"),
        "donor_refund": _("Refund to a donor"),
        "grant_commitment": _("Grant committed"),
        "commitment_release": _("Commitment released"),
        "tranche_payment": _("Tranche paid"),
        "partner_return": _("Returned by a partner"),
        "fund_cost": _("Fund cost"),
        "reversal": _("Reversal"),
    }


def kind_label(kind: str) -> str:
    """A ledger transaction's kind in the reader's words (the code where none is known)."""
    return _kind_labels().get(kind, kind)
