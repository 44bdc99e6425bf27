"""Read-only requests (no BEGIN/COMMIT, writes refused) and pinging only idle pooled
connections."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text

from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.platform import db as db_module
from grantpool.platform.db import WriteInReadOnlyRequest, create_db_engine
from grantpool.platform.web import reads_only
from tests.factories import make_fund


def _add_routes(app: Flask) -> None:
    @app.get("/_test/count-funds")
    @reads_only
    def count_funds() -> str:
        return str(db.session.scalar(select(func.count(Fund.id))))

    @app.get("/_test/in-transaction")
    @reads_only
    def in_transaction() -> str:
        db.session.scalar(select(func.count(Fund.id)))
        raw = db.session.connection().connection.dbapi_connection
        if hasattr(raw, "info"):  # psycopg: is a transaction open on the server?
            return str(raw.info.transaction_status.name != "IDLE")
        return str(raw.in_transaction)  # sqlite3

    @app.route("/_test/write-fund", methods=["GET", "POST"])
    @reads_only
    def write_fund() -> str:
        make_fund(db.session)
        db.session.flush()
        return "written"


def test_a_read_only_page_reads_and_a_write_in_one_is_refused(
    app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grantpool.platform import web

    monkeypatch.setattr(web, "CSRF_EXEMPT_PREFIXES", ["/_test/"])
    _add_routes(app)
    app.testing = True
    make_fund(session)
    client = app.test_client()
    assert client.get("/_test/count-funds").text == "1"
    with pytest.raises(WriteInReadOnlyRequest):
        client.get("/_test/write-fund")
    # The mark covers safe methods only: the same view may write when posted to, and the
    # next request is not read-only.
    assert client.post("/_test/write-fund").text == "written"


def test_read_only_requests_send_no_begin_or_commit(real_database: Flask) -> None:
    app = real_database
    _add_routes(app)
    engine = app.extensions["grantpool.db"]
    with app.app_context():
        make_fund(db.session)
        db.session.commit()
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.strip().split()[0].upper())

    client = app.test_client()
    client.get("/_test/count-funds")  # the pool's first connection is pinged once
    sent.clear()
    for _ in range(3):
        assert client.get("/_test/count-funds").text == "1"
    assert sent == ["SELECT"] * 3  # no BEGIN (IMMEDIATE) on SQLite, no ping
    assert client.get("/_test/in-transaction").text == "False"
    # The connection goes back to the pool in its usual mode: a later writer is atomic.
    with app.app_context():
        make_fund(db.session)
        raw = db.session.connection().connection.dbapi_connection
        in_transaction = (
            raw.info.transaction_status.name != "IDLE"
            if hasattr(raw, "info")
            else raw.in_transaction
        )
        assert in_transaction
        db.session.rollback()
        assert db.session.scalar(select(func.count(Fund.id))) == 1


# SQLite files are local: only PostgreSQL's pooled connections are pinged.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@postgresql_only
def test_pooled_connections_are_pinged_only_after_idling(
    real_database: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = real_database.extensions["grantpool.db"]
    pings: list[str] = []
    original = db_module._ping

    def counting_ping(dbapi_connection: Any) -> None:
        pings.append("ping")
        original(dbapi_connection)

    monkeypatch.setattr(db_module, "_ping", counting_ping)
    for _ in range(3):
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == ["ping"]  # a new connection once; reused at once, not again
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 0.0)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert pings == ["ping", "ping"]


@postgresql_only
def test_a_dead_pooled_connection_is_replaced_not_returned(
    real_database: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = real_database.extensions["grantpool.db"]
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    # The server ends the pooled connection meanwhile (restart, idle timeout).
    other = create_db_engine(str(engine.url.render_as_string(hide_password=False)), pool=False)
    with other.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING", 0.0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
