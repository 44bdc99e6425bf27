"""Migrations up, check, down to base and up again, on a fresh database per backend."""

from __future__ import annotations

from sqlalchemy import inspect, text

from grantpool.models import metadata
from grantpool.platform import migrations
from grantpool.platform.db import create_db_engine


def _schema(url: str) -> tuple[set[str], set[str], set[str]]:
    """Tables, triggers and user-defined types/functions in the database."""
    engine = create_db_engine(url, pool=False)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if conn.dialect.name == "sqlite":
                triggers = set(
                    conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                )
                extras: set[str] = set()
            else:
                triggers = set(
                    conn.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
                )
                extras = set(
                    conn.scalars(
                        text(
                            "SELECT proname FROM pg_proc p JOIN pg_namespace n "
                            "ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                        )
                    )
                ) | set(
                    conn.scalars(
                        text(
                            "SELECT typname FROM pg_type t JOIN pg_namespace n "
                            "ON n.oid = t.typnamespace WHERE n.nspname = 'public' "
                            "AND t.typtype = 'e'"
                        )
                    )
                )
    finally:
        engine.dispose()
    return tables, triggers, extras


def test_upgrade_check_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    model_tables = {t.name for t in metadata.sorted_tables}
    assert "audit_events" in model_tables

    migrations.upgrade(url)
    tables, triggers, _extras = _schema(url)
    assert tables == model_tables | {"alembic_version"}
    assert triggers, "the append-only audit triggers are missing"
    migrations.check(url)  # models and migrations agree

    migrations.downgrade(url, revision="base")
    tables, triggers, extras = _schema(url)
    assert tables == {"alembic_version"}
    assert triggers == set()
    assert extras == set()

    migrations.upgrade(url)
    tables, triggers_again, _extras = _schema(url)
    assert tables == model_tables | {"alembic_version"}
    assert triggers_again
    migrations.check(url)
