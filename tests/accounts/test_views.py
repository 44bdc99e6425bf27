"""Signing in and out, as a person and as an attacker would try it."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from grantpool.accounts import services
from grantpool.accounts.models import LinkPurpose, OneTimeLink, Role, User
from grantpool.platform.audit import AuditEvent
from grantpool.platform.mail import OutboxMessage
from tests.conftest import csrf_token, login, without_csrf
from tests.factories import PASSWORD, make_admin, make_organisation, make_user


def test_sign_in_and_out(client, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert client.get("/funds/").status_code == 200
    events = session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert "user.login" in events

    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/funds/").status_code == 302  # back to the login page


def test_email_is_case_insensitive(client, session):
    user = make_user(session)
    assert login(client, user.email.upper(), PASSWORD).status_code == 302


def test_wrong_password_and_unknown_account_answer_the_same(client, session):
    user = make_user(session)
    wrong = login(client, user.email, "not the password at all")
    unknown = login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert "The email address or password is not right." in wrong.get_data(as_text=True)


def test_replaying_the_session_cookie_after_logout_fails(app, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    browser = app.test_client()
    login(browser, user.email, PASSWORD)
    stolen = browser.get_cookie("session").value
    assert browser.post("/logout", data={"csrf_token": csrf_token(browser)}).status_code == 302

    attacker = app.test_client()
    attacker.set_cookie("session", stolen, domain="localhost")
    assert attacker.get("/funds/").status_code == 302


def test_password_change_ends_other_sessions(app, session):
    user = make_user(session, Role.FUND_MANAGER.value)
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email, PASSWORD)
    login(phone, user.email, PASSWORD)
    response = laptop.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "a brand new long passphrase",
            "confirm": "a brand new long passphrase",
            "csrf_token": csrf_token(laptop),
        },
    )
    assert response.status_code == 302
    assert laptop.get("/funds/").status_code == 200  # this browser keeps going
    assert phone.get("/funds/").status_code == 302  # the other one is signed out
    assert login(app.test_client(), user.email, "a brand new long passphrase").status_code == 302


def test_weak_new_password_is_refused_with_message_beside_field(client, session):
    user = make_user(session)
    login(client, user.email, PASSWORD)
    response = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "short",
            "confirm": "short",
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="password-error"' in page and "at least 12 characters" in page


def test_password_is_hashed_with_argon2id(session):
    user = make_user(session)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_outdated_hash_is_upgraded_at_sign_in(session, monkeypatch):
    from argon2 import PasswordHasher

    from grantpool.accounts import passwords

    # The suite hashes with the cheapest parameters (tests/conftest.py); here production's.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(passwords.PARAMETERS))
    user = make_user(session)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    session.flush()
    assert services.authenticate(session, user.email, PASSWORD) is user
    assert "m=65536" in user.password_hash


def test_csrf_token_is_required(client, session):
    user = make_user(session)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "This form was not used" in text and "Nothing was changed" in text
    assert "reload" not in text


def test_logout_is_not_possible_by_get(client, session):
    assert client.get("/logout").status_code == 405


def test_rate_limit_per_account_spares_the_owners_known_device(app, session):
    user = make_user(session)
    owner = app.test_client()
    login(owner, user.email, PASSWORD)  # the owner's browser has signed in before
    owner.post("/logout", data={"csrf_token": csrf_token(owner)})

    attacker = app.test_client()
    statuses = [login(attacker, user.email, f"guess number {i}").status_code for i in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # The attacker is throttled on that account, the owner is not locked out.
    assert login(owner, user.email, PASSWORD).status_code == 302


def test_rate_limit_per_address(app, session):
    client = app.test_client()
    statuses = [
        login(client, f"person{i}@example.org", "whatever it is").status_code for i in range(31)
    ]
    assert statuses[-1] == 429
    assert set(statuses[:30]) == {401}


def test_password_reset_answers_the_same_and_works_once(app, client, session):
    from grantpool.platform.constant_time import ACCOUNT_LOOKUP_SECONDS

    user = make_user(session)
    token = csrf_token(client)
    took: dict[str, float] = {}

    def ask(email: str) -> Any:
        started = time.monotonic()
        response = client.post("/password/reset", data={"email": email, "csrf_token": token})
        took[email] = time.monotonic() - started
        return response

    known, unknown = ask(user.email), ask("x@example.org")
    assert known.status_code == unknown.status_code == 200
    # The pages differ only in the CSRF token, which is signed with the current second.
    assert without_csrf(known) == without_csrf(unknown)
    # The lookup and the mail are padded to one duration, whatever they found.
    assert min(took.values()) >= ACCOUNT_LOOKUP_SECONDS
    mails = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == user.email)
    ).all()
    assert len(mails) == 1
    url = re.search(r"http://localhost(/password/reset/\S+)", mails[0].body_text).group(1)
    new = "another long passphrase here"
    response = client.post(
        url, data={"password": new, "confirm": new, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    assert client.get(url).status_code == 404  # used


def test_invitation_creates_account_once(app, session):
    admin = make_admin(session)
    organisation = make_organisation(session)
    client = app.test_client()
    login(client, admin.email, PASSWORD)
    response = client.post(
        "/admin/users/invite",
        data={
            "email": "new.person@example.org",
            "name": "New Person",
            "roles": ["applicant"],
            "organisation_id": str(organisation.id),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 200
    url = re.search(r"http://localhost(/invitations/[^<\s]+)", response.get_data(as_text=True))
    path = url.group(1)

    invitee = app.test_client()
    assert invitee.get(path).status_code == 200
    response = invitee.post(
        path,
        data={
            "name": "New Person",
            "password": "my own passphrase",
            "confirm": "my own passphrase",
            "csrf_token": csrf_token(invitee),
        },
    )
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "new.person@example.org"))
    assert user.role_names() == ["applicant"]
    assert user.belongs_to(organisation.id)
    # Single use.
    assert app.test_client().get(path).status_code == 404


def test_invitation_expires(session):
    admin = make_admin(session)
    link, token = services.invite_user(
        session,
        admin,
        email="late@example.org",
        name="Late",
        roles=[("reviewer", None, None)],
        organisation_ids=[],
        days=7,
        base_url="http://localhost",
        locale="en",
    )
    later = link.expires_at + dt.timedelta(seconds=1)
    from grantpool.platform.errors import NotFound

    with pytest.raises(NotFound):
        services.find_link(session, LinkPurpose.INVITATION, token, now=later)
    assert services.find_link(session, LinkPurpose.INVITATION, token).id == link.id
    stored = session.get(OneTimeLink, link.id)
    assert token not in stored.token_hash  # only the hash is kept


def test_invitation_to_existing_account_is_refused(session):
    admin = make_admin(session)
    from grantpool.platform.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as failure:
        services.invite_user(
            session,
            admin,
            email=admin.email,
            name="Again",
            roles=[("reviewer", None, None)],
            organisation_ids=[],
            days=7,
            base_url="http://localhost",
            locale="en",
        )
    assert "email" in failure.value.errors


def test_language_follows_choice_then_accept_language(client, session):
    page = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.get_data(as_text=True)
    client.post("/language", data={"locale": "en", "csrf_token": csrf_token(client)})
    page = client.get("/login", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_french_page_is_translated(client):
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Se connecter" in page or "Connexion" in page


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "HttpOnly" in response.headers.get("Set-Cookie", "HttpOnly")
    login_response = client.get("/login")
    cookie = login_response.headers.get("Set-Cookie") or ""
    if cookie:
        assert "SameSite=Lax" in cookie


def test_hsts_and_secure_cookies_in_production(database_url, tmp_path):
    from tests.conftest import make_app

    app = make_app(database_url, tmp_path, ENV="production", SECRET_KEY="x" * 40)
    response = app.test_client().get("/login")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["grantpool.db"].dispose()


def test_rate_limit_counts_are_shared_between_workers_through_redis(database_url, tmp_path):
    """Two app processes (workers) behind one balancer share the counts in Redis."""
    import socket
    import uuid

    from tests.conftest import make_app

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 to test the shared rate-limit store")
    prefix = uuid.uuid4().hex
    config = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_KEY_PREFIX": prefix}
    worker_a = make_app(database_url, tmp_path, **config)
    worker_b = make_app(database_url, tmp_path, **config)
    statuses = []
    for i in range(31):
        app = worker_a if i % 2 else worker_b
        with app.app_context():
            client = app.test_client()
            statuses.append(login(client, f"p{i}@example.org", "some guess or other").status_code)
    assert statuses[-1] == 429
    for app in (worker_a, worker_b):
        app.extensions["grantpool.db"].dispose()
