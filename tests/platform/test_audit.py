"""Audit trail: rows, the hash chain, tamper detection, append-only triggers, the CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.platform import migrations
from grantpool.platform.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainProblem,
    record_event,
    verify_chain,
)
from grantpool.platform.db import create_db_engine
from tests.factories import make_fund, make_user

SQLITE_TRIGGERS = ("audit_events_no_update", "audit_events_no_delete")


def _events(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _chain(session: Session, n: int = 4) -> list[AuditEvent]:
    """A chain of at least n events, written through record_event."""
    actor = make_user(session, Role.FUND_MANAGER.value)
    fund = make_fund(session, actor)
    for i in range(n):
        record_event(
            session,
            actor,
            "fund.note",
            fund,
            before={"n": i},
            after={"n": i + 1},
        )
    session.flush()
    events = _events(session)
    assert len(events) >= n
    return events


def _allow_tampering(session: Session) -> None:
    """Switch the append-only triggers off for the rest of this (rolled-back) test."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for name in SQLITE_TRIGGERS:
            session.execute(text(f"DROP TRIGGER {name}"))


def _set_after(session: Session, event_id: int, after: dict[str, object]) -> None:
    session.execute(
        text("UPDATE audit_events SET after = :after WHERE id = :id").bindparams(
            after=json.dumps(after), id=event_id
        )
        if session.get_bind().dialect.name == "sqlite"
        else text("UPDATE audit_events SET after = CAST(:after AS json) WHERE id = :id").bindparams(
            after=json.dumps(after), id=event_id
        )
    )
    session.expire_all()


# --- writing ------------------------------------------------------------------------------


