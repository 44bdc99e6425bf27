"""The database: declarative base, column types, engine and the request-scoped session.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so tests can bind the session to one outer
connection and roll every test back, and so the same engine set-up serves the web app,
the CLI and Alembic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from flask import Flask, current_app
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session, sessionmaker
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
    options: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if not pool:
        options["poolclass"] = NullPool
    return create_engine(url, **options)


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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Holds the engine of the current app and a thread-scoped session."""

    def __init__(self) -> None:
        self._factory = sessionmaker(expire_on_commit=False, autoflush=True)
        self.session: scoped_session[Session] = scoped_session(self._create_session)
        self._test_connection: Connection | None = None

    def init_app(self, app: Flask) -> None:
        engine = create_db_engine(
            app.config["DATABASE_URL"], echo=app.config.get("SQL_ECHO", False)
        )
        app.extensions["grantpool.db"] = engine
        app.teardown_appcontext(self._teardown)

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["grantpool.db"]
        return engine

    def _create_session(self) -> Session:
        if self._test_connection is not None:
            return self._factory(
                bind=self._test_connection, join_transaction_mode="create_savepoint"
            )
        return self._factory(bind=self.engine)

    def _teardown(self, _exc: BaseException | None) -> None:
        self.session.remove()

    @contextmanager
    def bound_to(self, connection: Connection) -> Iterator[None]:
        """Run every session on one outer connection (tests roll it back afterwards)."""
        self.session.remove()
        self._test_connection = connection
        try:
            yield
        finally:
            self.session.remove()
            self._test_connection = None
