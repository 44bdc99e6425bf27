"""grantpool: pooled funds for local organisations."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    pass


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("GRANTPOOL_INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _configure(app, config or {})

    from . import extensions, models  # noqa: F401 - every mapper known before first use
    from .platform import i18n, web

    web.bound_path_integers(app)

    extensions.db.init_app(app)
    from .platform import assets, mail, sqlcount

    mail.init_app(app)  # development: mail is sent once the transaction that queued it commits
    # after_request functions run in reverse order of registration: registered before
    # platform.web's, these run after the commit: caching and compression, then the count.
    sqlcount.init_app(app)
    assets.init_app(app)
    extensions.csrf.init_app(app)
    extensions.babel.init_app(
        app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone
    )
    extensions.limiter.init_app(app)
    extensions.login_manager.init_app(app)
    extensions.api.init_app(app)
    web.init_web(app)  # after Api: our error handlers answer HTML or JSON as fits

    from .platform import storage, templating

    storage.init_app(app)
    templating.init_app(app)

    from .platform.api import docs_bp

    app.register_blueprint(docs_bp)
    from .platform import pages

    pages.init_app(app)
    _register_capabilities(app)

    from .platform.bodylimit import ChunkedBodyLimit

    # Wrapping app.wsgi_app is how Flask documents adding WSGI middleware; its type
    # declares wsgi_app a method, hence the two method-assign ignores.
    app.wsgi_app = ChunkedBodyLimit(  # type: ignore[method-assign]
        app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH")
    )
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from .cli import register_cli

    register_cli(app)
    return app


def _configure(app: Flask, overrides: Mapping[str, Any]) -> None:
    settings = load_settings()
    settings.update(overrides)
    env = settings["ENV"]
    if env not in {"development", "testing", "production"}:
        raise ConfigurationError(
            f"GRANTPOOL_ENV must be development, testing or production, not {env!r}"
        )
    if not settings.get("SECRET_KEY"):
        if env == "production":
            raise ConfigurationError(
                "GRANTPOOL_SECRET_KEY is not set. Set it to a long random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        settings["SECRET_KEY"] = "dev-only-" + env
    if not settings.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'grantpool.sqlite3'}"
    if not settings.get("STORAGE_URL"):
        settings["STORAGE_URL"] = (Path(app.instance_path) / "uploads").as_uri()
    if settings.get("MAIL_SEND_ON_COMMIT") is None:
        settings["MAIL_SEND_ON_COMMIT"] = env == "development"
    elif settings["MAIL_SEND_ON_COMMIT"] and env == "production":
        raise ConfigurationError(
            "GRANTPOOL_MAIL_SEND_ON_COMMIT is for development only: in production, send "
            "the outbox with `flask grantpool send-mail` (e.g. every minute from cron)."
        )
    secure = settings.get("SESSION_COOKIE_SECURE")
    app.config.update(settings)
    app.config.update(
        TESTING=env == "testing" or bool(overrides.get("TESTING")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=(env == "production") if secure is None else bool(secure),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=(env == "production") if secure is None else bool(secure),
        PERMANENT_SESSION_LIFETIME=60 * 60 * 12,
        WTF_CSRF_CHECK_DEFAULT=False,  # platform.web decides which requests need a token
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_I18N_ENABLED=True,
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "translations"),
        BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
        BABEL_DEFAULT_TIMEZONE="UTC",
        RATELIMIT_STORAGE_URI=settings["RATELIMIT_STORAGE_URI"],
        RATELIMIT_ENABLED=settings["RATELIMIT_ENABLED"],
        RATELIMIT_HEADERS_ENABLED=True,
        API_TITLE="grantpool API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in overrides.items() if k not in settings})


# Each capability is a package with views (HTML) and api (JSON) modules and a
# permissions module whose rules register on import; a package's own `init_app(app)`, if
# it has one, adds what its templates need (platform never imports a capability).
CAPABILITIES = [
    "accounts",
    "organisations",
    "funds",
    "ledger",
    "calls",
    "intake",
    "reviews",
    "grants",
    "attribution",
    "publishing",
    "dashboard",
    "admin",
]


def _register_capabilities(app: Flask) -> None:
    import importlib

    from .extensions import api

    for name in CAPABILITIES:
        package = importlib.import_module(f"{__name__}.{name}")
        if hasattr(package, "init_app"):  # its own Jinja globals and filters, say
            package.init_app(app)
        for module_name in ("permissions", "views", "api", "openrosa"):
            try:
                module = importlib.import_module(f"{__name__}.{name}.{module_name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"{__name__}.{name}.{module_name}":
                    continue
                raise
            blueprint = getattr(module, "bp", None) or getattr(module, "blp", None)
            if blueprint is None:
                continue
            if module_name == "api":
                api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
            else:
                app.register_blueprint(blueprint)
