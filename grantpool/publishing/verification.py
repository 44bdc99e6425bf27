"""Verification codes printed on certificates.

A code is the grant id and a short HMAC of it made with the app's SECRET_KEY
("12-7KQ4M2XD9PRA"), so the address printed on a certificate stays the same for the life
of the grant while nobody can walk through ids to learn which grants exist. The page it
opens reads the record as it stands on that request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..grants.models import Grant

# 60 bits: far beyond guessing through a rate-limited page, short enough to type.
_SIGNATURE_CHARS = 12
_CODE = re.compile(rf"^([1-9][0-9]{{0,17}})-([A-Z2-7]{{{_SIGNATURE_CHARS}}})$")
_PURPOSE = b"grantpool.certificate-verification.v1:"


def _signature(grant_id: int, secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, _PURPOSE + str(grant_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:_SIGNATURE_CHARS]


def verification_code(grant_id: int, secret: str | bytes) -> str:
    return f"{grant_id}-{_signature(grant_id, secret)}"


def grant_id_from_code(code: str, secret: str | bytes) -> int | None:
    """The grant a code names, or None when the code is malformed or its HMAC is wrong."""
    match = _CODE.match((code or "").strip().upper())
    if match is None:
        return None
    grant_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _signature(grant_id, secret)):
        return None
    return grant_id


def verification_url(grant_id: int) -> str:
    """The absolute address of the verification page, on the configured BASE_URL."""
    code = verification_code(grant_id, current_app.config["SECRET_KEY"])
    path = url_for("publishing.verify", code=code, _external=False)
    return str(current_app.config["BASE_URL"]).rstrip("/") + path


def grant_exists(session: Session, grant_id: int) -> bool:
    return session.scalar(select(Grant.id).where(Grant.id == grant_id)) is not None
