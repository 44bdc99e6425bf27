"""The benchmark's data generator, at a tiny scale on both databases: what it writes must
be as consistent as what the application writes (balanced ledger, kept dashboard figures,
published attribution records), or the benchmark measures nonsense."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

import bench.money  # noqa: F401 - registers the grants, money and attribution generator
from bench.generate import Scale, generate
from grantpool.dashboard.totals import check_totals
from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.ledger.services import check_ledger
from grantpool.platform import migrations
from grantpool.platform.db import create_db_engine, normalise_url
from grantpool.platform.time import now_utc
from grantpool.publishing.queries import iter_public_records
from tests.conftest import PG_ENV, make_app

TINY = Scale(organisations=30, applications=300, grants=40, donors=4, calls=4)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own (the generator commits), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bench.sqlite3'}"
        return
    base = os.environ.get(PG_ENV)
    if base is None:
        if os.environ.get("GRANTPOOL_REQUIRE_ALL_BACKENDS"):
            pytest.fail(f"{PG_ENV} is not set but CI requires every backend")
        pytest.skip(f"PostgreSQL run skipped: set {PG_ENV} to a throwaway database")
    name = f"grantpool_bench_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_generated_data_is_consistent(empty_database: str, tmp_path: Path) -> None:
    migrations.upgrade(empty_database)
    engine = create_db_engine(empty_database)
    generated = generate(engine, TINY)
    engine.dispose()
    assert generated.counts["applications"] == TINY.applications
    assert generated.counts["grants"] > 0
    assert generated.counts["attribution_records"] == generated.counts["grants"]
    app = make_app(empty_database, tmp_path)
    with app.app_context():
        assert list(check_ledger(db.session)) == []
        fund = db.session.scalar(select(Fund))
        assert check_totals(db.session, fund) == []
        published = list(iter_public_records(db.session, now_utc().date()))
        # Most partners agreed to be credited; some did not, or asked for an embargo.
        assert 0 < len(published) < generated.counts["grants"]
        assert db.session.scalar(select(func.count()).select_from(Fund)) == 1
    app.extensions["grantpool.db"].dispose()
