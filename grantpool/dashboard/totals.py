"""Keep the dashboard's summary figures in step with the data, in the same transaction.

An `after_flush` listener on every session sees what the flush wrote, whichever service
wrote it: ledger entries (money by account category, committed and disbursed per grant
dimension, refunds per donor), new grants (counted per dimension and per organisation),
paid disbursements, first payments and confirmed decisions (the speed distributions).
It adds its deltas with INSERT … ON CONFLICT DO UPDATE SET x = x + delta, so two
transactions never lose each other's increments.

When an organisation's classification changes (type, country, area, leadership, budget),
the totals of the funds it has grants in are rebuilt from the source rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..funds.models import Fund
from ..grants.models import Disbursement, Grant
from ..intake.models import Application
from ..ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind
from ..organisations.models import Organisation
from ..organisations.rules import LOCAL_AND_NATIONAL, Leadership
from ..platform.money import exponent
from ..reviews.models import Decision
from .models import DashboardDays, DashboardTotal

CLASSIFYING = (
    "org_type",
    "country",
    "area",
    "women_led",
    "youth_led",
    "refugee_migrant_led",
    "disability_led",
    "annual_budget_minor",
    "annual_budget_currency",
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
    if code == "fund:available":
        return "available"
    if code == "fund:costs":
        return "costs"
    if code.startswith("grant:") and code.endswith(":committed"):
        return "outstanding"
    if code.startswith("grant:") and code.endswith(":paid"):
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


@dataclass
class _Deltas:
    totals: dict[tuple[int, str, str], list[int]]
    days: dict[tuple[int, str, int], int]

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


def _history_change(obj: Any, attribute: str) -> tuple[list[Any], list[Any]]:
    history = inspect(obj).attrs[attribute].history
    return list(history.deleted or []), list(history.added or [])


def _after_flush(session: Session, _context: Any) -> None:
    written = list(session.new) + list(session.dirty)
    if not any(
        isinstance(o, (LedgerEntry, Grant, Disbursement, Decision, Organisation)) for o in written
    ):
        return
    deltas = _Deltas({}, {})
    grant_cache: dict[int, tuple[Grant, list[tuple[str, str]]]] = {}

    def grant_info(grant_id: int) -> tuple[Grant, list[tuple[str, str]]]:
        if grant_id not in grant_cache:
            grant = session.get(Grant, grant_id)
            assert grant is not None
            application = session.get(Application, grant.application_id)
            assert application is not None
            grant_cache[grant_id] = (
                grant,
                grant_keys(grant, application, grant.organisation, grant.fund.base_currency),
            )
        return grant_cache[grant_id]

    rebuild: set[int] = set()
    for obj in session.new:
        if isinstance(obj, LedgerEntry):
            account = session.get(LedgerAccount, obj.account_id)
            assert account is not None
            category = account_category(account.code)
            if category is not None:
                deltas.add(account.fund_id, "ledger", category, obj.amount_minor)
            ref = account.code.split(":")[1] if category in ("outstanding", "paid") else ""
            named = session.get(Grant, int(ref)) if ref.isdigit() else None
            if named is not None and named.fund_id == account.fund_id:
                # Accounts named after something other than a grant row (the ledger
                # takes any reference) have no organisation to attribute money to.
                grant, keys = grant_info(int(ref))
                paid = obj.amount_minor if category == "paid" else 0
                for dimension, key in keys:
                    deltas.add(grant.fund_id, dimension, key, obj.amount_minor, paid)
            elif account.code.startswith("donor:"):
                transaction = session.get(LedgerTransaction, obj.transaction_id)
                if transaction is not None and transaction.kind == TransactionKind.DONOR_REFUND:
                    deltas.add(
                        account.fund_id, "refund", account.code.split(":")[1], obj.amount_minor
                    )
        elif isinstance(obj, Grant):
            grant, keys = grant_info(obj.id)
            for dimension, key in keys:
                deltas.add(grant.fund_id, dimension, key, grants=1)
            deltas.add(grant.fund_id, "organisation", str(grant.organisation_id), grants=1)
    for obj in written:
        if isinstance(obj, Grant):
            old, new = _history_change(obj, "days_award_to_first_payment")
            for days in old:
                deltas.count_days(obj.fund_id, "award_to_first_payment", days, -1)
            for days in new:
                deltas.count_days(obj.fund_id, "award_to_first_payment", days)
        elif isinstance(obj, Disbursement):
            old, new = _history_change(obj, "state")
            if "paid" in new and "paid" not in old:
                deltas.count_days(
                    grant_info(obj.grant_id)[0].fund_id,
                    "conditions_to_payment",
                    obj.days_conditions_to_payment,
                )
        elif isinstance(obj, Decision):
            old, new = _history_change(obj, "state")
            if "confirmed" in new and "confirmed" not in old and obj.decided_at is not None:
                application = session.get(Application, obj.application_id)
                assert application is not None
                call = application.call
                if call.closes_at is not None:
                    seconds = int(obj.decided_at.timestamp()) - int(call.closes_at.timestamp())
                    days = seconds // 86400 if seconds >= 0 else -(-seconds // 86400)
                    deltas.count_days(call.fund_id, "close_to_decision", days)
        elif (
            isinstance(obj, Organisation)
            and obj in session.dirty
            and any(inspect(obj).attrs[name].history.has_changes() for name in CLASSIFYING)
        ):
            rebuild.update(
                session.scalars(
                    select(Grant.fund_id).where(Grant.organisation_id == obj.id).distinct()
                )
            )
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
            for (f, d, k), (a, p, g) in sorted(deltas.totals.items())
        ],
        ("amount_minor", "paid_minor", "grants"),
    )
    _upsert(
        session,
        DashboardDays,
        [
            {"fund_id": f, "measure": m, "days": d, "count": c}
            for (f, m, d), c in sorted(deltas.days.items())
            if c
        ],
        ("count",),
    )
    for fund_id in sorted(rebuild):
        fund = session.get(Fund, fund_id)
        assert fund is not None
        rebuild_totals(session, fund)


event.listen(Session, "after_flush", _after_flush)


# --- recomputing from the source rows --------------------------------------------------------


def _source_totals(session: Session, fund: Fund) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Every summary figure of a fund, recomputed with grouped SQL over the source rows."""
    from . import queries

    rows: dict[tuple[str, str], tuple[int, int, int]] = {}
    live = queries.allocation(session, fund, queries.Filters(), protect=False)
    for dimension, slices in live.dimensions.items():
        for s in slices:
            if s.grants or s.committed or s.disbursed:
                rows[(dimension, s.key)] = (s.committed, s.disbursed, s.grants)
    for category, total in queries.ledger_categories(session, fund).items():
        rows[("ledger", category)] = (total, 0, 0)
    for donor_id, total in queries.refunds_by_donor(session, fund).items():
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
