"""The dashboard's figures, each one grouped SQL aggregate over a fund's data.

Every function issues a fixed number of statements (one, mostly) whatever the number of
grants, tranches or payments, and returns only grouped rows: nothing here loads all the
rows of a table into Python. Amounts are integer minor units of the fund's currency
unless a currency is named beside them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select, Subquery

from ..accounts.models import Role, User
from ..attribution.models import AttributionRecord
from ..attribution.rules import ConsentState, LocationPrecision, Naming
from ..calls.models import Call
from ..funds.models import Donor, Fund
from ..grants.models import Disbursement, Grant
from ..intake.models import Application
from ..ledger import rules as ledger_rules
from ..ledger.models import (
    Contribution,
    LedgerAccount,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Pledge,
    TransactionKind,
)
from ..ledger.rules import AccountKind
from ..organisations.models import Organisation
from ..organisations.rules import LOCAL_AND_NATIONAL, Leadership
from ..platform.money import exponent
from ..platform.time import now_utc
from ..publishing.queries import (
    EFFECTIVE_NAMING,
    EFFECTIVE_PRECISION,
    PublicRecord,
    grant_theme,
    iter_public_records,
    local_date,
    min_cell,
    protected_organisations,
    with_effective_settings,
)
from ..publishing.queries import Filters as PublicFilters
from ..reviews.models import Decision
from .cells import WITHHELD, Slice, protect_breakdown, protect_total

# Organisations whose declared annual budget is below this many major units of the fund's
# currency count as "small" (the Grand Bargain localisation workstream's usual cut-off
# for small local actors is of this order). Budgets declared in another currency are
# reported as unknown rather than converted at a guessed rate.
SMALL_BUDGET_MAJOR_UNITS = 500_000

# The application answer that names a theme, where a call asks for one.
THEME_ANSWER = "theme"


@dataclass(frozen=True)
class Filters:
    """What the reader narrowed the dashboard to. The fund is always one fund."""

    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    call_id: int | None = None
    country: str | None = None

    def bounds(self, fund: Fund) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The period as UTC instants: from the start day's midnight in the fund's time
        zone to the midnight after the end day."""
        zone = ZoneInfo(fund.timezone)
        start = (
            dt.datetime.combine(self.start, dt.time(0), zone).astimezone(dt.UTC)
            if self.start
            else None
        )
        end = (
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), zone).astimezone(
                dt.UTC
            )
            if self.end
            else None
        )
        return start, end

    @property
    def narrows_grants(self) -> bool:
        return any((self.start, self.end, self.call_id, self.country))

    def as_query(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        if self.call_id:
            out["call"] = str(self.call_id)
        if self.country:
            out["country"] = self.country
        return out


# --- who may see which fund --------------------------------------------------------------


@dataclass(frozen=True)
class FundScope:
    """A fund and the donors who gave or pledged to it: what the permission rule needs."""

    fund: Fund
    donor_ids: frozenset[int]

    @property
    def id(self) -> int:
        return self.fund.id


def _donors_of_funds() -> Subquery:
    return union_all(
        select(Contribution.fund_id, Contribution.donor_id),
        select(Pledge.fund_id, Pledge.donor_id),
    ).subquery()


def fund_scope(session: Session, fund_id: int) -> FundScope | None:
    """The fund and its donors (each once), in one statement."""
    gave = union(
        select(Contribution.donor_id).where(Contribution.fund_id == fund_id),
        select(Pledge.donor_id).where(Pledge.fund_id == fund_id),
    ).subquery()
    rows = session.execute(
        select(Fund, gave.c.donor_id).outerjoin(gave, true()).where(Fund.id == fund_id)
    ).all()
    if not rows:
        return None
    return FundScope(rows[0][0], frozenset(d for _f, d in rows if d is not None))


def viewer_donor_ids(user: User) -> set[int]:
    return {
        a.donor_id for a in user.roles if a.role == Role.DONOR_VIEWER and a.donor_id is not None
    }


def all_funds(session: Session) -> list[Fund]:
    return list(session.scalars(select(Fund).order_by(Fund.name)))


def visible_funds(session: Session, user: User) -> list[Fund]:
    """Funds whose dashboard this person may read, in one statement."""
    query = select(Fund).order_by(Fund.name)
    if user.is_admin:
        return list(session.scalars(query))
    staff_roles = (Role.FUND_MANAGER, Role.FINANCE_OFFICER)
    if any(a.role in staff_roles and a.fund_id is None for a in user.roles):
        return list(session.scalars(query))
    fund_ids = {a.fund_id for a in user.roles if a.role in staff_roles and a.fund_id}
    donor_ids = viewer_donor_ids(user)
    gave = _donors_of_funds()
    conditions: list[ColumnElement[bool]] = []
    if fund_ids:
        conditions.append(Fund.id.in_(fund_ids))
    if donor_ids:
        conditions.append(Fund.id.in_(select(gave.c.fund_id).where(gave.c.donor_id.in_(donor_ids))))
    if not conditions:
        return []
    return list(session.scalars(query.where(or_(*conditions))))


# --- the kept summary figures ------------------------------------------------------------------


@dataclass
class Kept:
    """A fund's summary figures kept in step with its postings (models.DashboardTotal),
    read in one statement; used whenever the reader has not narrowed the grants."""

    rows: dict[str, list[tuple[str, int, int, int]]]
    organisations: int

    def ledger(self) -> dict[str, int]:
        return {key: amount for key, amount, _p, _g in self.rows.get("ledger", [])}

    def refunds(self) -> dict[int, int]:
        return {int(key): amount for key, amount, _p, _g in self.rows.get("refund", []) if amount}

    def slices(self, dimension: str) -> list[Slice]:
        return [
            Slice(key, amount, paid, grants)
            for key, amount, paid, grants in self.rows.get(dimension, [])
            if amount or paid or grants
        ]


def read_kept(session: Session, fund: Fund) -> Kept | None:
    """None when nothing is kept for this fund yet (then figures are summed live)."""
    from .models import DashboardTotal as T

    counted = select(
        literal("credit").label("dimension"),
        literal("organisations").label("key"),
        literal(0).label("amount_minor"),
        literal(0).label("paid_minor"),
        func.count().label("grants"),
    ).where(T.fund_id == fund.id, T.dimension == "organisation", T.grants > 0)
    figures = select(T.dimension, T.key, T.amount_minor, T.paid_minor, T.grants).where(
        T.fund_id == fund.id, T.dimension != "organisation"
    )
    rows: dict[str, list[tuple[str, int, int, int]]] = {}
    organisations = 0
    for dimension, key, amount, paid, grants in session.execute(union_all(figures, counted)):
        if dimension == "credit":
            organisations = int(grants)
        else:
            rows.setdefault(dimension, []).append((key, int(amount), int(paid), int(grants)))
    if not rows:
        return None
    return Kept(rows, organisations)


# --- money -----------------------------------------------------------------------------------


@dataclass
class MoneyFigures:
    currency: str
    pledged: list[tuple[str, int]]  # per currency: pledges are kept in the donor's currency
    received: int = 0
    available: int = 0
    committed: int = 0  # ever committed, net of releases (outstanding + paid)
    outstanding: int = 0  # committed, not yet paid
    disbursed: int = 0  # paid to partners, net of money partners returned
    refunded: int = 0  # returned to donors
    costs: int = 0  # retained for fund management

    @property
    def pass_through(self) -> float | None:
        return self.disbursed / self.received if self.received else None

    @property
    def retained_for_costs(self) -> float | None:
        return self.costs / self.received if self.received else None


def _category(code: SQLColumnExpression[str]) -> ColumnElement[str]:
    """An account's category in SQL, as totals.account_category has it in Python."""
    committed = ledger_rules.account_code_pattern(AccountKind.GRANT, ledger_rules.COMMITTED)
    paid = ledger_rules.account_code_pattern(AccountKind.GRANT, ledger_rules.PAID)
    return case(
        (code == ledger_rules.FUND_AVAILABLE, "available"),
        (code == ledger_rules.FUND_COSTS, "costs"),
        (code.like(committed), "outstanding"),
        (code.like(paid), "paid"),
        else_="donor",
    )


def _grant_account(grant_key: ColumnElement[str], part: str) -> ColumnElement[str]:
    """The code of a grant's committed or paid account, built in SQL from its key."""
    prefix, suffix = ledger_rules.account_code_affixes(AccountKind.GRANT, part)
    return literal(prefix) + grant_key + literal(suffix)


def ledger_categories(session: Session, fund: Fund) -> dict[str, int]:
    """The fund's maintained balance snapshots summed by kind of account (one statement)."""
    category = _category(LedgerAccount.code).label("category")
    rows = session.execute(
        select(category, func.sum(LedgerBalance.balance_minor))
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.fund_id == fund.id)
        .group_by(category)
    ).all()
    return {name: int(total or 0) for name, total in rows if name != "donor"}


