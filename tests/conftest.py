"""Test fixtures.

Every database test runs twice: on SQLite (a file, as `make run` uses) and on PostgreSQL
when GRANTPOOL_TEST_DATABASE_URL names a throwaway database (CI sets it; on a laptop
without PostgreSQL those runs skip with a reason). The schema is built by running the
Alembic migrations once per backend; each test runs inside a transaction that is rolled
back, with the app's session joined to it through savepoints.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from grantpool import create_app
from grantpool.extensions import db
from grantpool.platform import migrations
from grantpool.platform.db import create_db_engine, normalise_url

PG_ENV = "GRANTPOOL_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GRANTPOOL_ENV", "testing")
    # Hash test passwords with argon2id's cheapest parameters: the suite creates thousands
    # of accounts, and at the production cost (t=3, 64 MiB) hashing alone took most of
    # its time. tests/accounts/test_passwords.py checks the production parameters.
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from grantpool.accounts import passwords

    passwords._hasher = PasswordHasher.from_parameters(CHEAPEST)


def _reset_postgresql(url: str) -> None:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    sqlite_path = tmp_path_factory.mktemp("db") / "grantpool-test.sqlite3"
    return {"sqlite": f"sqlite:///{sqlite_path}", "postgresql": os.environ.get(PG_ENV)}


_migrated: set[str] = set()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, database_urls: dict[str, str | None]) -> str:
    backend = request.param
    url = database_urls[backend]
    if url is None:
        if os.environ.get("GRANTPOOL_REQUIRE_ALL_BACKENDS"):
            pytest.fail(f"{PG_ENV} is not set but CI requires every backend")
        pytest.skip(
            f"PostgreSQL run skipped: set {PG_ENV} to a throwaway database (`.ci/run` does)"
        )
    if backend not in _migrated:
        if backend == "postgresql":
            _reset_postgresql(url)
        migrations.upgrade(url)
        _migrated.add(backend)
    return url


class RequestClient(FlaskClient):
    """A test client whose every request starts with an empty `g`.

    The fixtures keep one app context open for the whole test (so test code and requests
    share the rolled-back connection), and Flask reuses an open app context for requests;
    in production each request has its own, so `g` (CSRF token, signed-in user) must not
    leak from one request to the next here either, and a request that rolls back must not
    undo the test's own set-up.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        if has_app_context():
            g.__dict__.clear()
            # What the test set up exists before the request, as it would in real life
            # (committed into the outer test transaction, which is still rolled back).
            db.session.commit()
        return super().open(*args, **kwargs)


def make_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "ENV": "testing",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "STORAGE_URL": (tmp_path / "uploads").as_uri(),
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://localhost",
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = RequestClient
    return app


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override to change settings for one test module."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    app = make_app(database_url, tmp_path, **app_config)
    engine = app.extensions["grantpool.db"]
    connection: Connection = engine.connect()
    outer = connection.begin()
    with app.app_context(), db.bound_to(connection):
        yield app
    outer.rollback()
    connection.close()
    engine.dispose()


@pytest.fixture
def session(app: Flask) -> Session:
    return db.session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def real_database(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app whose sessions really commit (for concurrency tests). Tables are emptied after."""
    app = make_app(database_url, tmp_path)
    yield app
    engine = create_db_engine(database_url, pool=False)
    from grantpool.models import metadata

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # Lift the append-only triggers (audit, ledger) while emptying, then restore them.
            triggers = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE '%\\_no\\_delete' ESCAPE '\\'"
            ).all()
            for name, _sql in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            for _name, sql in triggers:
                conn.exec_driver_sql(sql)
    engine.dispose()
    app.extensions["grantpool.db"].dispose()


def csrf_token(client: FlaskClient) -> str:
    """Open a page to get the session's CSRF token, as a browser would."""
    import re

    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def without_csrf(response: Any) -> str:
    """A page's text without its CSRF tokens, which are signed with the current second:
    two answers compared across a second boundary differ only there."""
    import re

    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))


def login(client: FlaskClient, email: str, password: str) -> Any:
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )
    # Tests share one app context across requests, so `g` outlives a request: drop the
    # CSRF token Flask-WTF cached there for the session that signing in just replaced.
    from flask import g

    g.pop("csrf_token", None)
    return response


def sign_in_with_mailed_code(
    client: FlaskClient, session: Session, email: str, next_path: str = ""
) -> Any:
    """Enter the six-digit code of the newest mail to `email` on the code page, as a
    person who has just registered or asked for a link does."""
    import re

    from sqlalchemy import select

    from grantpool.platform.mail import OutboxMessage

    body = session.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert body, f"no mail to {email}"
    code = re.search(r"\b(\d{6})\b", body)
    assert code, body
    response = client.post(
        "/sign-in/code",
        data={
            "email": email,
            "code": code.group(1),
            "next": next_path,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    from flask import g

    g.pop("csrf_token", None)
    return response


def signed_in_client(app: Flask, user: Any) -> FlaskClient:
    """A new client signed in as `user` (whose password is tests.factories.PASSWORD)."""
    from tests.factories import PASSWORD

    client = app.test_client()
    login(client, user.email, PASSWORD)
    return client


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, with no tables, for tests that migrate or commit freely
    (SQLite: a new file; PostgreSQL: a new database beside the test one, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    base = os.environ.get(PG_ENV)
    if base is None:
        if os.environ.get("GRANTPOOL_REQUIRE_ALL_BACKENDS"):
            pytest.fail(f"{PG_ENV} is not set but CI requires every backend")
        pytest.skip(
            f"PostgreSQL run skipped: set {PG_ENV} to a throwaway database (`.ci/run` does)"
        )
    name = f"grantpool_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
