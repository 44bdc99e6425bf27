"""Small-cell protection for published aggregates, decided without a database.

A figure that stands for fewer than `min_cell` grants could single one partner out, and
so could a small figure worked out by subtracting the shown rows from a shown total. So
the rows of a breakdown below the threshold are merged into one "other or withheld" row
(which also holds the grants that are counted only in totals: withdrawn, embargoed,
flagged or not to be published), and while that row itself is below the threshold the
next smallest row joins it. A breakdown that cannot be made safe is withheld whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

# The key of the row that holds merged small cells and grants counted only in totals.
WITHHELD = "withheld"


@dataclass(frozen=True)
class Slice:
    key: str
    committed: int
    disbursed: int
    grants: int
    # True when the figures must not be shown (they stand for too few grants).
    withheld: bool = False


def protect_total(total: Slice, min_cell: int) -> Slice:
    """A total standing for fewer than `min_cell` grants (but some) is withheld."""
    if 0 < total.grants < min_cell:
        return replace(total, withheld=True)
    return total


def protect_breakdown(
    rows: Iterable[Slice], min_cell: int, *, overlapping: bool = False
) -> list[Slice]:
    """The rows of one breakdown, safe to publish. `overlapping` breakdowns (a grant may
    count in several rows, as in leadership) get no merged row: small rows are dropped,
    because a sum of overlapping rows means nothing."""
    rows = sorted(rows, key=lambda s: (-s.committed, s.key))
    if overlapping:
        return [s for s in rows if s.key != WITHHELD and s.grants >= min_cell]
    shown = [s for s in rows if s.key != WITHHELD and s.grants >= min_cell]
    merged = [s for s in rows if s.key == WITHHELD or s.grants < min_cell]
    # A merged row below the threshold could be found by subtraction: widen it.
    while merged and sum(s.grants for s in merged) < min_cell and shown:
        merged.append(
            shown.pop(min(range(len(shown)), key=lambda i: (shown[i].grants, shown[i].committed)))
        )
    if not merged:
        return shown
    other = Slice(
        WITHHELD,
        sum(s.committed for s in merged),
        sum(s.disbursed for s in merged),
        sum(s.grants for s in merged),
    )
    if other.grants < min_cell:
        # Nothing left to merge with: the whole breakdown stands for too few grants.
        return [replace(other, withheld=True)]
    return [*shown, other]
