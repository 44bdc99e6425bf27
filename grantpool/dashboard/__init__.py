"""The dashboard: a fund's money, grants and speed as figures, tables, charts and reports,
and the public transparency page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Keep the summary figures in step: receive what the ledger, grants, reviews and
    organisations say they changed (see totals.py)."""
    from . import totals

    totals.connect_receivers()
