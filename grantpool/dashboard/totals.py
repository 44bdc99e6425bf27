"""Keep the dashboard's summary figures in step with the data, in the same transaction.

The capabilities that change what the figures count say so with a signal, sent inside
their operation after its rows are flushed; the receivers here (connected by the
dashboard's `init_app`, never on import) add their deltas with the sender's session, so
the figures commit or roll back with the change itself:

- ledger `transaction_posted`: money by account category, committed and disbursed per
  grant dimension, refunds per donor;
- grants `grant_created`: grants counted per dimension and per organisation;
- grants `disbursement_paid`: the speed distributions (conditions met to payment; award
  to first payment, moved when this payment is now the grant's first);
- reviews `decision_confirmed`: close of call to decision;
- organisations `organisation_updated`: when a classifying field changed (type, country,
  area, leadership, budget), the totals of the funds it has grants in are rebuilt from
  the source rows.

Deltas are added with INSERT … ON CONFLICT DO UPDATE SET x = x + delta, so two
transactions never lose each other's increments. Data written past the services (a bulk
import, a manual fix) sends nothing: `flask grantpool dashboard-check` finds the
difference and `dashboard-rebuild` recomputes every figure from the source rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..funds.models import Fund
from ..grants import signals as grant_signals
from ..grants.models import Disbursement, Grant
from ..intake.models import Application
from ..ledger import signals as ledger_signals
from ..ledger.models import LedgerTransaction, TransactionKind
from ..ledger.rules import AccountKind, parse_account_code
from ..organisations import signals as organisation_signals
from ..organisations.models import Organisation
from ..organisations.rules import LOCAL_AND_NATIONAL, Leadership
from ..platform.money import exponent
from ..reviews import signals as review_signals
from ..reviews.models import Decision
from .models import DashboardDays, DashboardTotal

CLASSIFYING = frozenset(
    {
        "org_type",
        "country",
        "area",
        "women_led",
        "youth_led",
        "refugee_migrant_led",
        "disability_led",
        "annual_budget_minor",
        "annual_budget_currency",
    }
)
GRANT_DIMENSIONS = (
    "all",
    "call",
    "country",
    "area",
    "theme",
    "org_type",
    "local",
    "budget",
    "leadership",
)


def account_category(code: str) -> str | None:
    """The dashboard's category of a ledger account; None for a donor's account."""
    account = parse_account_code(code)
    if account.is_fund_available:
        return "available"
    if account.is_fund_costs:
        return "costs"
    if account.is_grant_committed:
        return "outstanding"
    if account.is_grant_paid:
        return "paid"
    return None


def budget_band(organisation: Organisation, currency: str) -> str:
    from .queries import SMALL_BUDGET_MAJOR_UNITS

    if organisation.annual_budget_minor is None or organisation.annual_budget_currency != currency:
        return "unknown"
    limit = SMALL_BUDGET_MAJOR_UNITS * 10 ** exponent(currency)
    return "small" if organisation.annual_budget_minor < limit else "not_small"


def theme_of(answers: Any) -> str:
    """The theme answer as the SQL side reads it (a text answer; anything else is none)."""
    from .queries import THEME_ANSWER

    value = (answers or {}).get(THEME_ANSWER)
    return value if isinstance(value, str) else ""


def grant_keys(
    grant: Grant, application: Application, organisation: Organisation, currency: str
) -> list[tuple[str, str]]:
    """The (dimension, key) rows a grant counts in."""
    keys = [
        ("all", ""),
        ("call", str(application.call_id)),
        ("country", organisation.country),
        ("area", organisation.area or ""),
        ("theme", theme_of(application.answers)),
        ("org_type", organisation.org_type),
        (
            "local",
            "local" if organisation.org_type in {t.value for t in LOCAL_AND_NATIONAL} else "other",
        ),
        ("budget", budget_band(organisation, currency)),
    ]
    keys += [("leadership", lead.value) for lead in Leadership if getattr(organisation, lead.value)]
    return keys


def _keys_of(session: Session, grant: Grant) -> list[tuple[str, str]]:
    application = session.get(Application, grant.application_id)
    assert application is not None
    return grant_keys(grant, application, grant.organisation, grant.fund.base_currency)


@dataclass
class _Deltas:
    """What one operation adds to the kept figures, written in one statement per table."""

    totals: dict[tuple[int, str, str], list[int]] = field(default_factory=dict)
    days: dict[tuple[int, str, int], int] = field(default_factory=dict)

    def add(
        self,
        fund_id: int,
        dimension: str,
        key: str,
        amount: int = 0,
        paid: int = 0,
        grants: int = 0,
    ) -> None:
        row = self.totals.setdefault((fund_id, dimension, key), [0, 0, 0])
        row[0] += amount
        row[1] += paid
        row[2] += grants

    def count_days(self, fund_id: int, measure: str, days: int | None, step: int = 1) -> None:
        if days is not None:
            key = (fund_id, measure, int(days))
            self.days[key] = self.days.get(key, 0) + step

    def write(self, session: Session) -> None:
        _upsert(
            session,
            DashboardTotal,
            [
                {
                    "fund_id": f,
                    "dimension": d,
                    "key": k,
                    "amount_minor": a,
                    "paid_minor": p,
                    "grants": g,
                }
                for (f, d, k), (a, p, g) in sorted(self.totals.items())
            ],
            ("amount_minor", "paid_minor", "grants"),
        )
        _upsert(
            session,
            DashboardDays,
            [
                {"fund_id": f, "measure": m, "days": d, "count": c}
                for (f, m, d), c in sorted(self.days.items())
                if c
            ],
            ("count",),
        )


def _upsert(
    session: Session, model: Any, rows: list[dict[str, Any]], summed: Iterable[str]
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(model).values(rows)
    table = model.__table__
    statement = statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in summed},
    )
    session.connection().execute(statement)


# --- the receivers -------------------------------------------------------------------------


def on_transaction_posted(
    transaction: LedgerTransaction, *, session: Session, lines: Sequence[tuple[str, int]]
) -> None:
    """Money by account category; per grant dimension for a grant's accounts; refunds."""
    fund_id = transaction.fund_id
    deltas = _Deltas()
    keys_by_grant: dict[int, list[tuple[str, str]]] = {}
    for code, amount in lines:
        account = parse_account_code(code)
        category = account_category(code)
        if category is not None:
            deltas.add(fund_id, "ledger", category, amount)
        if account.kind == AccountKind.GRANT:
            grant = session.get(Grant, account.number) if account.number is not None else None
            if grant is None or grant.fund_id != fund_id:
                # The ledger takes any reference: an account named after something other
                # than a grant row has no organisation to attribute money to.
                continue
            if grant.id not in keys_by_grant:
                keys_by_grant[grant.id] = _keys_of(session, grant)
            paid = amount if account.is_grant_paid else 0
            for dimension, key in keys_by_grant[grant.id]:
                deltas.add(fund_id, dimension, key, amount, paid)
        elif account.kind == AccountKind.DONOR and transaction.kind == TransactionKind.DONOR_REFUND:
            deltas.add(fund_id, "refund", account.ref, amount)
    deltas.write(session)


