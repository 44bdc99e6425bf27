"""The pooled-fund ledger: accounts, balanced append-only transactions, contributions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What the ledger tells funds: the funds a donor has pledged or given to."""
    from sqlalchemy import select

    from ..funds.services import DONATIONS
    from ..platform.links import provide
    from .models import Contribution, Pledge

    provide(app, DONATIONS, lambda: select(Contribution.donor_id, Contribution.fund_id))
    provide(app, DONATIONS, lambda: select(Pledge.donor_id, Pledge.fund_id))
