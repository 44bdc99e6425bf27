"""Migrations up, check, down to base and up again, on a fresh database per backend."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from grantpool.accounts.models import Role
from grantpool.extensions import db
from grantpool.models import metadata
from grantpool.platform import migrations
from grantpool.platform.db import create_db_engine
from tests.conftest import make_app
from tests.factories import make_organisation, make_user


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


def test_rebuilding_a_table_keeps_the_rows_that_refer_to_it(
    empty_database_url: str, tmp_path: Path
) -> None:
    """SQLite changes a table by building a new one and dropping the old: with foreign
    keys enforced, the drop would delete every row that refers to it ON DELETE CASCADE
    (an organisation's members) or refuse. Migrations run with them off and checked."""
    url = empty_database_url
    migrations.upgrade(url)
    app = make_app(url, tmp_path)
    with app.app_context():
        organisation = make_organisation(db.session)
        make_user(db.session, Role.APPLICANT.value, organisations=[organisation])
        db.session.commit()
    app.extensions["grantpool.db"].dispose()

    migrations.downgrade(url, revision="0009")  # rebuilds organisations, and applications
    migrations.upgrade(url)  # and again

    engine = create_db_engine(url, pool=False)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM memberships")) == 1
            assert conn.scalar(text("SELECT count(*) FROM organisations")) == 1
            if conn.dialect.name == "sqlite":
                assert conn.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        engine.dispose()