def on_grant_created(grant: Grant, *, session: Session) -> None:
    """One more grant in each of its dimensions and for its organisation."""
    deltas = _Deltas()
    for dimension, key in _keys_of(session, grant):
        deltas.add(grant.fund_id, dimension, key, grants=1)
    deltas.add(grant.fund_id, "organisation", str(grant.organisation_id), grants=1)
    deltas.write(session)


def on_disbursement_paid(
    disbursement: Disbursement,
    *,
    session: Session,
    grant: Grant,
    first_payment_days_before: int | None,
) -> None:
    """Conditions met to payment; award to first payment when this one is now the first."""
    deltas = _Deltas()
    deltas.count_days(
        grant.fund_id, "conditions_to_payment", disbursement.days_conditions_to_payment
    )
    if grant.days_award_to_first_payment != first_payment_days_before:
        deltas.count_days(grant.fund_id, "award_to_first_payment", first_payment_days_before, -1)
        deltas.count_days(
            grant.fund_id, "award_to_first_payment", grant.days_award_to_first_payment
        )
    deltas.write(session)


def on_decision_confirmed(decision: Decision, *, session: Session) -> None:
    """Whole days from the call's close to the decision (rounded towards zero)."""
    application = session.get(Application, decision.application_id)
    assert application is not None
    call = application.call
    if call.closes_at is None or decision.decided_at is None:
        return
    seconds = int(decision.decided_at.timestamp()) - int(call.closes_at.timestamp())
    days = seconds // 86400 if seconds >= 0 else -(-seconds // 86400)
    deltas = _Deltas()
    deltas.count_days(call.fund_id, "close_to_decision", days)
    deltas.write(session)


def on_organisation_updated(
    organisation: Organisation, *, session: Session, changed: frozenset[str]
) -> None:
    """A grant counts under its organisation's classification as it is now, so the funds
    it has grants in are recounted (rare: an organisation's details seldom change)."""
    if not changed & CLASSIFYING:
        return
    fund_ids = session.scalars(
        select(Grant.fund_id).where(Grant.organisation_id == organisation.id).distinct()
    ).all()
    for fund_id in sorted(fund_ids):
        fund = session.get(Fund, fund_id)
        assert fund is not None
        rebuild_totals(session, fund)


