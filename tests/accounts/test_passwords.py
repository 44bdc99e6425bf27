"""Password hashing: the production parameters, and hashes that verify."""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters

from grantpool.accounts import passwords


def test_production_hashes_are_argon2id_above_owasp_minimum() -> None:
    hashed = PasswordHasher.from_parameters(passwords.PARAMETERS).hash("a long passphrase")
    found = extract_parameters(hashed)
    assert found.type is Type.ID
    assert found.time_cost >= 3 and found.memory_cost >= 64 * 1024 and found.parallelism >= 1


def test_a_hash_verifies_only_its_password() -> None:
    stored = passwords.hash_password("correct horse battery staple")
    assert passwords.verify_password(stored, "correct horse battery staple")
    assert not passwords.verify_password(stored, "correct horse battery stapler")
    assert not passwords.verify_password(None, "correct horse battery staple")
