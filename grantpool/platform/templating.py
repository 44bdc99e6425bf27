"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_babel import get_locale, get_translations

from . import i18n


def _translations() -> Any:
    """The catalogue of the current locale, looked up once per request and locale (a page
    asks for dozens of texts; flask_babel resolves domain and locale name for each). A
    change of locale within the request (force_locale, refresh) is seen, since the cache
    is keyed by the locale object flask_babel holds."""
    locale = get_locale()
    cached = g.get("_grantpool_translations")
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    g._grantpool_translations = (locale, translations)
    return translations


def init_app(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
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
