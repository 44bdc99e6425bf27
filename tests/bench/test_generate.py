"""The benchmark's data generator, at a tiny scale on both databases: what it writes must
be as consistent as what the application writes (balanced ledger, kept dashboard figures,
published attribution records), or the benchmark measures nonsense."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench.generate import Scale, generate
from grantpool.dashboard.totals import check_totals
from grantpool.extensions import db
from grantpool.funds.models import Fund
from grantpool.ledger.services import check_ledger
from grantpool.platform import migrations
from grantpool.platform.db import create_db_engine
from grantpool.platform.time import now_utc
from grantpool.publishing.queries import iter_public_records
from tests.conftest import make_app

TINY = Scale(organisations=30, applications=300, grants=40, donors=4, calls=4)


def test_generated_data_is_consistent(empty_database_url: str, tmp_path: Path) -> None:
    migrations.upgrade(empty_database_url)
    engine = create_db_engine(empty_database_url)
    generated = generate(engine, TINY)
    engine.dispose()
    assert generated.counts["applications"] == TINY.applications
    assert generated.counts["grants"] > 0
    assert generated.counts["attribution_records"] == generated.counts["grants"]
    app = make_app(empty_database_url, tmp_path)
    with app.app_context():
        assert list(check_ledger(db.session)) == []
        fund = db.session.scalar(select(Fund))
        assert check_totals(db.session, fund) == []
        published = list(iter_public_records(db.session, now_utc()))
        # Most partners agreed to be credited; some did not, or asked for an embargo.
        assert 0 < len(published) < generated.counts["grants"]
        assert db.session.scalar(select(func.count()).select_from(Fund)) == 1
    app.extensions["grantpool.db"].dispose()
