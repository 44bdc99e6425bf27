"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile or stronger)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

# argon2id, t=3, m=64 MiB, p=4: above OWASP's minimum.
PARAMETERS = RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PARAMETERS)

# Verified against when the account does not exist, so both answers take as long.
_DUMMY_HASH = _hasher.hash("grantpool-no-such-account")

MIN_LENGTH = 12
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problems(password: str, email: str = "") -> list[str]:
    """Reasons a new password is refused, as message ids for gettext."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    if email and password.strip().lower() == email.strip().lower():
        problems.append("is_email")
    if password and len(set(password)) < 4:
        problems.append("too_simple")
    return problems
