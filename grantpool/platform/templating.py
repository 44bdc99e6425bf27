"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, render_template, request
from flask_babel import get_locale, get_translations
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from . import i18n
from .pagecache import FragmentCache


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


# Stand-ins for the two values of the shared header that change with every request; no
# rendered text can contain them (they hold no character HTML escapes either way).
_CSRF_SLOT = "gp-slot-csrf-2f9c"
_NEXT_SLOT = "gp-slot-next-2f9c"
_NEXT_QUERY_SLOT = "gp-slot-nextquery-2f9c"
_headers = FragmentCache(size=256, ttl=24 * 3600)


def _reader_kind() -> tuple[bool, frozenset[str], bool]:
    """All the header's links depend on: signed in, the roles held (whatever their fund
    or donor) and whether the reader belongs to any organisation."""
    if not current_user.is_authenticated:
        return (False, frozenset(), False)
    return (
        True,
        frozenset(str(a.role) for a in current_user.roles),
        bool(current_user.memberships),
    )


def site_header() -> Markup:
    """The header of every page: its links and language menu are rendered once per
    worker for each language and kind of reader (a dozen links, texts and URLs cost more
    than the rest of a small page); the CSRF token and the page to come back to are then
    filled in. In debug mode it is rendered each time, so template edits show at once."""

    # On a page whose form must not lose what was typed (a draft's section), the
    # language buttons submit that form (g.language_form names it): the page saves what
    # was typed, then switches.
    language_form = str(g.get("language_form") or "")

    def render() -> str:
        return render_template(
            "_site_header.html",
            csrf_value=_CSRF_SLOT,
            next_value=_NEXT_SLOT,
            next_query=_NEXT_QUERY_SLOT,
            language_form=language_form,
        )

    if current_app.debug:
        html = render()
    else:
        key = (str(get_locale() or "en"), request.script_root, _reader_kind(), language_form)
        html = _headers.get_or_render(key, render)
    come_back = request.full_path.rstrip("?") if request.method == "GET" else ""
    # "Sign in" brings the reader back here (not from the sign-in pages themselves).
    signing_in = request.endpoint in ("accounts.login", "intake.sign_in_with_code")
    next_query = urlencode({"next": come_back}) if come_back and not signing_in else ""
    # The rendered template is already escaped; Markup.replace escapes what it puts in.
    header = Markup(html)  # noqa: S704
    return (
        header.replace(_CSRF_SLOT, generate_csrf())
        .replace(_NEXT_SLOT, come_back)
        .replace(_NEXT_QUERY_SLOT, next_query)
    )


def init_app(app: Flask) -> None:
    # jinja2.ext.i18n (which Flask-Babel enables) adds this method to the environment at
    # run time; jinja2's types do not declare it.
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
    app.jinja_env.globals["site_header"] = site_header
    app.jinja_env.globals["language_names"] = i18n.LANGUAGE_NAMES
    app.jinja_env.globals["offered_languages"] = i18n.offered_languages
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")
