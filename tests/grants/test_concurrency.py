"""Real threads, real commits: twenty people press the button at the same moment.

Runs on file-backed SQLite and on PostgreSQL (when GRANTPOOL_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.accounts.models import User
from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.grants import queries, services
from grantpool.grants.commands import payment_details
from grantpool.grants.models import Disbursement, Grant, Tranche
from grantpool.intake.models import Application
from grantpool.ledger import rules as ledger_rules
from grantpool.ledger.models import LedgerTransaction
from grantpool.ledger.services import balance_of
from grantpool.platform.errors import InsufficientFunds, InvalidTransition
from grantpool.platform.money import Money

from .helpers import (
    AWARDED_AT,
    PAYMENT_DAY,
    assert_ledger_sound,
    make_application,
    make_grant,
    make_world,
)

THREADS = 20


def race(app: Flask, work: Callable[[Session, int], None], expected: tuple[type, ...]) -> list[str]:
    """Run `work` in THREADS threads released together; each commits or rolls back."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        with app.app_context():
            session = db.session
            try:
                barrier.wait(timeout=60)
                work(session, n)
                session.commit()
                result = "ok"
            except expected as exc:
                session.rollback()
                result = type(exc).__name__
            except Exception as exc:  # report, do not hide, anything else
                session.rollback()
                result = f"error: {exc!r}"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return outcomes


def test_twenty_threads_releasing_and_paying_one_tranche_pay_once(real_database: Flask) -> None:
    app = real_database
    with app.app_context():
        world = make_world(db.session)
        grant = make_grant(db.session, world, 1_000_000, risk_level="low", now=AWARDED_AT)
        tranche_id = queries.tranches_of(db.session, grant)[0].id
        ids = (world.officer.id, world.officer2.id, world.manager.id)
        fund_id, grant_id = world.fund.id, grant.id
        db.session.commit()

    def release_approve_pay(session: Session, n: int) -> None:
        officer, officer2, manager = (session.get(User, i) for i in ids)
        # Half the threads are one person's double clicks (one key), half other requests.
        key = "same-click" if n % 2 else uuid.uuid4().hex
        requester = officer if n % 2 else officer2
        approver = manager
        tranche = session.get(Tranche, tranche_id)
        disbursement = services.request_release(
            session, requester, tranche, idempotency_key=key, now=AWARDED_AT
        )
        if disbursement.state == "requested":
            services.approve_release(session, approver, disbursement, now=AWARDED_AT)
        services.record_payment(
            session,
            officer2 if requester is officer else officer,
            disbursement,
            payment_details(**{**PAYMENT_DAY, "reference": "TRX-RACE"}),
            now=AWARDED_AT,
        )

    outcomes = race(app, release_approve_pay, (InvalidTransition,))
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    # Either one of the double clicks won (its nine repeats answer with the same payment)
    # or another request did (every double click is then refused).
    assert outcomes.count("ok") in (1, THREADS // 2), outcomes

    with app.app_context():
        session = db.session
        disbursements = session.scalars(
            select(Disbursement).where(Disbursement.tranche_id == tranche_id)
        ).all()
        assert len(disbursements) == 1 and disbursements[0].state == "paid"
        payments = session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == "tranche_payment")
        )
        assert payments == 1
        fund = session.get(Fund, fund_id)
        assert balance_of(session, fund, ledger_rules.grant_paid_account(grant_id)) == Money(
            600_000, "USD"
        )
        assert_ledger_sound(session)


def test_concurrent_awards_never_over_commit_the_fund(real_database: Flask) -> None:
    """Twenty awards of 1,000.00 against 5,000.00 available: exactly five are made."""
    app = real_database
    with app.app_context():
        world = make_world(db.session, available="5000.00")
        application_ids = [make_application(db.session, world).id for _ in range(THREADS)]
        manager_id, fund_id = world.manager.id, world.fund.id
        db.session.commit()

    def award(session: Session, n: int) -> None:
        manager = session.get(User, manager_id)
        application = session.get(Application, application_ids[n])
        services.create_grant(session, manager, application, Money(100_000, "USD"))

    outcomes = race(app, award, (InsufficientFunds,))
    assert sorted(outcomes) == ["InsufficientFunds"] * 15 + ["ok"] * 5, outcomes
    with app.app_context():
        session = db.session
        fund = session.get(Fund, fund_id)
        assert session.scalar(select(func.count()).select_from(Grant)) == 5
        assert balance_of(session, fund, ledger_rules.FUND_AVAILABLE) == Money(0, "USD")
        assert_ledger_sound(session)
