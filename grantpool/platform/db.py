"""The database: declarative base, column types, engine and the request-scoped session.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so tests can bind the session to one outer
connection and roll every test back, and so the same engine set-up serves the web app,
the CLI and Alembic.
"""

from __future__ import annotations

import datetime as dt
import select
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from flask import Flask, current_app
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    CursorResult,
    DateTime,
    Delete,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    Update,
    create_engine,
    event,
    exc,
)
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from .time import UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware UTC and returns aware UTC on every database; refuses naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# 64-bit keys and amounts everywhere; SQLite only autoincrements a plain INTEGER key.
BigId = BigInteger().with_variant(Integer, "sqlite")

IdPK = Annotated[int, mapped_column(BigId, primary_key=True)]
MinorUnits = Annotated[int, mapped_column(BigInteger)]
Currency = Annotated[str, mapped_column(String(3))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


def normalise_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out and use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_db_engine(url: str, *, echo: bool = False, pool: bool = True) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=None if pool else NullPool,
        )
        _configure_sqlite(engine)
        return engine
    options: dict[str, Any] = {"echo": echo}
    if not pool:
        options["poolclass"] = NullPool
    engine = create_engine(url, **options)
    _ping_idle_connections(engine)
    return engine


# A pooled connection used within this many seconds is taken to be alive unless the server
# has said otherwise (below); one idle for longer is pinged before use (a dropped idle
# connection is then replaced instead of failing a request). Pinging every checkout would
# add a round trip to every request.
IDLE_BEFORE_PING = 10.0


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT 1")
    cursor.close()
    dbapi_connection.rollback()


def _server_has_spoken(dbapi_connection: Any) -> bool:
    """Whether an idle connection has something to read. Between transactions PostgreSQL
    sends nothing, except when it ends the connection: a restart, a failover or
    pg_terminate_backend sends a last error and closes the socket. One poll of the socket
    (no round trip) therefore tells a connection the server has dropped."""
    try:
        fd = dbapi_connection.fileno()
    except Exception:
        return True  # closed already
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _writable, _failed = select.select([fd], [], [], 0)
    return bool(readable)


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get("grantpool.last_used")
        recently_used = last_used is not None and time.monotonic() - last_used <= IDLE_BEFORE_PING
        if recently_used and not _server_has_spoken(dbapi_connection):
            return
        try:
            _ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another.
            raise exc.DisconnectionError() from error

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["grantpool.last_used"] = time.monotonic()


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database could not serve the request for now (it restarted
    or dropped the connection, refused a new one, or gave up on a lock or a serialisation
    conflict), so that the same request may succeed when tried again. A programming error
    (a missing table, a violated constraint) is not."""
    if isinstance(error, exc.PendingRollbackError):
        return error.code == "8s2b"  # "Can't reconnect until invalid transaction is rolled back"
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.OperationalError):
        # SQLite says "no such table" with the same class as "database is locked".
        return "locked" in str(error.orig)
    return isinstance(error, exc.OperationalError)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take a write lock up
    # front. We emit BEGIN IMMEDIATE ourselves so that two writers never both read a
    # balance and then both spend it: the second waits (busy_timeout) for the first.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # a read-only request: each statement reads its own snapshot
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def rows_affected(session: Session, statement: Update | Delete) -> int:
    """Execute an UPDATE or DELETE (without RETURNING) and return how many rows it matched.
    Session.execute() is typed as returning a plain Result; for such a statement it is a
    CursorResult, which has the row count."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count: was RETURNING used?")
    return result.rowcount


READ_ONLY = "grantpool.read_only"


class WriteInReadOnlyRequest(RuntimeError):
    """A request declared read-only tried to write: a programming error."""


@event.listens_for(Session, "before_flush")
def _refuse_flush_when_read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (
        session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)
    ):
        raise WriteInReadOnlyRequest("a read-only request tried to write")


@event.listens_for(Session, "do_orm_execute")
def _refuse_dml_when_read_only(state: Any) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.session.info.get(READ_ONLY):
        raise WriteInReadOnlyRequest("a read-only request tried to write")


class Database:
    """Holds the engine of the current app and one session per thread."""

    def __init__(self) -> None:
        self._factory = sessionmaker(expire_on_commit=False, autoflush=True)
        # One session per thread, made on first use, as scoped_session would keep it; but
        # `session` hands out the Session itself, not a proxy, so it type-checks wherever
        # a service takes a Session.
        self._sessions = threading.local()
        self._test_connection: Connection | None = None

    def init_app(self, app: Flask) -> None:
        engine = create_db_engine(
            app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False)
        )
        app.extensions["grantpool.db"] = engine
        app.teardown_request(self._end_read_only)
        app.teardown_appcontext(self._teardown)

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["grantpool.db"]
        return engine

    @property
    def session(self) -> Session:
        """This thread's session, opened on first use and closed at the end of the app
        context (or by remove_session())."""
        session = self._current_session()
        if session is None:
            session = self._sessions.session = self._create_session()
        return session

    def _current_session(self) -> Session | None:
        session: Session | None = getattr(self._sessions, "session", None)
        return session

    def remove_session(self) -> None:
        """Close this thread's session; the next use of `session` opens a new one."""
        session = self._current_session()
        if session is not None:
            try:
                session.close()
            finally:
                del self._sessions.session

    def _create_session(self) -> Session:
        if self._test_connection is not None:
            return self._factory(
                bind=self._test_connection, join_transaction_mode="create_savepoint"
            )
        return self._factory(bind=self.engine)

    def read_only(self) -> None:
        """Declare that this request only reads. Its statements then run without BEGIN and
        COMMIT (two round trips saved; under READ COMMITTED each statement takes its own
        snapshot inside a transaction too, and SQLite takes no write lock), and any write
        raises WriteInReadOnlyRequest. Under tests, bound to an outer transaction, only
        the write guard applies."""
        session = self.session
        session.info[READ_ONLY] = True
        if self._test_connection is None and not session.in_transaction():
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    def _end_read_only(self, _exc: BaseException | None) -> None:
        # A session that outlives the request (one app context around several requests,
        # as in tests) must not stay read-only for the next one.
        session = self._current_session()
        if session is not None:
            session.info.pop(READ_ONLY, None)

    def _teardown(self, _exc: BaseException | None) -> None:
        self.remove_session()

    @contextmanager
    def bound_to(self, connection: Connection) -> Iterator[None]:
        """Run every session on one outer connection (tests roll it back afterwards)."""
        self.remove_session()
        self._test_connection = connection
        try:
            yield
        finally:
            self.remove_session()
            self._test_connection = None