def test_record_event_writes_a_full_row(session: Session) -> None:
    actor = make_user(session, Role.FUND_MANAGER.value, email="manager@example.org")
    fund = make_fund(session, actor, name="Water Fund")
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
    event = record_event(
        session,
        actor,
        "fund.rename",
        fund,
        before={"name": "Water Fund"},
        after={"name": "Clean Water Fund", "amount": Decimal("12.50"), "at": when, "tags": {"b"}},
    )
    event_id = event.id
    session.expunge_all()

    row = session.get(AuditEvent, event_id)
    assert row is not None
    assert row.actor_id == actor.id
    assert row.actor_label == "manager@example.org"
    assert row.action == "fund.rename"
    assert row.object_type == "fund"
    assert row.object_id == str(fund.id)
    assert row.before == {"name": "Water Fund"}
    assert row.after == {
        "name": "Clean Water Fund",
        "amount": "12.50",
        "at": "2026-03-01T12:30:00+00:00",
        "tags": ["b"],
    }
    assert row.remote_addr == "cli"
    assert row.occurred_at.tzinfo is not None
    assert abs(row.occurred_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert len(row.hash) == 64 and row.hash != row.prev_hash


def test_record_event_system_actor_and_explicit_object(session: Session) -> None:
    event = record_event(session, None, "system.tick", object_type="job", object_id=42)
    assert (event.actor_id, event.actor_label) == (None, "system")
    assert (event.object_type, event.object_id) == ("job", "42")
    with pytest.raises(ValueError):
        record_event(session, None, "system.tick")


def test_events_form_a_hash_chain(session: Session) -> None:
    events = _chain(session)
    assert events[0].prev_hash == GENESIS_HASH
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    assert len({e.hash for e in events}) == len(events)
    assert list(verify_chain(session)) == []
    assert list(verify_chain(session, batch=2)) == []


def test_empty_trail_verifies(session: Session) -> None:
    assert _events(session) == []
    assert list(verify_chain(session)) == []


# --- tampering ----------------------------------------------------------------------------


def test_edited_row_is_reported(session: Session) -> None:
    events = _chain(session)
    target = events[len(events) // 2]
    _allow_tampering(session)
    _set_after(session, target.id, {"n": 1_000_000})
    assert _events(session)[len(events) // 2].after == {"n": 1_000_000}  # it really changed
    assert list(verify_chain(session)) == [ChainProblem(target.id, "content altered")]
    assert list(verify_chain(session, batch=1)) == [ChainProblem(target.id, "content altered")]


def test_edited_row_with_recomputed_hash_breaks_the_next_link(session: Session) -> None:
    from grantpool.platform.audit import _digest

    events = _chain(session)
    target, following = events[1], events[2]
    _allow_tampering(session)
    _set_after(session, target.id, {"n": -1})
    edited = session.get(AuditEvent, target.id)
    assert edited is not None
    forged = _digest(edited)
    session.execute(
        text("UPDATE audit_events SET hash = :h WHERE id = :id").bindparams(h=forged, id=target.id)
    )
    session.expire_all()
    assert list(verify_chain(session)) == [
        ChainProblem(following.id, "previous event missing or altered")
    ]


def test_deleted_row_is_reported_on_the_next_event(session: Session) -> None:
    events = _chain(session)
    middle, following = events[1], events[2]
    _allow_tampering(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id").bindparams(id=middle.id))
    session.expire_all()
    assert list(verify_chain(session)) == [
        ChainProblem(following.id, "previous event missing or altered")
    ]


def test_deleted_first_row_is_reported(session: Session) -> None:
    events = _chain(session)
    _allow_tampering(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id").bindparams(id=events[0].id))
    session.expire_all()
    assert list(verify_chain(session)) == [
        ChainProblem(events[1].id, "previous event missing or altered")
    ]


# --- append-only --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET after = NULL WHERE id = :id",
        "UPDATE audit_events SET action = 'edited' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ],
)
def test_update_and_delete_are_refused(session: Session, statement: str) -> None:
    events = _chain(session, n=2)
    target = events[-1]
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement).bindparams(id=target.id))
    # The savepoint kept the test transaction usable and the row intact.
    assert [e.id for e in _events(session)] == [e.id for e in events]
    assert list(verify_chain(session)) == []


def test_orm_update_is_refused(session: Session) -> None:
    events = _chain(session, n=1)
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        event = session.get(AuditEvent, events[-1].id)
        assert event is not None
        event.action = "edited"
        session.flush()
    assert list(verify_chain(session)) == []


def test_emptying_the_table_is_refused(session: Session) -> None:
    # PostgreSQL has TRUNCATE (a statement trigger refuses it); SQLite only has DELETE.
    _chain(session, n=1)
    statement = (
        "TRUNCATE audit_events CASCADE"
        if session.get_bind().dialect.name == "postgresql"
        else "DELETE FROM audit_events"
    )
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert _events(session) != []


def test_sqlite_dropped_triggers_come_back_on_rollback(
    database_urls: dict[str, str | None],
) -> None:
    """The tamper tests drop the SQLite triggers inside the test transaction: DDL there is
    transactional, so the rollback at the end of each test restores them. (PostgreSQL
    tests tamper with SET LOCAL session_replication_role instead, which needs no DDL.)"""
    database_url = str(database_urls["sqlite"])
    migrations.upgrade(database_url)
    engine = create_db_engine(database_url, pool=False)
    query = text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
    )
    try:
        with engine.connect() as conn:
            outer = conn.begin()
            assert set(conn.scalars(query)) == set(SQLITE_TRIGGERS)
            for name in SQLITE_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {name}"))
            assert set(conn.scalars(query)) == set()
            outer.rollback()
        with engine.connect() as conn:
            assert set(conn.scalars(query)) == set(SQLITE_TRIGGERS)
    finally:
        engine.dispose()


# --- the CLI ------------------------------------------------------------------------------


def test_cli_audit_verify_intact(app: Flask, session: Session) -> None:
    _chain(session)
    result = app.test_cli_runner().invoke(args=["grantpool", "audit-verify"])
    assert result.exit_code == 0, result.output
    assert "audit trail intact" in result.output


def test_cli_audit_verify_reports_tampering(app: Flask, session: Session) -> None:
    events = _chain(session)
    _allow_tampering(session)
    _set_after(session, events[1].id, {"n": 99})
    session.execute(text("DELETE FROM audit_events WHERE id = :id").bindparams(id=events[2].id))
    session.expire_all()
    result = app.test_cli_runner().invoke(args=["grantpool", "audit-verify"])
    assert result.exit_code == 1
    assert "audit trail intact" not in result.output
    assert f"audit event {events[1].id}: content altered" in result.stderr
    assert f"audit event {events[3].id}: previous event missing or altered" in result.stderr


def test_writers_racing_keep_one_unbroken_chain(real_database: Flask) -> None:
    """Eight transactions append events at the same moment, each reading the chain's head
    and linking to it. The chain's lock makes them take turns, and each must read the head
    its predecessor committed: no fork (two events after one parent), no break."""
    import threading

    from grantpool.extensions import db

    app = real_database
    writers, events_each = 8, 5
    barrier = threading.Barrier(writers)
    failures: list[str] = []

    def write(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                for i in range(events_each):
                    record_event(
                        db.session, None, "test.race", object_type="race", object_id=f"{n}-{i}"
                    )
                db.session.commit()
            except Exception as exc:  # reported, not hidden
                db.session.rollback()
                failures.append(repr(exc))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with app.app_context():
        events = _events(db.session)
        assert len(events) == writers * events_each
        assert len({e.prev_hash for e in events}) == len(events)  # no fork
        assert list(verify_chain(db.session)) == []
