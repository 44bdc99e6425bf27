"""Alembic environment. The database URL comes from the caller (grantpool.platform.
migrations) or, when run as plain `alembic`, from the same settings the app reads."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from config.settings import load_settings
from grantpool.models import metadata
from grantpool.platform.db import create_db_engine

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url") or load_settings().get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set GRANTPOOL_DATABASE_URL")
    return str(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )
    if connection.dialect.name != "sqlite":
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite changes a table by copying it into a new one and dropping the old. With
    # foreign keys enforced, that drop deletes every row referring to the table ON DELETE
    # CASCADE (an organisation's members) or fails on RESTRICT. So migrations run with
    # them off (a pragma that only takes effect outside a transaction), every reference is
    # checked before the commit, and enforcement is back on afterwards.
    _foreign_keys(connection, "OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise RuntimeError(f"the migration left rows referring to nothing: {dangling}")
    finally:
        _foreign_keys(connection, "ON")


def _foreign_keys(connection: Connection, state: str) -> None:
    if connection.in_transaction():
        return  # a caller's open transaction: the pragma would do nothing
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys = {state}")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_url(), pool=False)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
