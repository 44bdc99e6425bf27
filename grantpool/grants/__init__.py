"""Grants: tranches with conditions, reports, two-person disbursement, amendments."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What grants tell organisations: the funds an organisation holds a grant from."""
    from sqlalchemy import select

    from ..organisations.services import FUND_LINKS
    from ..platform.links import provide
    from .models import Grant

    provide(app, FUND_LINKS, lambda: select(Grant.organisation_id, Grant.fund_id))
