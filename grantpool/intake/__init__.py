"""Application intake: every channel converges on one submit_application service."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What intake tells the capabilities beneath it: which funds an organisation has
    applied to, and which calls have applications."""
    from sqlalchemy import select

    from ..calls.models import Call
    from ..calls.services import APPLICATIONS
    from ..organisations.services import FUND_LINKS
    from ..platform.links import provide
    from .models import Application

    provide(
        app,
        FUND_LINKS,
        lambda: select(Application.organisation_id, Call.fund_id).join(
            Call, Call.id == Application.call_id
        ),
    )
    provide(app, APPLICATIONS, lambda: select(Application.call_id, Application.id))
