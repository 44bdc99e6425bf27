"""Benchmark scenarios of later capabilities: the reviewer queue and the dashboard, each
signed in as the person who uses it (staff made by bench.money), and the 360Giving export
of every published grant, whose workers' peak memory is measured.

Registered in bench.run.EXTRA_SCENARIOS.
"""

from __future__ import annotations

from bench import browser
from bench.generate import Generated
from bench.money import STAFF


def signed_in_cookie(email: str) -> str:
    """The session cookie of a bench user's browser (the environment was set up by
    bench.run.session_cookie)."""
    from sqlalchemy import select

    from grantpool import create_app
    from grantpool.accounts.models import User
    from grantpool.extensions import db

    app = create_app()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        cookie = browser.signed_in_cookie(app, user)
    app.extensions["grantpool.db"].dispose()
    return cookie


def later_scenarios(generated: Generated) -> list:
    from bench.run import Scenario

    assert "reviewer@bench.example.org" in STAFF
    reviewer = signed_in_cookie("reviewer@bench.example.org")
    manager = signed_in_cookie("manager@bench.example.org")
    return [
        Scenario("reviewer queue", "/reviews", headers=browser.headers(reviewer)),
        Scenario(
            f"dashboard ({generated.counts.get('grants', 0):,} grants)",
            f"/dashboard/funds/{generated.fund_id}",
            headers=browser.headers(manager),
            target=0.10,
            max_statements=20,
        ),
        Scenario(
            f"360Giving export ({generated.counts.get('attribution_records', 0):,} records)",
            "/open-data/360giving.json",
            measure_memory=True,
            connections=2,
        ),
    ]