def fund_money(
    session: Session,
    fund: Fund,
    filters: Filters,
    donors: list[DonorMoney] | None = None,
    kept: Kept | None = None,
) -> MoneyFigures:
    """Balances by kind of account: from the kept summary when there is one, else the
    balance snapshots; with a period, the entries posted in it. Received, refunded and
    pledged add up the per-donor rows."""
    start, end = filters.bounds(fund)
    figures = MoneyFigures(fund.base_currency, pledged=[])
    if start is None and end is None:
        balances = kept.ledger() if kept is not None else ledger_categories(session, fund)
    else:
        category = _category(LedgerAccount.code).label("category")
        rows = session.execute(
            select(category, func.sum(LedgerEntry.amount_minor))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                LedgerAccount.fund_id == fund.id, *_period(LedgerTransaction.created_at, start, end)
            )
            .group_by(category)
        ).all()
        balances = {name: int(total or 0) for name, total in rows}  # moved in the period
    figures.available = balances.get("available", 0)
    figures.costs = balances.get("costs", 0)
    figures.outstanding = balances.get("outstanding", 0)
    figures.disbursed = balances.get("paid", 0)
    figures.committed = figures.outstanding + figures.disbursed
    if donors is None:
        donors = donor_money(session, fund, filters, donor_ids=None, kept=kept)
    pledged: dict[str, int] = {}
    for donor in donors:
        figures.received += donor.received_base
        figures.refunded += donor.refunded_base
        for currency, amount in donor.pledged.items():
            pledged[currency] = pledged.get(currency, 0) + amount
    figures.pledged = sorted(pledged.items())
    return figures


