"""The dashboard's figures as named tables: what the page shows, the charts draw, and the
CSV, XLSX and PDF exports write. Pure presentation over figures already summed in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..calls.rules import text_in
from ..organisations.rules import (
    LEADERSHIP_LABELS,
    ORGANISATION_TYPE_LABELS,
    Leadership,
    OrganisationType,
    area_label,
    country_name,
)
from ..platform.money import Money, exponent
from ..publishing.queries import PublicRecord, min_cell
from .cells import WITHHELD
from .queries import SPEED_MEASURES, Dashboard, Slice


@dataclass(frozen=True)
class Share:
    """A proportion, shown as a percentage; None when there is nothing to divide by."""

    value: float | None

    def __str__(self) -> str:
        return "–" if self.value is None else f"{self.value:.1%}"


class Withheld:
    """A cell whose figure stands for too few grants to be published."""

    def __str__(self) -> str:
        return _("withheld")


WITHHELD_CELL = Withheld()


@dataclass(frozen=True)
class Table:
    key: str  # also the export file name
    title: str
    columns: list[str]
    rows: list[list[Any]]  # str, int, float, Money, Share or None
    note: str = ""
    chart: tuple[int, int] | None = None  # (label column, value column) to draw, if any


SPEED_LABELS = {
    "close_to_decision": _l("From call close to decision"),
    "award_to_first_payment": _l("From award to first payment"),
    "conditions_to_payment": _l("From conditions met to payment"),
}

BUDGET_LABELS = {
    "small": _l("Small (annual budget below the threshold)"),
    "not_small": _l("Larger"),
    "unknown": _l("Budget not declared in the fund's currency"),
}


def _label(dimension: str, key: str, board: Dashboard, language: str) -> str:
    if key == WITHHELD:
        return _("Other or withheld")
    if dimension == "call":
        title = board.call_titles.get(int(key)) if key.isdigit() else None
        return text_in(title, language) if title else key
    if dimension == "country":
        return country_name(key) if key else _("Not published")
    if dimension == "area":
        if not key:
            return _("Not published at this precision, or not given")
        # The ISO 3166-2 name with its administrative level, and the country it is in.
        return f"{area_label(key, language)}, {country_name(key[:2])}"
    if dimension == "theme":
        return key or _("Not given")
    if dimension == "org_type":
        try:
            return str(ORGANISATION_TYPE_LABELS[OrganisationType(key)])
        except ValueError:
            return key
    if dimension == "leadership":
        return str(LEADERSHIP_LABELS[Leadership(key)])
    if dimension == "local":
        return _("Local and national actors") if key == "local" else _("Other actors")
    if dimension == "budget":
        return str(BUDGET_LABELS.get(key, key))
    return key


ALLOCATION_TITLES = {
    "call": _l("By call"),
    "country": _l("By country"),
    "area": _l("By sub-national area"),
    "theme": _l("By theme"),
    "org_type": _l("By organisation type"),
    "leadership": _l("By leadership (an organisation may count in several rows)"),
}


def build_tables(board: Dashboard, language: str = "en") -> list[Table]:
    currency = board.fund.base_currency

    def money(minor: int) -> Money:
        return Money(int(minor), currency)

    m = board.money
    tables = [
        Table(
            "money",
            _("Money in the fund"),
            [_("Figure"), _("Amount")],
            [
                [_("Received from donors"), money(m.received)],
                [_("Available to commit"), money(m.available)],
                [_("Committed to grants"), money(m.committed)],
                [_("of which not yet paid"), money(m.outstanding)],
                [_("Disbursed to partners"), money(m.disbursed)],
                [_("Returned to donors"), money(m.refunded)],
                [_("Retained for fund management"), money(m.costs)],
            ]
            + [[_("Pledged (in %(c)s)", c=c), Money(total, c)] for c, total in m.pledged],
            note=(
                _("For the period chosen, these are the money that moved in it, not balances. ")
                if board.filters.start or board.filters.end
                else ""
            )
            + _("Pledges are promises and stay in the currency they were made in."),
        ),
        Table(
            "donors",
            _("By donor"),
            [
                _("Donor"),
                _("Received"),
                _("Received, as given"),
                _("Pledged"),
                _("Returned"),
                _("Share of the pool"),
                _("Share of committed"),
                _("Share of disbursed"),
            ],
            [
                [
                    d.name,
                    money(d.received_base),
                    "; ".join(str(Money(v, c)) for c, v in sorted(d.received_own.items())),
                    "; ".join(str(Money(v, c)) for c, v in sorted(d.pledged.items())),
                    money(d.refunded_base),
                    Share(d.share),
                    money(d.pro_rata(m.committed)),
                    money(d.pro_rata(m.disbursed)),
                ]
                for d in board.donors
            ],
            note=_(
                "The fund is pooled: a donor's part of what was committed and disbursed is "
                "its share of the money received."
            ),
            chart=(0, 1),
        ),
    ]
    for dimension, title in ALLOCATION_TITLES.items():
        rows: list[Slice] = board.allocation.dimensions.get(dimension, [])
        tables.append(
            Table(
                f"allocation-{dimension}",
                str(title),
                [_("Where"), _("Committed"), _("Disbursed"), _("Grants")],
                [_allocation_row(dimension, s, board, language, money) for s in rows],
                note=_(
                    "Each row stands for at least %(n)s grants. “Other or withheld” holds "
                    "smaller rows and grants that are not published (withdrawn, embargoed or "
                    "protected), which count only in totals. Locations follow the precision "
                    "each partner chose.",
                    n=min_cell(),
                ),
                chart=(0, 1),
            )
        )
    loc = board.localisation
    local = board.allocation.get("local", "local")
    tables.append(
        Table(
            "localisation",
            _("Localisation"),
            [_("Measure"), _("Share")],
            [
                [_("Committed to local and national actors"), Share(loc.committed_local)],
                [_("Disbursed to local and national actors"), Share(loc.disbursed_local)],
                [_("Committed to organisations with small budgets"), Share(loc.committed_small)],
                [
                    _("Committed money whose partner declared a budget"),
                    Share(loc.small_budget_known),
                ],
                [
                    _("Pass-through: disbursed to partners over money received"),
                    Share(loc.pass_through),
                ],
                [
                    _("Retained for fund management over money received"),
                    Share(loc.retained_for_costs),
                ],
                [_("Overhead covered for partners"), _("Not recorded yet")],
            ],
            note=_(
                "Local and national actors follow the IASC localisation marker categories, "
                "from each organisation's type (%(n)s grants). Small budgets: below "
                "%(limit)s a year.",
                n=local.grants,
                limit=str(Money.from_decimal(_small_limit(), currency)),
            )
            + (
                " "
                + _(
                    "A share shown as – is withheld: with the grants that are not published, "
                    "it could be worked out for fewer than %(n)s grants.",
                    n=min_cell(),
                )
                if any(
                    s.key == WITHHELD
                    for name in ("local", "budget")
                    for s in board.allocation.dimensions.get(name, [])
                )
                else ""
            ),
        )
    )
    tables.append(
        Table(
            "speed",
            _("Speed, in days"),
            [_("Measure"), _("Median"), _("90th percentile"), _("Counted")],
            [
                [str(SPEED_LABELS[s.measure]), s.median, s.p90, s.count]
                if s.count == 0 or s.count >= min_cell()
                else [str(SPEED_LABELS[s.measure]), WITHHELD_CELL, WITHHELD_CELL, s.count]
                for s in board.speed
                if s.measure in SPEED_MEASURES
            ],
            chart=(0, 1),
        )
    )
    tables.append(
        Table(
            "earmarks",
            _("Money received with a soft earmark"),
            [_("Theme"), _("Country"), _("Received")],
            [
                [t or _("None"), country_name(c) if c else _("None"), money(total)]
                for t, c, total in board.earmarks
            ],
        )
    )
    credit = board.credit
    tables.append(
        Table(
            "credit",
            _("Who did the work"),
            [_("Measure"), _("Count")],
            [
                [_("Partner organisations"), credit.organisations],
                [_("Countries"), credit.countries],
                [_("Grants"), credit.grants],
            ],
            note=_(
                "Partners are named only with their consent; until they have said how they "
                "want to be credited, only counts are published."
            ),
        )
    )
    tables.append(credits_table(board.credited, more=board.more_credited))
    return tables


def _allocation_row(
    dimension: str, s: Slice, board: Dashboard, language: str, money: Any
) -> list[Any]:
    label = _label(dimension, s.key, board, language) if s.key or dimension != "all" else ""
    if s.withheld:
        return [label, WITHHELD_CELL, WITHHELD_CELL, WITHHELD_CELL]
    return [label, money(s.committed), money(s.disbursed), s.grants]


def credits_table(records: Iterable[PublicRecord], more: bool = False) -> Table:
    """The attribution records as published: each partner as it chose to be credited (its
    name, or an anonymised description), where, what it was awarded and the credit line."""
    rows = [
        [
            r.partner,
            r.place or "–",
            Money(r.amount_awarded_minor, r.currency),
            r.currency,
            r.credit_line(),
        ]
        for r in records
    ]
    if more:
        note = _(
            "The first %(n)s partners in order of award; the CSV and XLSX downloads list "
            "every one.",
            n=len(rows),
        )
    else:
        note = _(
            "A partner appears here once it has agreed to be credited, as it chose: by "
            "name or by an anonymised description."
        )
    return Table(
        "credits",
        _("Partners credited"),
        [_("Partner"), _("Where"), _("Awarded"), _("Currency"), _("Credit line")],
        rows,
        note=note,
    )


def _small_limit() -> int:
    from .queries import SMALL_BUDGET_MAJOR_UNITS

    return SMALL_BUDGET_MAJOR_UNITS


def public_tables(tables: list[Table]) -> list[Table]:
    """What the public transparency page shows: aggregates, no per-donor rows."""
    return [t for t in tables if t.key != "donors"]


@lru_cache(maxsize=32)
def _separators(locale: str) -> tuple[str, str]:
    symbols = Locale.parse(locale).number_symbols
    numbering = symbols.get("latn", symbols)  # Babel ≥ 2.14 keys symbols by numbering system
    return numbering.get("decimal", "."), numbering.get("group", ",")


def amount_text(value: Money, locale: str, fund_currency: str) -> str:
    """A table cell's amount in the reader's language, without Babel's full currency
    pattern per cell (a page has hundreds): digits grouped by three with the locale's
    separators; the currency code only where it is not the fund's (named above)."""
    decimal, group = _separators(locale)
    digits = exponent(value.currency)
    text = f"{value.to_decimal():,.{digits}f}".replace(",", "\0").replace(".", decimal)
    text = text.replace("\0", group)
    return text if value.currency == fund_currency else f"{text} {value.currency}"


def display_rows(table: Table, locale: str, fund_currency: str) -> list[list[str]]:
    """Every cell as the page shows it, formatted once in Python rather than cell by cell
    through template calls."""
    return [
        [
            amount_text(cell, locale, fund_currency) if isinstance(cell, Money) else cell_text(cell)
            for cell in row
        ]
        for row in table.rows
    ]


def cell_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def chart_points(table: Table, limit: int = 12) -> list[tuple[str, float]]:
    """The (label, value) pairs a chart of this table draws: money in major units."""
    if table.chart is None:
        return []
    label_at, value_at = table.chart
    points = []
    for row in table.rows[:limit]:
        value = row[value_at]
        if isinstance(value, Money):
            number = float(value.to_decimal())
        elif isinstance(value, int | float):
            number = float(value)
        else:
            continue
        points.append((str(row[label_at]), number))
    return points
