"""Default settings. Each can be overridden by an environment variable GRANTPOOL_<NAME>.

The README's configuration table is generated from SETTINGS below (`flask grantpool
settings`), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: list[Setting] = [
    Setting("ENV", "development", "development, testing or production"),
    Setting(
        "SECRET_KEY", None, "signs sessions and links; required outside development and testing"
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL; default is SQLite in the instance folder. "
        "`DATABASE_URL` without the prefix is read too",
    ),
    Setting(
        "STORAGE_URL", None, "`file:///path` (default: instance/uploads) or `s3://bucket/prefix`"
    ),
    Setting("S3_ENDPOINT_URL", None, "endpoint of an S3-compatible server (MinIO, Ceph…)"),
    Setting("S3_REGION", "us-east-1", "region of the S3 bucket"),
    Setting("S3_CONNECT_TIMEOUT", 3, "seconds to wait for a connection to S3", int),
    Setting(
        "S3_READ_TIMEOUT",
        3,
        "seconds to wait for S3 to answer (each read); past it the attempt fails",
        int,
    ),
    Setting(
        "S3_MAX_ATTEMPTS",
        2,
        "attempts at each S3 request, the first included; then the person is asked to try "
        "again (503)",
        int,
    ),
    Setting("UPLOAD_MAX_BYTES", 10 * 1024 * 1024, "largest accepted upload, in bytes", int),
    Setting(
        "UPLOAD_QUOTA_BYTES_PER_ORGANISATION",
        500 * 1024 * 1024,
        "storage for each organisation's files, in bytes; an upload past it is refused",
        int,
    ),
    Setting(
        "UPLOAD_RATE_PER_HOUR",
        60,
        "files an organisation (or a person, for spreadsheet imports) may upload per hour",
        int,
    ),
    Setting(
        "UPLOAD_RETENTION_HOURS",
        48,
        "`purge-uploads` deletes files never attached to an application or report after "
        "this long (at least 24, an upload token's lifetime)",
        int,
    ),
    Setting("MAX_CONTENT_LENGTH", 25 * 1024 * 1024, "largest request body, chunked ones too", int),
    Setting("LANGUAGES", "en,fr", "offered interface languages, comma separated", str),
    Setting("DEFAULT_LOCALE", "en", "language when nothing else says"),
    Setting("DEFAULT_TIMEZONE", "UTC", "time zone for people without one"),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "rate-limit counters; use `redis://host:6379` with several workers",
    ),
    Setting("RATELIMIT_ENABLED", True, "turn rate limiting off (never in production)", bool),
    Setting("TRUSTED_PROXIES", 0, "how many proxies in front set X-Forwarded-For", int),
    Setting(
        "SESSION_COOKIE_SECURE",
        None,
        "send cookies over HTTPS only (default: on in production)",
        bool,
    ),
    Setting("MAIL_BACKEND", "console", "`console` (prints mail to standard output) or `smtp`"),
    Setting("MAIL_FROM", "grantpool <no-reply@grantpool.localhost>", "sender of every message"),
    Setting("SMTP_HOST", "127.0.0.1", "SMTP server"),
    Setting("SMTP_PORT", 25, "SMTP port", int),
    Setting("SMTP_USERNAME", None, "SMTP login"),
    Setting("SMTP_PASSWORD", None, "SMTP password"),
    Setting("SMTP_STARTTLS", False, "use STARTTLS", bool),
    Setting("SMTP_TIMEOUT", 30, "seconds to wait for the SMTP server at each step", int),
    Setting(
        "MAIL_SENDING_TIMEOUT",
        15,
        "minutes after which a message still marked as being sent (its sender was stopped "
        "mid-send) is sent again by the next `send-mail`",
        int,
    ),
    Setting(
        "MAIL_SEND_ON_COMMIT",
        None,
        "development only: send each message as soon as the change that queued it commits, "
        "without `send-mail` (default: on in development, off otherwise; refused in "
        "production)",
        bool,
    ),
    Setting("BASE_URL", "http://127.0.0.1:5000", "public address used in emailed links"),
    Setting(
        "OPEN_DATA_PREFIX",
        "360G-grantpool",
        "360Giving identifier prefix (360G-…) of published grants and unregistered partners",
    ),
    Setting(
        "GIVING_FUNDER_ORG_ID",
        None,
        "the fund manager's org-id.guide identifier, funder of every grant in the 360Giving "
        "file (unset: `<OPEN_DATA_PREFIX>-FUND-<fund id>`)",
    ),
    Setting(
        "IATI_ORG_REF",
        None,
        "the fund manager's IATI organisation identifier (reporting-org), e.g. "
        "`GB-CHC-1234567`; required in production (the IATI file answers 503 until "
        "set); empty elsewhere means the marked example `XI-IATI-EXAMPLE`",
    ),
    Setting(
        "IATI_ORG_TYPE",
        None,
        "the fund manager's IATI OrganisationType code (e.g. `21` international NGO, "
        "`22` national NGO); required in production; empty elsewhere means `90`",
    ),
    Setting(
        "FUND_MANAGER_NAME",
        "the fund manager",
        "who runs this service, named in every page's footer and in the privacy notice",
    ),
    Setting(
        "CONTACT_EMAIL",
        "contact@grantpool.localhost",
        "address applicants and partners write to, in every page's footer and the privacy notice",
    ),
    Setting(
        "PRIVACY_NOTICE_URL",
        None,
        "address of the fund manager's own privacy notice; unset, the footer links to the "
        "built-in one at /privacy",
    ),
    Setting("INVITATION_DAYS", 7, "how long an invitation link works", int),
    Setting("PASSWORD_RESET_MINUTES", 60, "how long a password reset link works", int),
    Setting("SQL_ECHO", False, "log every SQL statement", bool),
    Setting(
        "PUBLIC_DASHBOARD",
        False,
        "publish each fund's aggregate figures at /transparency/ (no sign-in)",
        bool,
    ),
    Setting(
        "PUBLICATION_MIN_CELL",
        3,
        "fewest grants a public or donor figure may stand for; smaller cells are merged or "
        "shown as withheld",
        int,
    ),
    Setting(
        "DASHBOARD_CACHE_SECONDS",
        60,
        "keep a rendered dashboard this long at most (it is also renewed whenever anything "
        "is recorded); 0 turns the cache off",
        int,
    ),
    Setting(
        "SQL_COUNT_HEADER",
        False,
        "add X-SQL-Statements (statements per request) to responses",
        bool,
    ),
]


def _coerce(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if setting.kind is int:
        return int(raw)
    return raw


def load_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(f"GRANTPOOL_{setting.name}")
        if raw is None and setting.name == "DATABASE_URL":
            raw = environ.get("DATABASE_URL")
        values[setting.name] = setting.default if raw is None else _coerce(setting, raw)
    return values


def settings_table() -> str:
    rows = ["| setting | environment variable | default | meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(f"| {s.name} | `GRANTPOOL_{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)
