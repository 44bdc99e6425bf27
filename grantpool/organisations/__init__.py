"""Organisations: the partners, their members, places and classification."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """What templates need from organisations: kinds, leadership and country names."""
    from .rules import LEADERSHIP_LABELS, ORGANISATION_TYPE_LABELS, country_name

    app.jinja_env.globals["org_type_labels"] = ORGANISATION_TYPE_LABELS
    app.jinja_env.globals["leadership_labels"] = LEADERSHIP_LABELS
    app.jinja_env.filters["country_name"] = country_name
