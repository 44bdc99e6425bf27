"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale

from . import i18n


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = i18n.money_filter
    app.jinja_env.filters["datetime"] = i18n.datetime_filter
    app.jinja_env.filters["minor_money"] = lambda minor, currency: i18n.money_filter(
        i18n.Money(minor, currency)
    )
    app.jinja_env.globals["language_names"] = i18n.LANGUAGE_NAMES
    app.jinja_env.globals["offered_languages"] = i18n.offered_languages
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")

    from ..accounts.rules import ROLE_LABELS
    from ..organisations.rules import LEADERSHIP_LABELS, ORGANISATION_TYPE_LABELS, country_name

    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    app.jinja_env.globals["org_type_labels"] = ORGANISATION_TYPE_LABELS
    app.jinja_env.globals["leadership_labels"] = LEADERSHIP_LABELS
    app.jinja_env.filters["country_name"] = country_name