def connect_receivers() -> None:
    """Connect the receivers to the signals (again is harmless: blinker keeps one
    connection per receiver). The signals are process-wide, so once any application has
    connected them they keep every session's figures in step."""
    ledger_signals.transaction_posted.connect(on_transaction_posted)
    grant_signals.grant_created.connect(on_grant_created)
    grant_signals.disbursement_paid.connect(on_disbursement_paid)
    review_signals.decision_confirmed.connect(on_decision_confirmed)
    organisation_signals.organisation_updated.connect(on_organisation_updated)


# --- recomputing from the source rows --------------------------------------------------------


def _source_totals(session: Session, fund: Fund) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Every summary figure of a fund, recomputed with grouped SQL over the source rows
    (none that is zero: a kept row that came back to zero reads as no row)."""
    from . import queries

    rows: dict[tuple[str, str], tuple[int, int, int]] = {}
    live = queries.allocation(session, fund, queries.Filters(), protect=False)
    for dimension, slices in live.dimensions.items():
        for s in slices:
            if s.grants or s.committed or s.disbursed:
                rows[(dimension, s.key)] = (s.committed, s.disbursed, s.grants)
    for category, total in queries.ledger_categories(session, fund).items():
        if total:
            rows[("ledger", category)] = (total, 0, 0)
    for donor_id, total in queries.refunds_by_donor(session, fund).items():
        if total:
            rows[("refund", str(donor_id))] = (total, 0, 0)
    for organisation_id, count in session.execute(
        select(Grant.organisation_id, func.count(Grant.id))
        .where(Grant.fund_id == fund.id)
        .group_by(Grant.organisation_id)
    ):
        rows[("organisation", str(organisation_id))] = (0, 0, int(count))
    return rows


def _source_days(session: Session, fund: Fund) -> dict[tuple[str, int], int]:
    from . import queries

    values = queries.speed_values(session, fund, queries.Filters())
    return {
        (measure, int(days)): int(count)
        for measure, days, count in session.execute(
            select(values.c.measure, values.c.days, func.count()).group_by(
                values.c.measure, values.c.days
            )
        )
    }


def rebuild_totals(session: Session, fund: Fund) -> None:
    """Replace a fund's summary figures by ones recomputed from the source rows.

    Takes the fund's row lock first, as every ledger posting does, so a posting running
    at the same time either lands before the recount (and is in it) or waits for it.
    """
    session.execute(select(Fund.id).where(Fund.id == fund.id).with_for_update(key_share=True))
    session.connection().execute(delete(DashboardTotal).where(DashboardTotal.fund_id == fund.id))
    session.connection().execute(delete(DashboardDays).where(DashboardDays.fund_id == fund.id))
    totals = [
        {
            "fund_id": fund.id,
            "dimension": d,
            "key": k,
            "amount_minor": a,
            "paid_minor": p,
            "grants": g,
        }
        for (d, k), (a, p, g) in sorted(_source_totals(session, fund).items())
    ]
    days = [
        {"fund_id": fund.id, "measure": m, "days": d, "count": c}
        for (m, d), c in sorted(_source_days(session, fund).items())
    ]
    if totals:
        session.connection().execute(insert(DashboardTotal), totals)
    if days:
        session.connection().execute(insert(DashboardDays), days)


def check_totals(session: Session, fund: Fund) -> list[str]:
    """Where the maintained figures differ from the source rows (empty when in step)."""
    kept = {
        (t.dimension, t.key): (t.amount_minor, t.paid_minor, t.grants)
        for t in session.scalars(select(DashboardTotal).where(DashboardTotal.fund_id == fund.id))
        if t.amount_minor or t.paid_minor or t.grants
    }
    source = _source_totals(session, fund)
    problems = [
        f"fund {fund.id} {key}: kept {kept.get(key)}, source {source.get(key)}"
        for key in sorted(set(kept) | set(source))
        if kept.get(key) != source.get(key)
    ]
    kept_days = {
        (d.measure, d.days): d.count
        for d in session.scalars(select(DashboardDays).where(DashboardDays.fund_id == fund.id))
        if d.count
    }
    source_days = _source_days(session, fund)
    problems += [
        f"fund {fund.id} {key} days: kept {kept_days.get(key)}, source {source_days.get(key)}"
        for key in sorted(set(kept_days) | set(source_days))
        if kept_days.get(key) != source_days.get(key)
    ]
    return problems
