"""The demo data (`flask grantpool seed-demo`) shows every capability: every table the
service writes to has rows, except those only signing in and using the site fill."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import grantpool
from grantpool.demo import seed
from grantpool.ledger.services import check_ledger
from grantpool.models import metadata

FILLED_BY_USE = {
    "api_tokens",
    "form_stashes",
    "login_sessions",
    "one_time_links",
    "stored_uploads",
    "tranche_templates",
}


def test_demo_fills_every_table_but_those_use_fills(session: Session) -> None:
    logins = seed(session)
    session.flush()
    empty = {
        name
        for name, table in metadata.tables.items()
        if not session.scalar(select(func.count()).select_from(table))
    }
    assert empty == FILLED_BY_USE
    assert len(logins) == 19 and len({email for _roles, email in logins}) == 19
    assert list(check_ledger(session)) == []


def test_demo_data_lives_in_one_package() -> None:
    package = Path(grantpool.__file__).parent
    assert sorted(p.relative_to(package).as_posix() for p in package.glob("*/demo.py")) == []
    assert not (package / "demo.py").exists()
