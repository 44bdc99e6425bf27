"""The kept summary figures follow what the services say they changed (signals), and a
recount from the source rows always agrees with them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.dashboard import totals
from grantpool.dashboard.models import DashboardDays, DashboardTotal
from grantpool.funds.models import Fund
from grantpool.grants import queries as grant_queries
from grantpool.grants import services as grants
from grantpool.grants import signals as grant_signals
from grantpool.grants.commands import payment_details
from grantpool.grants.models import Grant
from grantpool.ledger import services as ledger
from grantpool.ledger import signals as ledger_signals
from grantpool.organisations import signals as organisation_signals
from grantpool.organisations.commands import organisation_details
from grantpool.organisations.services import FIELDS, update_organisation
from grantpool.platform.money import Money
from grantpool.reviews import services as reviews
from grantpool.reviews import signals as review_signals
from grantpool.reviews.commands import DecisionProposal
from grantpool.reviews.models import Decision
from grantpool.reviews.rules import DecisionKind
from tests.factories import make_donor
from tests.grants.helpers import AWARDED_AT, make_application, make_grant
from tests.grants.helpers import make_world as make_grants_world
from tests.ledger.helpers import contribute, make_finance_officer
from tests.reviews.conftest import World, build_world

from .helpers import make_pool

ROOT = Path(__file__).resolve().parents[2]
LATER = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def kept_rows(session: Session, fund: Fund) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Every non-zero kept figure of the fund."""
    figures = {
        (t.dimension, t.key): (t.amount_minor, t.paid_minor, t.grants)
        for t in session.scalars(select(DashboardTotal).where(DashboardTotal.fund_id == fund.id))
        if t.amount_minor or t.paid_minor or t.grants
    }
    days = {
        (d.measure, d.days): d.count
        for d in session.scalars(select(DashboardDays).where(DashboardDays.fund_id == fund.id))
        if d.count
    }
    return figures, days


def decide(session: Session, world: World, application: Any, proposal: DecisionProposal) -> None:
    reviews.assign_reviewer(session, world.manager, application, world.staff)
    decision = reviews.propose_decision(session, world.manager, application, proposal)
    reviews.confirm_decision(session, world.manager2, decision)


def pay_first_tranche(session: Session, world: World, grant: Grant, paid_on: dt.date) -> None:
    first, second = (
        make_finance_officer(session, world.fund),
        make_finance_officer(session, world.fund),
    )
    tranche = grant_queries.tranches_of(session, grant)[0]
    disbursement = grants.request_release(session, first, tranche)
    grants.approve_release(session, second, disbursement)
    grants.record_payment(
        session,
        second,
        disbursement,
        payment_details(reference=f"TRX-{grant.id}", method="bank_transfer", paid_on=paid_on),
    )


def test_kept_figures_equal_a_recount_after_every_kind_of_change(session: Session) -> None:
    world = build_world(session)  # a contribution of 100,000.00 USD, through the ledger
    fund = world.fund
    riverside, gulu = world.organisations
    decide(
        session,
        world,
        world.applications[0],
        DecisionProposal(DecisionKind.AWARD, 250_000, reason="Strong community lead"),
    )
    decide(
        session,
        world,
        world.applications[1],
        DecisionProposal(DecisionKind.DECLINE, reason_keys=("budget",)),
    )
    grant = session.scalar(select(Grant).where(Grant.application_id == world.applications[0].id))
    assert grant is not None
    pay_first_tranche(session, world, grant, dt.datetime.now(dt.UTC).date())
    officer = make_finance_officer(session, fund)
    donor = make_donor(session, world.manager)
    contribute(session, officer, fund, donor, "500.00", "USD")
    ledger.refund_donor(session, officer, fund, donor, Money(10_000, "USD"), "Given twice")
    ledger.record_fund_cost(session, officer, fund, Money(2_000, "USD"), "Bank charges")
    # Riverside turns out to be a national NGO, led by young people as well as women.
    details = {f: getattr(riverside, f) for f in FIELDS}
    update_organisation(
        session,
        None,
        riverside,
        organisation_details(**{**details, "org_type": "national_ngo", "youth_led": True}),
    )
    # A change that classifies nothing leaves the figures alone.
    details = {f: getattr(gulu, f) for f in FIELDS}
    update_organisation(
        session, None, gulu, organisation_details(**{**details, "contact_phone": "+256 700 1"})
    )
    grants.change_state(session, world.manager, grant, "terminated", "The group dissolved.")
    session.flush()

    figures, days = kept = kept_rows(session, fund)
    # 2,500.00 awarded; 1,000.00 (the first tranche) paid; the rest released on termination.
    grant_row = (100_000, 100_000, 1)
    assert figures[("all", "")] == grant_row
    assert figures[("call", str(world.call.id))] == grant_row
    assert [k for d, k in figures if d == "org_type"] == ["national_ngo"]
    assert figures[("leadership", "youth_led")] == figures[("leadership", "women_led")] == grant_row
    assert figures[("organisation", str(riverside.id))] == (0, 0, 1)
    assert ("organisation", str(gulu.id)) not in figures  # declined
    available = 10_000_000 + 50_000 - 250_000 + 150_000 - 10_000 - 2_000
    assert figures[("ledger", "available")] == (available, 0, 0)
    assert figures[("ledger", "paid")] == (100_000, 0, 0)
    assert figures[("ledger", "costs")] == (2_000, 0, 0)
    assert ("ledger", "outstanding") not in figures  # back to zero
    assert figures[("refund", str(donor.id))] == (10_000, 0, 0)
    assert days[("award_to_first_payment", 0)] == days[("conditions_to_payment", 0)] == 1
    assert sum(c for (m, _d), c in days.items() if m == "close_to_decision") == 2
    assert totals.check_totals(session, fund) == []
    totals.rebuild_totals(session, fund)
    assert kept_rows(session, fund) == kept


