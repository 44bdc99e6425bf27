"""PostgreSQL drops connections (a restart, a failover, an administrator's
pg_terminate_backend): the next request still answers, and a request whose connection
dies under it answers 503 "try again" with nothing half-written.

The app here commits for real (`real_database`), and its connections are ended by the
server itself, from another connection, as a restart ends them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from grantpool.accounts.models import LoginSession, User
from grantpool.accounts.services import create_api_token
from grantpool.extensions import db
from grantpool.platform.audit import AuditEvent
from grantpool.platform.db import normalise_url
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user

# SQLite is a file the process opens itself: there is no server to restart and no
# connection to drop, so these run on PostgreSQL only.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

UNAVAILABLE_GET = "grantpool cannot reach its database just now. Try again in a minute."
UNAVAILABLE_POST = (
    "grantpool cannot reach its database just now, so nothing was saved. Go back and send it "
    "again in a minute."
)


@pytest.fixture
def pg_app(real_database: Flask, database_url: str) -> Flask:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip(
            "SQLite is a file the process opens itself: there is no server to restart and no "
            "connection to drop"
        )
    return real_database


@pytest.fixture
def server(database_url: str) -> Iterator[Engine]:
    """A connection of its own to the same database, for ending the app's connections."""
    engine = create_engine(
        normalise_url(database_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    yield engine
    engine.dispose()


def terminate(server: Engine, pids: list[int]) -> list[int]:
    """End these backends as a restart does (the server tells each client and closes its
    connection), and wait until they are gone."""
    with server.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": pids},
            )
            if not left:
                return pids
            time.sleep(0.02)
    raise AssertionError(f"backends {pids} still running")


def kill_own_connection_before(
    app: Flask, server: Engine, matches: Any, *, on_commit: bool = False
) -> list[str]:
    """Once: just before the first statement `matches` picks (or the first COMMIT), the
    server ends the connection that is about to send it. Returns the statements sent."""
    engine: Engine = app.extensions["grantpool.db"]
    seen: list[str] = []
    state = {"done": False}

    def _kill(conn: Any) -> None:
        state["done"] = True
        terminate(server, [conn.connection.dbapi_connection.info.backend_pid])

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not state["done"] and not on_commit and matches(statement):
            _kill(conn)
        seen.append(statement)

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        if not state["done"] and on_commit:
            _kill(conn)

    return seen


def login(client: FlaskClient, email: str, password: str) -> Any:
    """Sign in as a browser does (each request here has an app context of its own)."""
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _count(app: Flask, statement: Any) -> Any:
    with app.app_context():
        value = db.session.scalar(statement)
        db.remove_session()
    return value


def _user(app: Flask, email: str = "awa@example.org") -> str:
    with app.app_context():
        user = make_user(db.session, email=email)
        db.session.commit()
        db.remove_session()
        return user.email


def test_requests_after_the_server_dropped_every_connection_answer(
    pg_app: Flask, server: Engine
) -> None:
    email = _user(pg_app)
    client = pg_app.test_client()
    assert login(client, email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    # Several connections in the pool (the requests' among them), all used a moment ago:
    # the ping for connections idle for 10 s does not apply. The server ends them all.
    engine: Engine = pg_app.extensions["grantpool.db"]
    held = [engine.connect() for _ in range(3)]
    pids = [c.connection.dbapi_connection.info.backend_pid for c in held]
    for connection in held:
        connection.close()
    assert engine.pool.checkedin() == len(set(pids)) == 3
    ended = terminate(server, pids)

    for _ in range(5):
        assert client.get("/").status_code == 200
    # A write too: a second browser signs in, and its sign-in is kept.
    other = pg_app.test_client()
    assert login(other, email, PASSWORD).status_code == 302
    assert _count(pg_app, select(func.count()).select_from(LoginSession)) == 2
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.info.backend_pid not in ended


def test_a_connection_dropped_mid_request_answers_503_and_keeps_nothing(
    pg_app: Flask, server: Engine
) -> None:
    email = _user(pg_app)
    client = pg_app.test_client()
    token = csrf_token(client)
    sent = kill_own_connection_before(pg_app, server, lambda s: "audit_events" in s)

    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers  # (the sign-in's rate limit may set its own)
    assert UNAVAILABLE_POST in response.get_data(as_text=True)
    # The sign-in had written its session row (or the user's last sign-in) before the
    # connection went: none of it is in the database.
    assert any(s.startswith(("INSERT INTO login_sessions", "UPDATE users")) for s in sent)
    assert _count(pg_app, select(func.count()).select_from(LoginSession)) == 0
    assert _count(pg_app, select(User.last_login_at).where(User.email == email)) is None
    assert _count(pg_app, select(func.count()).where(AuditEvent.action == "user.login")) == 0
    # The next request is served, on a new connection.
    assert login(client, email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    assert _count(pg_app, select(func.count()).select_from(LoginSession)) == 1


def test_a_connection_dropped_at_commit_answers_503_and_keeps_nothing(
    pg_app: Flask, server: Engine
) -> None:
    pg_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the commit fails late
    email = _user(pg_app)
    client = pg_app.test_client()
    token = csrf_token(client)
    kill_own_connection_before(pg_app, server, None, on_commit=True)

    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 503
    assert UNAVAILABLE_POST in response.get_data(as_text=True)
    assert _count(pg_app, select(func.count()).select_from(LoginSession)) == 0
    assert login(client, email, PASSWORD).status_code == 302
    assert _count(pg_app, select(func.count()).select_from(LoginSession)) == 1


def test_the_api_answers_503_in_json_when_the_first_statement_fails(
    pg_app: Flask, server: Engine
) -> None:
    with pg_app.app_context():
        user = make_user(db.session)
        _token, secret = create_api_token(db.session, user, "tests")
        db.session.commit()
        db.remove_session()
    client: FlaskClient = pg_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    kill_own_connection_before(pg_app, server, lambda _statement: True)

    response = client.get("/api/v1/me", headers=headers)

    assert response.status_code == 503
    assert response.get_json() == {"code": "database_unavailable", "message": UNAVAILABLE_GET}
    assert response.headers["Retry-After"] == "30"
    assert client.get("/api/v1/me", headers=headers).status_code == 200