def _period(column: Any, start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _day_period(column: Any, filters: Filters) -> list[Any]:
    conditions = []
    if filters.start is not None:
        conditions.append(column >= filters.start)
    if filters.end is not None:
        conditions.append(column <= filters.end)
    return conditions


@dataclass
class DonorMoney:
    donor_id: int
    name: str
    currency: str  # the donor's own currency
    received_base: int = 0
    received_own: dict[str, int] = field(default_factory=dict)  # by currency given
    refunded_base: int = 0
    pledged: dict[str, int] = field(default_factory=dict)
    share: float = 0.0  # of everything received by the fund

    def pro_rata(self, amount: int) -> int:
        """This donor's share of a pooled figure: the pool does not earmark grants to
        donors, so a donor's part of what was committed or paid is its share of money in."""
        return round(amount * self.share)


def refunds_by_donor(
    session: Session, fund: Fund, filters: Filters | None = None
) -> dict[int, int]:
    """What was returned to each donor, from the ledger entries (one statement)."""
    start, end = (filters or Filters()).bounds(fund)
    rows = session.execute(
        select(LedgerAccount.code, func.sum(LedgerEntry.amount_minor))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerAccount.fund_id == fund.id,
            LedgerAccount.code.like(ledger_rules.account_code_pattern(AccountKind.DONOR)),
            LedgerTransaction.kind == TransactionKind.DONOR_REFUND,
            *_period(LedgerTransaction.created_at, start, end),
        )
        .group_by(LedgerAccount.code)
    ).all()
    return {int(ledger_rules.parse_account_code(code).ref): int(total) for code, total in rows}


def donor_money(
    session: Session,
    fund: Fund,
    filters: Filters,
    donor_ids: set[int] | None,
    kept: Kept | None = None,
) -> list[DonorMoney]:
    """Per donor: received (fund's currency and as given), refunded, pledged. Three
    statements. `donor_ids` limits the rows (a donor viewer sees only its own)."""
    start, end = filters.bounds(fund)
    received = session.execute(
        select(
            Contribution.donor_id,
            Contribution.currency,
            func.sum(Contribution.amount_minor),
            func.sum(Contribution.base_amount_minor),
        )
        .where(Contribution.fund_id == fund.id, *_period(Contribution.received_at, start, end))
        .group_by(Contribution.donor_id, Contribution.currency)
    ).all()
    if kept is not None and start is None and end is None:
        refunds = kept.refunds()
    else:
        refunds = refunds_by_donor(session, fund, filters)
    pledges = session.execute(
        select(Pledge.donor_id, Pledge.currency, func.sum(Pledge.amount_minor))
        .where(Pledge.fund_id == fund.id, *_period(Pledge.created_at, start, end))
        .group_by(Pledge.donor_id, Pledge.currency)
    ).all()
    ids = {r[0] for r in received} | {r[0] for r in pledges}
    ids |= set(refunds)
    names = (
        {d.id: d for d in session.scalars(select(Donor).where(Donor.id.in_(ids)))} if ids else {}
    )
    by_id: dict[int, DonorMoney] = {
        i: DonorMoney(i, names[i].name, names[i].currency) for i in ids if i in names
    }
    for donor_id, currency, own, base in received:
        entry = by_id[donor_id]
        entry.received_base += int(base)
        entry.received_own[currency] = entry.received_own.get(currency, 0) + int(own)
    for donor_id, total in refunds.items():
        if donor_id in by_id:
            by_id[donor_id].refunded_base += total
    for donor_id, currency, total in pledges:
        by_id[donor_id].pledged[currency] = int(total)
    everything = sum(d.received_base for d in by_id.values())
    for entry in by_id.values():
        entry.share = entry.received_base / everything if everything else 0.0
    rows = sorted(by_id.values(), key=lambda d: (-d.received_base, d.name))
    if donor_ids is not None:
        rows = [d for d in rows if d.donor_id in donor_ids]
    return rows