def test_a_payment_dated_before_the_first_moves_the_first_payment(session: Session) -> None:
    world = make_grants_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first, second = grant_queries.tranches_of(session, grant)
    release_and_pay(session, world, first, dt.date(2026, 1, 20))  # 15 days after the award
    report = second.conditions["all"][1]["id"]
    grants.waive_condition(session, world.manager, second, report, "Floods: the report follows")
    release_and_pay(session, world, second, dt.date(2026, 1, 9), now=LATER)  # 4 days
    assert grant.days_award_to_first_payment == 4
    _figures, days = kept_rows(session, world.fund)
    assert {(m, d): c for (m, d), c in days.items() if m == "award_to_first_payment"} == {
        ("award_to_first_payment", 4): 1
    }
    assert totals.check_totals(session, world.fund) == []


def release_and_pay(
    session: Session, world: Any, tranche: Any, paid_on: dt.date, now: dt.datetime = AWARDED_AT
) -> None:
    disbursement = grants.request_release(session, world.officer, tranche, now=now)
    grants.approve_release(session, world.officer2, disbursement, now=now)
    grants.record_payment(
        session,
        world.officer2,
        disbursement,
        payment_details(reference=f"TRX-{tranche.id}", method="bank_transfer", paid_on=paid_on),
        now=now,
    )


def test_the_dashboard_listens_through_its_own_init_app(app: Flask) -> None:
    """The receivers are connected (create_app calls the dashboard's init_app)."""
    connected = {
        ledger_signals.transaction_posted: totals.on_transaction_posted,
        grant_signals.grant_created: totals.on_grant_created,
        grant_signals.disbursement_paid: totals.on_disbursement_paid,
        review_signals.decision_confirmed: totals.on_decision_confirmed,
        organisation_signals.organisation_updated: totals.on_organisation_updated,
    }
    for signal, receiver in connected.items():
        assert receiver in list(signal.receivers_for(object())), signal.name


# Run in a fresh interpreter: what importing the dashboard (and every model) does alone.
IMPORT_ONLY = """
import importlib, inspect, json, pkgutil, sys
import grantpool.dashboard, grantpool.models
for module in pkgutil.walk_packages(grantpool.dashboard.__path__, "grantpool.dashboard."):
    importlib.import_module(module.name)
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionEvents
from grantpool.grants import signals as g
from grantpool.ledger import signals as l
from grantpool.organisations import signals as o
from grantpool.reviews import signals as r
functions = {
    f for name, m in list(sys.modules.items()) if name.startswith("grantpool")
    for f in vars(m).values() if inspect.isfunction(f) and f.__module__.startswith("grantpool")
}
events = [e for e in dir(SessionEvents) if not e.startswith("_") and e != "dispatch"]
listening = sorted(
    f"{f.__module__}.{f.__qualname__} on {e}"
    for f in functions for e in events
    if (e == "after_flush" or f.__module__.startswith("grantpool.dashboard"))
    and event.contains(Session, e, f)
)
signals = [l.transaction_posted, g.grant_created, g.disbursement_paid, r.decision_confirmed,
           o.organisation_updated]
print(json.dumps({
    "listening": listening,
    "connected": [s.name for s in signals if s.receivers],
    "dashboard_modules": sorted(n for n in sys.modules if n.startswith("grantpool.dashboard")),
}))
"""


def test_importing_the_dashboard_registers_no_listener() -> None:
    found = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY],
        cwd=ROOT,
        env={**os.environ, "GRANTPOOL_ENV": "testing"},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(found.stdout)
    assert "grantpool.dashboard.totals" in result["dashboard_modules"]
    assert result["listening"] == []
    assert result["connected"] == []  # until an application's init_app connects them


def test_dashboard_check_finds_rows_written_past_the_services_and_rebuild_mends_them(
    app: Flask, session: Session
) -> None:
    pool = make_pool(session)
    fund = pool.world.fund
    runner = app.test_cli_runner()
    consistent = runner.invoke(args=["grantpool", "dashboard-check"])
    assert consistent.exit_code == 0, consistent.output
    assert "dashboard figures consistent" in consistent.output
    # A confirmed decision imported straight into the table sends nothing.
    decision = session.scalar(
        select(Decision).where(Decision.application_id == pool.local_grant.application_id)
    )
    assert decision is not None
    session.add(
        Decision(
            application_id=make_application(session, pool.world).id,
            kind="award",
            state="confirmed",
            amount_minor=decision.amount_minor,
            currency="USD",
            reason="Imported",
            reason_keys=[],
            language="en",
            proposed_by_id=decision.proposed_by_id,
            decided_by_id=decision.decided_by_id,
            decided_at=decision.decided_at,
        )
    )
    session.flush()
    assert totals.check_totals(session, fund) != []
    stale = runner.invoke(args=["grantpool", "dashboard-check"])
    assert stale.exit_code == 1
    assert "close_to_decision" in stale.output
    rebuilt = runner.invoke(args=["grantpool", "dashboard-rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "dashboard figures rebuilt" in rebuilt.output
    assert runner.invoke(args=["grantpool", "dashboard-check"]).exit_code == 0
    assert totals.check_totals(session, fund) == []
