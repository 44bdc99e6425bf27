"""Pure ledger rules: account codes, which accounts may never go below zero, balance."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# An account code names one account of a fund:
#   fund:available, fund:costs     the fund's own money (unspent; retained for costs)
#   donor:<donor id>               a donor's account (contributions, refunds)
#   grant:<ref>:committed          money committed to a grant and not yet paid
#   grant:<ref>:paid               money paid out on a grant
# The grant reference is usually the grant's id; the ledger takes any short reference of
# letters, digits and _ . - (never : or %), so a code splits on ":" unambiguously and a
# SQL LIKE pattern can leave the reference open.


class AccountKind(StrEnum):
    FUND = "fund"
    DONOR = "donor"
    GRANT = "grant"


AVAILABLE = "available"
COSTS = "costs"
COMMITTED = "committed"
PAID = "paid"
FUND_PARTS = (AVAILABLE, COSTS)
GRANT_PARTS = (COMMITTED, PAID)

FUND_AVAILABLE = f"{AccountKind.FUND}:{AVAILABLE}"
FUND_COSTS = f"{AccountKind.FUND}:{COSTS}"

_CODE = re.compile(
    r"fund:(?P<fund_part>available|costs)"
    r"|donor:(?P<donor>[0-9]+)"
    r"|grant:(?P<grant>[A-Za-z0-9_.\-]{1,40}):(?P<grant_part>committed|paid)"
)


@dataclass(frozen=True)
class AccountCode:
    """An account code taken apart: its kind, the reference (donor or grant; empty for
    the fund's own accounts) and the part (available/costs, committed/paid; empty for a
    donor)."""

    kind: AccountKind
    ref: str = ""
    part: str = ""

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind.value, self.ref, self.part) if p)

    @property
    def number(self) -> int | None:
        """The reference as a row id: always for a donor, for a grant named by its id."""
        return int(self.ref) if self.ref.isascii() and self.ref.isdigit() else None

    @property
    def is_fund_available(self) -> bool:
        return self.kind == AccountKind.FUND and self.part == AVAILABLE

    @property
    def is_fund_costs(self) -> bool:
        return self.kind == AccountKind.FUND and self.part == COSTS

    @property
    def is_grant_committed(self) -> bool:
        return self.kind == AccountKind.GRANT and self.part == COMMITTED

    @property
    def is_grant_paid(self) -> bool:
        return self.kind == AccountKind.GRANT and self.part == PAID


def parse_account_code(code: str) -> AccountCode:
    """The parts of an account code; ValueError when it is not one."""
    match = _CODE.fullmatch(code)
    if match is None:
        raise ValueError(f"not a ledger account code: {code!r}")
    if match["fund_part"]:
        return AccountCode(AccountKind.FUND, "", match["fund_part"])
    if match["donor"]:
        return AccountCode(AccountKind.DONOR, match["donor"])
    return AccountCode(AccountKind.GRANT, match["grant"], match["grant_part"])


def account_code_affixes(kind: AccountKind, part: str = "") -> tuple[str, str]:
    """What comes before and after the reference in the codes of a kind (and part), for
    building a code in SQL from a column: ("grant:", ":committed"), ("donor:", "")."""
    if kind == AccountKind.DONOR and not part:
        return f"{kind}:", ""
    if kind == AccountKind.GRANT and part in GRANT_PARTS:
        return f"{kind}:", f":{part}"
    raise ValueError(f"no account codes of kind {kind!r} and part {part!r} take a reference")


def account_code_pattern(kind: AccountKind, part: str = "") -> str:
    """A SQL LIKE pattern matching every code of a kind (and part), whatever the
    reference: donor:%, grant:%:paid."""
    prefix, suffix = account_code_affixes(kind, part)
    return f"{prefix}%{suffix}"


def donor_account(donor_id: int) -> str:
    return f"donor:{donor_id}"


def grant_committed_account(grant_ref: str | int) -> str:
    return f"grant:{grant_ref}:committed"


def grant_paid_account(grant_ref: str | int) -> str:
    return f"grant:{grant_ref}:paid"


def is_valid_account_code(code: str) -> bool:
    return _CODE.fullmatch(code) is not None


def must_stay_non_negative(code: str) -> bool:
    """fund:available and every grant:G:committed never go below zero."""
    if not is_valid_account_code(code):
        return False
    parsed = parse_account_code(code)
    return parsed.is_fund_available or parsed.is_grant_committed


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