def earmarks(session: Session, fund: Fund, filters: Filters) -> list[tuple[str, str, int]]:
    """Money received by soft earmark (theme, country), in the fund's currency."""
    start, end = filters.bounds(fund)
    theme = func.coalesce(Contribution.earmark_theme, "")
    country = func.coalesce(Contribution.earmark_country, "")
    return [
        (t, c, int(total))
        for t, c, total in session.execute(
            select(theme, country, func.sum(Contribution.base_amount_minor))
            .where(Contribution.fund_id == fund.id, *_period(Contribution.received_at, start, end))
            .group_by(theme, country)
            .order_by(theme, country)
        )
    ]


# --- allocation and localisation -------------------------------------------------------------


@dataclass
class Allocation:
    """Committed and disbursed money by each dimension, and the whole."""

    dimensions: dict[str, list[Slice]]

    def total(self) -> Slice:
        rows = self.dimensions.get("all") or [Slice("", 0, 0, 0)]
        return rows[0]

    def get(self, dimension: str, key: str) -> Slice:
        for row in self.dimensions.get(dimension, []):
            if row.key == key:
                return row
        return Slice(key, 0, 0, 0)


DIMENSIONS = ("call", "country", "area", "theme", "org_type", "leadership", "local", "budget")


def _grant_money(
    fund: Fund, filters: Filters, now: dt.datetime, *, publishable: bool = True
) -> Any:
    """One row per grant in view: its organisation's traits, call, theme and money, each
    as it may be published.

    committed = its commitment account + its paid account (what is committed, net of
    releases, including what has been paid); disbursed = its paid account.

    The location keys follow the precision the partner chose: an area only at "area",
    no country when hidden. A grant that is withdrawn, embargoed, flagged (on it or its
    organisation) or not to be published counts only in totals: fund and country; every
    finer breakdown sees it as withheld.
    """
    committed_account = LedgerAccount.__table__.alias("committed_account")
    paid_account = LedgerAccount.__table__.alias("paid_account")
    committed_balance = LedgerBalance.__table__.alias("committed_balance")
    paid_balance = LedgerBalance.__table__.alias("paid_balance")
    grant_key = cast(Grant.id, String)
    threshold = SMALL_BUDGET_MAJOR_UNITS * 10 ** exponent(fund.base_currency)
    budget_band = case(
        (
            or_(
                Organisation.annual_budget_minor.is_(None),
                Organisation.annual_budget_currency != fund.base_currency,
            ),
            "unknown",
        ),
        (Organisation.annual_budget_minor < threshold, "small"),
        else_="not_small",
    )
    local = case(
        (Organisation.org_type.in_([t.value for t in LOCAL_AND_NATIONAL]), "local"),
        else_="other",
    )
    paid = func.coalesce(paid_balance.c.balance_minor, 0)
    start, end = filters.bounds(fund)
    flagged = protected_organisations()
    # Never NULL, also for a grant without a credit record (then it is not protected).
    protected = or_(
        func.coalesce(AttributionRecord.consent_state, "") == ConsentState.WITHDRAWN.value,
        and_(
            AttributionRecord.embargo_until.is_not(None),
            AttributionRecord.embargo_until > local_date(now, fund.timezone),
        ),
        AttributionRecord.safety_flag.is_(True),
        flagged.c.organisation_id.is_not(None),
        literal(Naming.NOT_PUBLISHED.value) == EFFECTIVE_NAMING,
    )
    theme = grant_theme() if publishable else Application.answers[THEME_ANSWER].as_string()
    # The facts of each grant, each worked out once; the keys below are read from them.
    facts = with_effective_settings(
        select(
            Grant.id.label("grant_id"),
            cast(Application.call_id, String).label("call"),
            Organisation.country.label("country"),
            func.coalesce(Organisation.area, "").label("area"),
            func.coalesce(theme, "").label("theme"),
            Organisation.org_type.label("org_type"),
            local.label("local"),
            budget_band.label("budget"),
            *(getattr(Organisation, lead.value).label(lead.value) for lead in Leadership),
            (func.coalesce(committed_balance.c.balance_minor, 0) + paid).label("committed"),
            paid.label("disbursed"),
            protected.label("protected"),
            EFFECTIVE_PRECISION.label("precision"),
        )
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .join(Application, Application.id == Grant.application_id)
        .outerjoin(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .outerjoin(flagged, flagged.c.organisation_id == Grant.organisation_id)
        .outerjoin(
            committed_account,
            and_(
                committed_account.c.fund_id == Grant.fund_id,
                committed_account.c.code == _grant_account(grant_key, ledger_rules.COMMITTED),
            ),
        )
        .outerjoin(committed_balance, committed_balance.c.account_id == committed_account.c.id)
        .outerjoin(
            paid_account,
            and_(
                paid_account.c.fund_id == Grant.fund_id,
                paid_account.c.code == _grant_account(grant_key, ledger_rules.PAID),
            ),
        )
        .outerjoin(paid_balance, paid_balance.c.account_id == paid_account.c.id)
    ).where(Grant.fund_id == fund.id, *_period(Grant.awarded_at, start, end))
    if filters.call_id:
        facts = facts.where(Application.call_id == filters.call_id)
    if filters.country:
        facts = facts.where(Organisation.country == filters.country)
    f = facts.subquery("grant_facts")
    if not publishable:
        # As the kept summary has them (totals.grant_keys), for checking it.
        return select(*(c for c in f.c if c.name not in {"protected", "precision"})).cte(
            "grant_money"
        )
    is_protected = f.c.protected.is_(True)

    def finer(value: Any) -> Any:
        return case((is_protected, WITHHELD), else_=value)

    return select(
        f.c.grant_id,
        finer(f.c.call).label("call"),
        case((f.c.precision == LocationPrecision.HIDDEN.value, ""), else_=f.c.country).label(
            "country"
        ),
        case(
            (is_protected, WITHHELD),
            (f.c.precision == LocationPrecision.AREA.value, f.c.area),
            else_="",
        ).label("area"),
        finer(f.c.theme).label("theme"),
        finer(f.c.org_type).label("org_type"),
        finer(f.c.local).label("local"),
        finer(f.c.budget).label("budget"),
        *(
            and_(f.c[lead.value].is_(True), f.c.protected.is_(False)).label(lead.value)
            for lead in Leadership
        ),
        f.c.committed,
        f.c.disbursed,
    ).cte("grant_money")


def allocation(
    session: Session,
    fund: Fund,
    filters: Filters,
    *,
    now: dt.datetime | None = None,
    protect: bool = True,
) -> Allocation:
    """Committed and disbursed money by every dimension, as it may be published, in one
    statement: the grants in view, each with its publishable keys, are summed once per
    dimension with UNION ALL over a common table expression (grouping sets, portably).
    Then every cell of fewer than PUBLICATION_MIN_CELL grants is merged or withheld
    (`protect=False` gives the raw sums, for checks)."""
    g = _grant_money(fund, filters, now or now_utc(), publishable=protect)

    def grouped(name: str, key: Any, *where: Any) -> Select[Any]:
        query = select(
            literal(name).label("dimension"),
            cast(key, String).label("key"),
            func.sum(g.c.committed),
            func.sum(g.c.disbursed),
            func.count(g.c.grant_id),
        ).where(*where)
        return query.group_by(key) if name not in {"all", "leadership"} else query

    parts = [grouped("all", literal(""))]
    parts += [
        grouped(name, g.c[name])
        for name in ("call", "country", "area", "theme", "org_type", "local", "budget")
    ]
    parts += [
        grouped("leadership", literal(lead.value), g.c[lead.value].is_(True)) for lead in Leadership
    ]
    dimensions: dict[str, list[Slice]] = {name: [] for name in ("all", *DIMENSIONS)}
    for name, key, committed, disbursed, count in session.execute(union_all(*parts)):
        if name == "leadership" and not count:
            continue
        dimensions[name].append(
            Slice(key or "", int(committed or 0), int(disbursed or 0), int(count or 0))
        )
    if not dimensions["all"]:
        dimensions["all"] = [Slice("", 0, 0, 0)]
    if not protect:
        for rows in dimensions.values():
            rows.sort(key=lambda s: (-s.committed, s.key))
        return Allocation(dimensions)
    return protect_allocation(dimensions, min_cell())


def protect_allocation(dimensions: dict[str, list[Slice]], threshold: int) -> Allocation:
    total = protect_total(dimensions["all"][0], threshold)
    if total.withheld:
        # The grants in view are too few: no breakdown of them is published either.
        return Allocation({"all": [total], **{name: [] for name in DIMENSIONS}})
    safe = {
        name: protect_breakdown(rows, threshold, overlapping=name == "leadership")
        for name, rows in dimensions.items()
        if name != "all"
    }
    return Allocation({"all": [total], **safe})


@dataclass(frozen=True)
class Localisation:
    committed_local: float | None
    disbursed_local: float | None
    committed_small: float | None  # of committed money whose budget band is known
    small_budget_known: float | None  # share of committed money with a known budget
    pass_through: float | None
    retained_for_costs: float | None
    overhead_covered: None = None  # no data yet: budgets carry no overhead line


def localisation(allocation_: Allocation, money: MoneyFigures) -> Localisation:
    """Shares, from figures already summed in SQL (no further statements)."""
    total = allocation_.total()

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    local = allocation_.get("local", "local")
    small = allocation_.get("budget", "small")
    known = small.committed + allocation_.get("budget", "not_small").committed
    # Where part of a breakdown is merged or withheld, its shares cannot be told.
    local_known = not total.withheld and not _has_withheld(allocation_, "local")
    budget_known = not total.withheld and not _has_withheld(allocation_, "budget")
    return Localisation(
        committed_local=share(local.committed, total.committed) if local_known else None,
        disbursed_local=share(local.disbursed, total.disbursed) if local_known else None,
        committed_small=share(small.committed, known) if budget_known else None,
        small_budget_known=share(known, total.committed) if budget_known else None,
        pass_through=money.pass_through,
        retained_for_costs=money.retained_for_costs,
    )


def _has_withheld(allocation_: Allocation, dimension: str) -> bool:
    return any(s.key == WITHHELD for s in allocation_.dimensions.get(dimension, []))


# --- speed -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    measure: str
    count: int
    median: float | None
    p90: float | None


SPEED_MEASURES = ("close_to_decision", "award_to_first_payment", "conditions_to_payment")


def _whole_days_between(later: Any, earlier: Any, dialect: str) -> Any:
    """Whole days elapsed between whole seconds, truncated toward zero (as the kept
    figures count them in totals.py)."""
    if dialect == "postgresql":

        def seconds(t: Any) -> Any:
            return cast(func.floor(func.extract("epoch", t)), BigInteger)
    else:

        def seconds(t: Any) -> Any:
            return cast(func.strftime("%s", t), BigInteger)

    elapsed = seconds(later) - seconds(earlier)
    # Integer division, which truncates toward zero on both databases.
    return case((elapsed >= 0, elapsed // 86400), else_=-((-elapsed) // 86400))


def speed_values(session: Session, fund: Fund, filters: Filters) -> Any:
    dialect = session.get_bind().dialect.name
    start, end = filters.bounds(fund)
    decided = (
        select(
            literal("close_to_decision").label("measure"),
            cast(_whole_days_between(Decision.decided_at, Call.closes_at, dialect), Float).label(
                "days"
            ),
        )
        .join(Application, Application.id == Decision.application_id)
        .join(Call, Call.id == Application.call_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(
            Call.fund_id == fund.id,
            Decision.state == "confirmed",
            Call.closes_at.is_not(None),
            *_period(Decision.decided_at, start, end),
        )
    )
    first_payment = (
        select(
            literal("award_to_first_payment").label("measure"),
            cast(Grant.days_award_to_first_payment, Float).label("days"),
        )
        .join(Application, Application.id == Grant.application_id)
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .where(
            Grant.fund_id == fund.id,
            Grant.days_award_to_first_payment.is_not(None),
            *_day_period(Grant.first_paid_on, filters),
        )
    )
    to_payment = (
        select(
            literal("conditions_to_payment").label("measure"),
            cast(Disbursement.days_conditions_to_payment, Float).label("days"),
        )
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Application, Application.id == Grant.application_id)
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .where(
            Grant.fund_id == fund.id,
            Disbursement.state == "paid",
            Disbursement.days_conditions_to_payment.is_not(None),
            *_day_period(Disbursement.paid_on, filters),
        )
    )
    parts = []
    for part in (decided, first_payment, to_payment):
        if filters.call_id:
            part = part.where(Application.call_id == filters.call_id)
        if filters.country:
            part = part.where(Organisation.country == filters.country)
        parts.append(part)
    return union_all(*parts).subquery("speed_values")


def _speed_from_kept(session: Session, fund: Fund) -> list[Speed] | None:
    """Median and 90th percentile from the kept distribution of whole days (one statement,
    one row per distinct number of days), with percentile_cont's interpolation."""
    from .models import DashboardDays as D

    counts: dict[str, list[tuple[int, int]]] = {}
    for measure, days, count in session.execute(
        select(D.measure, D.days, D.count)
        .where(D.fund_id == fund.id, D.count > 0)
        .order_by(D.measure, D.days)
    ):
        counts.setdefault(measure, []).append((int(days), int(count)))
    if not counts:
        return None

    def at(histogram: list[tuple[int, int]], n: int, p: float) -> float:
        position = (n - 1) * p
        low_rank = int(position)
        high_rank = low_rank + (1 if position > low_rank else 0)
        low = high = None
        seen = 0
        for days, count in histogram:
            if low is None and low_rank < seen + count:
                low = days
            if high_rank < seen + count:
                high = days
                break
            seen += count
        assert low is not None and high is not None
        return low + (high - low) * (position - low_rank)

    found = []
    for measure in SPEED_MEASURES:
        histogram = counts.get(measure, [])
        n = sum(c for _d, c in histogram)
        if not n:
            found.append(Speed(measure, 0, None, None))
            continue
        found.append(
            Speed(measure, n, _round(at(histogram, n, 0.5)), _round(at(histogram, n, 0.9)))
        )
    return found


def speed(
    session: Session, fund: Fund, filters: Filters, *, use_totals: bool = True
) -> list[Speed]:
    """Median and 90th percentile (linear interpolation, as percentile_cont) of each
    measure in whole days. Unnarrowed, from the kept distribution. Otherwise in one
    statement: percentile_cont on PostgreSQL; on SQLite the two ranks
    around each percentile are picked with window functions in SQL."""
    if use_totals and not filters.narrows_grants:
        kept_speed = _speed_from_kept(session, fund)
        if kept_speed is not None:
            return kept_speed
    values = speed_values(session, fund, filters)
    found: dict[str, Speed] = {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            select(
                values.c.measure,
                func.count(),
                func.percentile_cont(0.5).within_group(values.c.days),
                func.percentile_cont(0.9).within_group(values.c.days),
            ).group_by(values.c.measure)
        )
        for measure, count, median, p90 in rows:
            found[measure] = Speed(measure, int(count), _round(median), _round(p90))
    else:
        ranked = select(
            values.c.measure,
            values.c.days,
            (
                func.row_number().over(partition_by=values.c.measure, order_by=values.c.days) - 1
            ).label("rank"),
            func.count().over(partition_by=values.c.measure).label("n"),
        ).subquery("ranked")

        def at(p: float) -> tuple[Any, Any, Any]:
            position = (ranked.c.n - 1) * p
            low = cast(position, Integer)
            high = low + case((position > low, 1), else_=0)
            pick_low = func.max(case((ranked.c.rank == low, ranked.c.days)))
            pick_high = func.max(case((ranked.c.rank == high, ranked.c.days)))
            return pick_low, pick_high, func.max(position - low)

        m_lo, m_hi, m_f = at(0.5)
        p_lo, p_hi, p_f = at(0.9)
        rows = session.execute(
            select(ranked.c.measure, func.count(), m_lo, m_hi, m_f, p_lo, p_hi, p_f).group_by(
                ranked.c.measure
            )
        )
        for measure, count, mlo, mhi, mf, plo, phi, pf in rows:
            found[measure] = Speed(
                measure,
                int(count),
                _round(_interpolate(mlo, mhi, mf)),
                _round(_interpolate(plo, phi, pf)),
            )
    return [found.get(m, Speed(m, 0, None, None)) for m in SPEED_MEASURES]


def _interpolate(low: Any, high: Any, fraction: Any) -> float | None:
    if low is None:
        return None
    if high is None:
        return float(low)
    return float(low) + (float(high) - float(low)) * float(fraction or 0)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# --- choices for the filters ----------------------------------------------------------------


def filter_choices(
    session: Session, fund: Fund
) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The fund's calls and the countries a reader may narrow to: those where enough
    grants are published at country precision or finer that choosing one cannot single
    a partner out (two statements)."""
    calls = [
        (call_id, title)
        for call_id, title in session.execute(
            select(Call.id, Call.title).where(Call.fund_id == fund.id).order_by(Call.id)
        )
    ]
    country = with_effective_settings(
        select(Organisation.country)
        .select_from(Grant)
        .join(Organisation, Organisation.id == Grant.organisation_id)
    ).where(Grant.fund_id == fund.id, LocationPrecision.HIDDEN.value != EFFECTIVE_PRECISION)
    countries = list(
        session.scalars(
            country.group_by(Organisation.country)
            .having(func.count(Grant.id) >= min_cell())
            .order_by(Organisation.country)
        )
    )
    return calls, countries


# --- the credit list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditList:
    """Who did the work, counted over every grant (named or not); the partners who agreed
    to be credited are listed by `credited`."""

    organisations: int
    countries: int
    grants: int


# How many credited partners the page and the donor report list; the CSV and XLSX
# downloads of the list hold every one.
CREDITED_ON_PAGE = 50


def credit_filters(fund: Fund, filters: Filters) -> PublicFilters:
    start, end = filters.bounds(fund)
    return PublicFilters(
        country=filters.country,
        fund_id=fund.id,
        call_id=filters.call_id,
        awarded_from=start,
        awarded_before=end,
    )


def credited(
    session: Session, fund: Fund, filters: Filters, now: dt.datetime, limit: int | None = None
) -> tuple[list[PublicRecord], bool]:
    """The first `limit` attribution records of this fund as published now (consent,
    embargo, safety flag and chosen naming applied by grantpool.publishing), and whether
    there are more. At most two batches are read, so the statements stay bounded."""
    limit = limit or CREDITED_ON_PAGE
    records = list(
        islice(
            iter_public_records(
                session, now, credit_filters(fund, filters), batch=limit + 1, max_batches=2
            ),
            limit + 1,
        )
    )
    return records[:limit], len(records) > limit


def credit_list(
    session: Session, fund: Fund, filters: Filters, kept: Kept | None = None
) -> CreditList:
    """The one place to wire consent-aware attribution records in later."""
    if kept is not None and not filters.narrows_grants:
        return CreditList(
            organisations=kept.organisations,
            countries=len(kept.slices("country")),
            grants=next((s.grants for s in kept.slices("all")), 0),
        )
    start, end = filters.bounds(fund)
    query = (
        select(
            func.count(func.distinct(Grant.organisation_id)),
            func.count(func.distinct(Organisation.country)),
            func.count(Grant.id),
        )
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .join(Application, Application.id == Grant.application_id)
        .where(Grant.fund_id == fund.id, *_period(Grant.awarded_at, start, end))
    )
    if filters.call_id:
        query = query.where(Application.call_id == filters.call_id)
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    organisations, countries, grants = session.execute(query).one()
    return CreditList(int(organisations), int(countries), int(grants))


# --- everything the page shows ---------------------------------------------------------------


@dataclass
class Dashboard:
    fund: Fund
    filters: Filters
    money: MoneyFigures
    donors: list[DonorMoney]
    earmarks: list[tuple[str, str, int]]
    allocation: Allocation
    localisation: Localisation
    speed: list[Speed]
    credit: CreditList
    call_titles: dict[int, dict[str, Any]]
    countries: list[str]
    credited: list[PublicRecord] = field(default_factory=list)
    more_credited: bool = False

    @property
    def withheld(self) -> bool:
        """The grants in view are too few for their figures to be published."""
        return self.allocation.total().withheld

    @property
    def min_cell(self) -> int:
        return min_cell()


def dashboard(
    session: Session,
    fund: Fund,
    filters: Filters,
    *,
    donor_ids: set[int] | None = None,
    now: dt.datetime | None = None,
) -> Dashboard:
    """All figures of one fund's dashboard: a fixed number of statements."""
    kept = read_kept(session, fund)  # also offers the country choices when narrowed
    unnarrowed = None if filters.narrows_grants else kept
    donors = donor_money(session, fund, filters, donor_ids=None, kept=unnarrowed)
    money = fund_money(session, fund, filters, donors, kept=unnarrowed)
    allocation_ = allocation(session, fund, filters, now=now)
    calls, countries = filter_choices(session, fund)
    credited_, more_credited = credited(session, fund, filters, now or now_utc())
    return Dashboard(
        fund=fund,
        filters=filters,
        money=money,
        donors=[d for d in donors if donor_ids is None or d.donor_id in donor_ids],
        earmarks=earmarks(session, fund, filters),
        allocation=allocation_,
        localisation=localisation(allocation_, money),
        speed=speed(session, fund, filters, use_totals=kept is not None),
        credit=credit_list(session, fund, filters, kept=unnarrowed),
        call_titles=dict(calls),
        countries=countries,
        credited=credited_,
        more_credited=more_credited,
    )
