"""Benchmark data for grants and money: contributions from the donors, grants of awarded
applications with three tranches each, the disbursements of paid tranches, the confirmed
decisions behind the grants, a reviewer's queue, and every ledger transaction, entry and
balance snapshot these imply, so `check_ledger` finds nothing wrong. The entries are
built with grantpool.ledger.rules, the account codes and balancing the application posts
with, and refused as `post_transaction` would refuse them.

Run by bench.generate.generate, after the applications.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from bench.rows import Generated, Scale, insert_returning_ids, insert_rows, table
from grantpool.ledger import rules
from grantpool.ledger.models import TransactionKind
from grantpool.platform.time import now_utc

STAFF = {
    "manager@bench.example.org": ("fund_manager", "Bench Fund Manager"),
    "manager2@bench.example.org": ("fund_manager", "Bench Second Manager"),
    "officer@bench.example.org": ("finance_officer", "Bench Finance Officer"),
    "officer2@bench.example.org": ("finance_officer", "Bench Second Officer"),
    "reviewer@bench.example.org": ("reviewer", "Bench Reviewer"),
}
QUEUE_LENGTH = 200
FUND_COST_MINOR = 5_000_000


class Ledger:
    """Collects transactions and their entries in memory, then writes them in bulk. Each
    posting is checked as grantpool.ledger.services.post_transaction checks it."""

    def __init__(self, fund_id: int, created_by: int) -> None:
        self.fund_id = fund_id
        self.created_by = created_by
        self.transactions: list[dict[str, Any]] = []
        self.lines: list[list[tuple[str, int]]] = []
        self.balances: dict[str, int] = {}

    def post(self, kind: str, lines: Sequence[tuple[str, int]], at: dt.datetime, text: str) -> int:
        """Add a transaction; ValueError, having added nothing, for an unknown kind or
        account code, entries that do not sum to zero, or a guarded account (fund:available,
        grant:G:committed) taken below zero."""
        if kind not in TransactionKind.ALL:
            raise ValueError(f"unknown transaction kind {kind!r}")
        if len(lines) < 2:
            raise ValueError("a transaction needs at least two entries")
        for code, _amount in lines:
            if not rules.is_valid_account_code(code):
                raise ValueError(f"not a ledger account code: {code!r}")
        if not rules.is_balanced(amount for _code, amount in lines):
            raise ValueError("the entries of a transaction must sum to zero")
        net = rules.net_by_account(lines)
        for code, change in net.items():
            if rules.must_stay_non_negative(code) and self.balances.get(code, 0) + change < 0:
                raise ValueError(f"{code} would go below zero ({text})")
        self.transactions.append(
            {
                "fund_id": self.fund_id,
                "kind": kind,
                "description": text,
                "idempotency_key": None,
                "request_fingerprint": None,
                "created_by_id": self.created_by,
                "created_at": at,
                "reverses_id": None,
            }
        )
        self.lines.append(list(lines))
        for code, change in net.items():
            self.balances[code] = self.balances.get(code, 0) + change
        return len(self.transactions) - 1  # an index, resolved to an id by write()

    def write(self, engine: Engine, now: dt.datetime) -> list[int]:
        codes = sorted(self.balances)
        account_ids = dict(
            zip(
                codes,
                insert_returning_ids(
                    engine,
                    "ledger_accounts",
                    [{"fund_id": self.fund_id, "code": code, "created_at": now} for code in codes],
                ),
                strict=True,
            )
        )
        insert_rows(
            engine,
            "ledger_balances",
            (
                {
                    "account_id": account_ids[code],
                    "balance_minor": self.balances[code],
                    "version": 1,
                }
                for code in codes
            ),
        )
        transaction_ids = insert_returning_ids(engine, "ledger_transactions", self.transactions)
        insert_rows(
            engine,
            "ledger_entries",
            (
                {"transaction_id": tx, "account_id": account_ids[code], "amount_minor": amount}
                for tx, lines in zip(transaction_ids, self.lines, strict=True)
                for code, amount in lines
            ),
        )
        return transaction_ids


def _staff(engine: Engine, fund_id: int, now: dt.datetime) -> dict[str, int]:
    insert_rows(
        engine,
        "users",
        (
            {
                "email": email,
                "name": name,
                "password_hash": None,
                "locale": "en",
                "timezone": None,
                "active": True,
                "created_at": now,
                "last_login_at": None,
                "password_changed_at": None,
            }
            for email, (_role, name) in STAFF.items()
        ),
    )
    users = table("users")
    with engine.connect() as conn:
        ids = dict(
            conn.execute(
                select(users.c.email, users.c.id).where(users.c.email.in_(list(STAFF)))
            ).all()
        )
    insert_rows(
        engine,
        "role_assignments",
        (
            {
                "user_id": ids[email],
                "role": role,
                "fund_id": fund_id,
                "donor_id": None,
                "created_at": now,
            }
            for email, (role, _name) in STAFF.items()
        ),
    )
    return ids


def generate_money(
    engine: Engine, rng: random.Random, generated: Generated, scale: Scale
) -> dict[str, int]:
    now = now_utc()
    fund_id = generated.fund_id
    staff = _staff(engine, fund_id, now)
    manager, manager2 = staff["manager@bench.example.org"], staff["manager2@bench.example.org"]
    officer, officer2 = staff["officer@bench.example.org"], staff["officer2@bench.example.org"]
    apps, calls = table("applications"), table("calls")
    with engine.connect() as conn:
        awarded = conn.execute(
            select(
                apps.c.id,
                apps.c.organisation_id,
                apps.c.requested_minor,
                apps.c.submitted_at,
                apps.c.language,
                calls.c.closes_at,
            )
            .join(calls, calls.c.id == apps.c.call_id)
            .where(apps.c.state == "awarded", calls.c.state == "closed")
            .order_by(apps.c.id)
            .limit(scale.grants)
        ).all()
        donor_table = table("donors")
        donors = conn.execute(
            select(donor_table.c.id, donor_table.c.currency).order_by(donor_table.c.id)
        ).all()
    ledger = Ledger(fund_id, officer)

    # Money in first, enough for every grant and the fund's cost, so fund:available never
    # needs to go below zero.
    total_grants = sum(int(a.requested_minor) for a in awarded)
    target = int(total_grants * 1.15) + FUND_COST_MINOR + 1_000_000
    contributions: list[dict[str, Any]] = []
    contribution_tx: list[int] = []
    per_donor = max(1, target // (len(donors) * 4))
    start = now - dt.timedelta(days=1500)
    for donor_id, currency in donors:
        for k in range(4):
            rate = Decimal("1") if currency == "USD" else Decimal("1.0842")
            base = per_donor + rng.randrange(0, 100_000)
            own = int((Decimal(base) / rate).to_integral_value())
            base = int((Decimal(own) * rate).to_integral_value())
            at = start + dt.timedelta(days=k * 30 + rng.randrange(20))
            contribution_tx.append(
                ledger.post(
                    TransactionKind.CONTRIBUTION,
                    [(rules.FUND_AVAILABLE, base), (rules.donor_account(donor_id), -base)],
                    at,
                    f"contribution from donor {donor_id}",
                )
            )
            contributions.append(
                {
                    "fund_id": fund_id,
                    "donor_id": donor_id,
                    "amount_minor": own,
                    "currency": currency,
                    "exchange_rate": rate,
                    "base_amount_minor": base,
                    "received_at": at,
                    "earmark_theme": rng.choice([None, None, "water", "health"]),
                    "earmark_country": rng.choice([None, None, "KE", "UG"]),
                    "recorded_by_id": officer,
                    "created_at": at,
                }
            )
    insert_rows(
        engine,
        "fund_donors",
        (
            {"fund_id": fund_id, "donor_id": donor_id, "created_at": start}
            for donor_id, _c in donors
        ),
    )
    insert_rows(
        engine,
        "pledges",
        (
            {
                "fund_id": fund_id,
                "donor_id": donor_id,
                "amount_minor": per_donor,
                "currency": currency,
                "expected_on": (now + dt.timedelta(days=90)).date(),
                "note": None,
                "recorded_by_id": officer,
                "created_at": now - dt.timedelta(days=10),
            }
            for donor_id, currency in donors
        ),
    )
    ledger.post(
        TransactionKind.FUND_COST,
        [(rules.FUND_COSTS, FUND_COST_MINOR), (rules.FUND_AVAILABLE, -FUND_COST_MINOR)],
        start + dt.timedelta(days=200),
        "fund management",
    )

    grants: list[dict[str, Any]] = []
    for row in awarded:
        awarded_at = min(
            row.closes_at + dt.timedelta(days=rng.randrange(5, 45)), now - dt.timedelta(days=1)
        )
        grants.append(
            {
                "fund_id": fund_id,
                "organisation_id": row.organisation_id,
                "application_id": row.id,
                "amount_minor": int(row.requested_minor),
                "currency": "USD",
                "start_on": awarded_at.date(),
                "end_on": awarded_at.date() + dt.timedelta(days=365),
                "risk_level": "medium",
                "language": row.language,
                "state": "active",
                "awarded_at": awarded_at,
                "awarded_by_id": manager,
                "first_paid_on": None,
                "days_award_to_first_payment": None,
                "closed_at": None,
                "version": 1,
            }
        )
    tranches: list[dict[str, Any]] = []
    payments: list[tuple[int, int, dict[str, Any]]] = []  # (grant index, tranche index, …)
    for g_index, grant in enumerate(grants):
        amount = grant["amount_minor"]
        parts = [amount * 4 // 10, amount * 3 // 10]
        parts.append(amount - sum(parts))
        awarded_on = grant["start_on"]
        paid_count = rng.choices([0, 1, 2, 3], weights=[1, 5, 3, 1])[0]
        for number, part in enumerate(parts, start=1):
            due_on = awarded_on + dt.timedelta(days=120 * (number - 1))
            paid_on = due_on + dt.timedelta(days=rng.randrange(1, 20))
            paid = number <= paid_count and paid_on < now.date()
            tranches.append(
                {
                    "grant_id": g_index,
                    "number": number,
                    "amount_minor": part,
                    "currency": "USD",
                    "due_on": due_on,
                    "conditions": {"all": []},
                    "state": "paid" if paid else "scheduled",
                    "version": 1,
                }
            )
            if paid:
                payments.append(
                    (
                        g_index,
                        len(tranches) - 1,
                        {
                            "paid_on": paid_on,
                            "met_on": due_on,
                            "days_award": (paid_on - awarded_on).days,
                        },
                    )
                )
                if grant["first_paid_on"] is None:
                    grant["first_paid_on"] = paid_on
                    grant["days_award_to_first_payment"] = (paid_on - awarded_on).days

    grant_ids = insert_returning_ids(engine, "grants", grants)
    for grant_id, grant in zip(grant_ids, grants, strict=True):
        ledger.post(
            TransactionKind.GRANT_COMMITMENT,
            [
                (rules.grant_committed_account(grant_id), grant["amount_minor"]),
                (rules.FUND_AVAILABLE, -grant["amount_minor"]),
            ],
            grant["awarded_at"],
            f"commitment to grant {grant_id}",
        )
    for tranche in tranches:
        tranche["grant_id"] = grant_ids[tranche["grant_id"]]
    tranche_ids = insert_returning_ids(engine, "tranches", tranches)
    payment_tx = []
    for g_index, t_index, info in payments:
        grant_id, amount = grant_ids[g_index], tranches[t_index]["amount_minor"]
        at = dt.datetime.combine(info["paid_on"], dt.time(9), dt.UTC)
        payment_tx.append(
            ledger.post(
                TransactionKind.TRANCHE_PAYMENT,
                [
                    (rules.grant_paid_account(grant_id), amount),
                    (rules.grant_committed_account(grant_id), -amount),
                ],
                at,
                f"grant {grant_id} tranche {tranches[t_index]['number']}",
            )
        )
    transaction_ids = ledger.write(engine, now)

    insert_rows(
        engine,
        "contributions",
        (
            {**c, "transaction_id": transaction_ids[i]}
            for c, i in zip(contributions, contribution_tx, strict=True)
        ),
    )

    def disbursements() -> Iterator[dict[str, Any]]:
        for (g_index, t_index, info), tx in zip(payments, payment_tx, strict=True):
            requested = dt.datetime.combine(info["met_on"], dt.time(8), dt.UTC)
            amount = tranches[t_index]["amount_minor"]
            yield {
                "grant_id": grant_ids[g_index],
                "tranche_id": tranche_ids[t_index],
                "state": "paid",
                "amount_minor": amount,
                "currency": "USD",
                "idempotency_key": None,
                "request_fingerprint": None,
                "requested_by_id": officer,
                "requested_at": requested,
                "conditions_met_on": info["met_on"],
                "approved_by_id": officer2,
                "approved_at": requested,
                "rejected_by_id": None,
                "rejected_at": None,
                "rejection_reason": None,
                "paid_by_id": officer2,
                "paid_on": info["paid_on"],
                "payment_reference": f"BENCH-{tx}",
                "payment_method": "bank_transfer",
                "payment_amount_minor": amount,
                "payment_currency": "USD",
                "exchange_rate": Decimal(1),
                "transaction_id": transaction_ids[tx],
                "days_award_to_payment": info["days_award"],
                "days_conditions_to_payment": (info["paid_on"] - info["met_on"]).days,
            }

    counts = {
        "grants": len(grant_ids),
        "tranches": len(tranche_ids),
        "disbursements": insert_rows(engine, "disbursements", disbursements()),
        "contributions": len(contributions),
        "ledger_transactions": len(transaction_ids),
        "ledger_entries": sum(len(lines) for lines in ledger.lines),
    }
    counts["decisions"] = insert_rows(
        engine,
        "decisions",
        (
            {
                "application_id": row.id,
                "kind": "award",
                "state": "confirmed",
                "amount_minor": int(row.requested_minor),
                "currency": "USD",
                "reason": "Strong community support.",
                "reason_keys": [],
                "feedback": None,
                "language": row.language,
                "proposed_by_id": manager,
                "proposed_at": grant["awarded_at"],
                "decided_by_id": manager2,
                "decided_at": grant["awarded_at"],
                "rejection_note": None,
            }
            for row, grant in zip(awarded, grants, strict=True)
        ),
    )
    counts["attribution_records"] = _attribution(
        engine, rng, grant_ids, [int(row.organisation_id) for row in awarded], now
    )
    counts["review_assignments"] = _reviewer_queue(engine, generated, staff, now)
    counts["dashboard_totals"] = _dashboard_totals(engine, fund_id)
    return counts


def _attribution(
    engine: Engine,
    rng: random.Random,
    grant_ids: list[int],
    organisation_ids: list[int],
    now: dt.datetime,
) -> int:
    """How partners want to be credited: most by their own name, some anonymised, a few
    not at all; consent given on most grants, with embargoes, withdrawals and safety flags
    in realistic proportions, so the open-data exports have real work to do."""
    insert_rows(
        engine,
        "attribution_settings",
        (
            {
                "organisation_id": organisation_id,
                "grant_id": None,
                "naming": rng.choice(["own_name"] * 6 + ["anonymised"] * 3 + ["not_published"]),
                "location_precision": rng.choice(["area", "area", "country", "hidden"]),
                "descriptions": {
                    "en": "We repaired wells and trained a water committee.",
                    "fr": "Nous avons réparé des puits et formé un comité de l'eau.",
                },
                "logo_key": None,
                "logo_content_type": None,
                "updated_by_id": None,
                "updated_at": now,
            }
            for organisation_id in sorted(set(organisation_ids))
        ),
    )

    def records() -> Iterator[dict[str, Any]]:
        for grant_id in grant_ids:
            draw = rng.random()
            state = "given" if draw < 0.8 else ("not_given" if draw < 0.95 else "withdrawn")
            flagged = rng.random() < 0.01
            yield {
                "grant_id": grant_id,
                "consent_state": state,
                "consent_scope": rng.choice(["named", "named", "named", "anonymised"])
                if state == "given"
                else None,
                "embargo_until": (now + dt.timedelta(days=90)).date()
                if state == "given" and rng.random() < 0.05
                else None,
                "consent_changed_at": now if state != "not_given" else None,
                "safety_flag": flagged,
                "safety_reason": "Threats reported by the partner." if flagged else None,
                "theme": rng.choice(["water", "health", "education", "livelihoods"]),
                "humanitarian": rng.random() < 0.3,
                "capacity_provided": "Financial management training.",
                "version": 1,
            }

    return insert_rows(engine, "attribution_records", records())


def _dashboard_totals(engine: Engine, fund_id: int) -> int:
    """The summary figures the services would have kept, recomputed from the rows."""
    from sqlalchemy import func
    from sqlalchemy.orm import Session

    from grantpool.dashboard.models import DashboardTotal
    from grantpool.dashboard.totals import rebuild_totals
    from grantpool.funds.models import Fund

    with Session(engine) as session:
        fund = session.get(Fund, fund_id)
        assert fund is not None
        rebuild_totals(session, fund)
        session.commit()
        return int(session.scalar(select(func.count()).select_from(DashboardTotal)) or 0)


def _reviewer_queue(
    engine: Engine, generated: Generated, staff: dict[str, int], now: dt.datetime
) -> int:
    """A reviewer with QUEUE_LENGTH applications of the open call to review."""
    apps = table("applications")
    with engine.connect() as conn:
        ids = list(
            conn.scalars(
                select(apps.c.id)
                .where(apps.c.call_id == generated.open_call_id, apps.c.state == "submitted")
                .order_by(apps.c.id)
                .limit(QUEUE_LENGTH)
            )
        )
    return insert_rows(
        engine,
        "review_assignments",
        (
            {
                "application_id": app_id,
                "reviewer_id": staff["reviewer@bench.example.org"],
                "kind": "staff",
                "state": "assigned",
                "assigned_by_id": staff["manager@bench.example.org"],
                "assigned_at": now,
                "due_at": now + dt.timedelta(days=14 + i % 7),
                "declared_at": None,
                "conflict_nature": None,
                "reassigned_at": None,
            }
            for i, app_id in enumerate(ids)
        ),
    )
