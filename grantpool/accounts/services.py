"""Accounts: sign-in sessions, invitations, password resets, roles and API tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from ..platform.audit import record_event
from ..platform.db import rows_affected
from ..platform.errors import NotFound, ValidationFailed
from ..platform.i18n import mail_locale
from ..platform.mail import queue_mail
from ..platform.time import now_utc
from . import passwords
from .models import (
    ApiToken,
    LinkPurpose,
    LoginSession,
    Membership,
    OneTimeLink,
    Role,
    RoleAssignment,
    User,
)

if TYPE_CHECKING:
    from ..organisations.models import Organisation

API_TOKEN_PREFIX = "gp_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_email(email: str) -> str:
    email = normalise_email(email)
    local, _sep, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or " " in email:
        raise ValidationFailed.single("email", _("Enter an email address like name@example.org."))
    return email


def _check_password(password: str, confirm: str | None, email: str) -> None:
    messages = {
        "too_short": _("Use at least %(n)d characters.", n=passwords.MIN_LENGTH),
        "too_long": _("Use at most %(n)d characters.", n=passwords.MAX_LENGTH),
        "is_email": _("Do not use your email address as your password."),
        "too_simple": _("Choose a password that is harder to guess."),
    }
    problems = [messages[p] for p in passwords.password_problems(password, email)]
    errors: dict[str, list[str]] = {}
    if problems:
        errors["password"] = problems
    if confirm is not None and confirm != password:
        errors["confirm"] = [_("The two passwords do not match.")]
    if errors:
        raise ValidationFailed(errors)


# Users --------------------------------------------------------------------------------


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    password: str | None = None,
    roles: list[tuple[str, int | None, int | None]] | None = None,
    organisation_ids: list[int] | None = None,
    locale: str | None = None,
) -> User:
    email = _check_email(email)
    if not (name or "").strip():
        raise ValidationFailed.single("name", _("Enter a name."))
    if get_user_by_email(session, email) is not None:
        raise ValidationFailed.single("email", _("There is already an account with this email."))
    if password is not None:
        _check_password(password, None, email)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=passwords.hash_password(password) if password else None,
        locale=locale,
        active=True,
        password_changed_at=now_utc() if password else None,
    )
    session.add(user)
    session.flush()
    for role, fund_id, donor_id in roles or []:
        user.roles.append(RoleAssignment(role=Role(role).value, fund_id=fund_id, donor_id=donor_id))
    for organisation_id in organisation_ids or []:
        user.memberships.append(Membership(organisation_id=organisation_id))
    session.flush()
    record_event(
        session,
        actor,
        "user.create",
        user,
        after={
            "email": email,
            "roles": [r[0] for r in roles or []],
            "organisations": organisation_ids or [],
        },
    )
    return user


def set_roles(
    session: Session, actor: User, user: User, roles: list[tuple[str, int | None, int | None]]
) -> None:
    before = sorted((a.role, a.fund_id, a.donor_id) for a in user.roles)
    wanted = {(Role(r).value, f, d) for r, f, d in roles}
    for assignment in list(user.roles):
        if (assignment.role, assignment.fund_id, assignment.donor_id) not in wanted:
            user.roles.remove(assignment)
    have = {(a.role, a.fund_id, a.donor_id) for a in user.roles}
    for role, fund_id, donor_id in sorted(wanted - have, key=str):
        user.roles.append(RoleAssignment(role=role, fund_id=fund_id, donor_id=donor_id))
    session.flush()
    record_event(
        session,
        actor,
        "user.roles",
        user,
        before={"roles": before},
        after={"roles": sorted(wanted, key=str)},
    )


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    if user.active == active:
        return
    user.active = active
    if not active:
        revoke_all_sessions(session, user)
    record_event(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        user,
        before={"active": not active},
        after={"active": active},
    )


def set_locale(session: Session, user: User, locale: str) -> None:
    before = user.locale
    user.locale = locale
    record_event(
        session, user, "user.locale", user, before={"locale": before}, after={"locale": locale}
    )


# Signing in ---------------------------------------------------------------------------


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user if the password is right; None otherwise, taking as long either way."""
    user = get_user_by_email(session, email)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def start_login_session(session: Session, user: User, user_agent: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=token_hash(token),
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user.last_login_at = now_utc()
    user.login_token = token
    record_event(session, user, "user.login", user)
    return token


@functools.cache
def _login_session_user() -> Select[User]:
    """Built once (on first use, when every model is mapped): it runs on every signed-in
    request. One statement per request: roles and memberships come joined in."""
    return (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.revoked_at.is_(None),
            User.active.is_(True),
        )
        .options(
            joinedload(User.roles),
            # The organisations themselves load when a page lists them: most requests only
            # ask which organisations the user belongs to.
            joinedload(User.memberships).lazyload(Membership.organisation),
        )
    )


def load_login_session(session: Session, token: str) -> User | None:
    row = (
        session.execute(_login_session_user(), {"token_hash": token_hash(token)})
        .unique()
        .scalar_one_or_none()
    )
    if row is not None:
        row.login_token = token
    return row


def end_login_session(session: Session, user: User, token: str | None) -> None:
    if token:
        session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == token_hash(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=now_utc())
        )
    record_event(session, user, "user.logout", user)


def revoke_all_sessions(session: Session, user: User) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now_utc())
    )


def change_password(session: Session, user: User, current: str, new: str, confirm: str) -> str:
    """Change the password, end every other session and return a fresh session token."""
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationFailed.single("current", _("Your current password is not right."))
    _check_password(new, confirm, user.email)
    return _set_password(session, user, new)


def _set_password(session: Session, user: User, new: str) -> str:
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now_utc()
    revoke_all_sessions(session, user)
    record_event(session, user, "user.password_change", user)
    return start_login_session(session, user)


# One-time links -------------------------------------------------------------------------


def _new_link(
    session: Session,
    purpose: LinkPurpose,
    email: str,
    ttl: dt.timedelta,
    *,
    user: User | None = None,
    created_by: User | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[OneTimeLink, str]:
    token = secrets.token_urlsafe(32)
    link = OneTimeLink(
        purpose=purpose.value,
        token_hash=token_hash(token),
        email=email,
        user_id=user.id if user else None,
        created_by_id=created_by.id if created_by else None,
        payload=payload,
        expires_at=now_utc() + ttl,
    )
    session.add(link)
    session.flush()
    return link, token


def find_link(
    session: Session, purpose: LinkPurpose, token: str, now: dt.datetime | None = None
) -> OneTimeLink:
    """The live link for this token, or NotFound (expired, used or unknown look alike)."""
    link = session.scalar(
        select(OneTimeLink).where(
            OneTimeLink.token_hash == token_hash(token), OneTimeLink.purpose == purpose.value
        )
    )
    now = now or now_utc()
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotFound(_("This link has expired or has already been used. Ask for a new one."))
    return link


def _use_link(session: Session, link: OneTimeLink) -> None:
    # Only one of two simultaneous uses may succeed.
    used = rows_affected(
        session,
        update(OneTimeLink)
        .where(OneTimeLink.id == link.id, OneTimeLink.used_at.is_(None))
        .values(used_at=now_utc()),
    )
    if not used:
        raise NotFound(_("This link has expired or has already been used. Ask for a new one."))


def invite_user(
    session: Session,
    actor: User,
    *,
    email: str,
    name: str,
    roles: list[tuple[str, int | None, int | None]],
    organisation_ids: list[int],
    days: int,
    base_url: str,
    locale: str,
) -> tuple[OneTimeLink, str]:
    email = _check_email(email)
    if get_user_by_email(session, email) is not None:
        raise ValidationFailed.single(
            "email", _("This person already has an account. Change their roles instead.")
        )
    if not roles and not organisation_ids:
        raise ValidationFailed.single("roles", _("Choose at least one role or organisation."))
    link, token = _new_link(
        session,
        LinkPurpose.INVITATION,
        email,
        dt.timedelta(days=days),
        created_by=actor,
        payload={
            "name": name.strip(),
            "roles": [list(r) for r in roles],
            "organisation_ids": organisation_ids,
        },
    )
    url = f"{base_url.rstrip('/')}/invitations/{token}"
    queue_mail(
        session, email, "invitation", locale, name=name, url=url, days=days, inviter=actor.name
    )
    record_event(
        session,
        actor,
        "invitation.create",
        link,
        after={"email": email, "roles": [r[0] for r in roles]},
    )
    return link, token


def accept_invitation(
    session: Session,
    token: str,
    *,
    name: str,
    password: str,
    confirm: str,
    locale: str | None = None,
) -> User:
    link = find_link(session, LinkPurpose.INVITATION, token)
    _check_password(password, confirm, link.email)
    payload = link.payload or {}
    _use_link(session, link)
    roles = [(r[0], r[1], r[2]) for r in payload.get("roles", [])]
    user = create_user(
        session,
        None,
        email=link.email,
        name=name or payload.get("name", ""),
        password=password,
        roles=roles,
        organisation_ids=list(payload.get("organisation_ids", [])),
        locale=locale,
    )
    record_event(session, user, "invitation.accept", link)
    return user


def request_password_reset(
    session: Session, email: str, *, minutes: int, base_url: str, locale: str
) -> None:
    """Mail a reset link if the account exists. The caller answers the same either way."""
    user = get_user_by_email(session, email)
    if user is None or not user.active:
        return
    link, token = _new_link(
        session, LinkPurpose.PASSWORD_RESET, user.email, dt.timedelta(minutes=minutes), user=user
    )
    url = f"{base_url.rstrip('/')}/password/reset/{token}"
    queue_mail(
        session,
        user.email,
        "password_reset",
        user.locale or locale,
        name=user.name,
        url=url,
        minutes=minutes,
    )
    record_event(session, None, "password_reset.request", link, after={"user_id": user.id})


def reset_password(session: Session, token: str, password: str, confirm: str) -> User:
    link = find_link(session, LinkPurpose.PASSWORD_RESET, token)
    user = session.get(User, link.user_id)
    if user is None or not user.active:
        raise NotFound()
    _check_password(password, confirm, user.email)
    _use_link(session, link)
    _set_password(session, user, password)
    return user


# API tokens ------------------------------------------------------------------------------


def create_api_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.single(
            "name", _("Give the token a name, e.g. the tool that uses it.")
        )
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name[:100], prefix=secret[:10], token_hash=token_hash(secret)
    )
    session.add(token)
    session.flush()
    record_event(session, user, "api_token.create", token, after={"name": token.name})
    return token, secret


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound()
    token.revoked_at = now_utc()
    record_event(session, user, "api_token.revoke", token)


@functools.cache
def _api_token_user() -> Select[ApiToken]:
    """Built once: it runs on every API call. One statement per call: the user, its roles
    and memberships come joined in."""
    return (
        select(ApiToken)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
        .options(
            joinedload(ApiToken.user).joinedload(User.roles),
            joinedload(ApiToken.user)
            .joinedload(User.memberships)
            .lazyload(Membership.organisation),
        )
    )


def user_for_api_token(session: Session, secret: str) -> User | None:
    if not secret.startswith(API_TOKEN_PREFIX):
        return None
    token = (
        session.execute(_api_token_user(), {"token_hash": token_hash(secret)})
        .unique()
        .scalar_one_or_none()
    )
    if token is None or not hmac.compare_digest(token.token_hash, token_hash(secret)):
        return None
    user = token.user
    if not user.active:
        return None
    now = now_utc()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        token.last_used_at = now  # coarse, so a busy client does not write on every call
    return user


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


# Password-free sign-in for applicants -----------------------------------------------------

SIGN_IN_LINK_TTL = dt.timedelta(hours=2)


# What a sign-in message says: asked for on the sign-in page, sent on registering a new
# organisation (to come back later), or sent when someone registers with an address that
# already has an account (so they can go on, without the page telling anyone).
SIGN_IN_MAIL_TEMPLATES = frozenset({"sign_in_link", "registered", "already_registered"})


def sign_in_url(base_url: str, token: str, next_path: str = "") -> str:
    """The link of a sign-in message; with `next_path` (a local path the caller has
    checked), the page it opens once the person is signed in."""
    url = f"{base_url.rstrip('/')}/sign-in/{token}"
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def request_sign_in_link(
    session: Session,
    email: str,
    *,
    base_url: str,
    locale: str,
    next_path: str = "",
    template: str = "sign_in_link",
    **context: Any,
) -> str | None:
    """Email a one-time sign-in link to an existing, active account. Returns the token
    (for tests), or None when there is no such account; callers answer the same either
    way so the page does not reveal who has an account.

    The message is written in the account's saved language, else in `locale` (the one
    the person was using when they asked)."""
    assert template in SIGN_IN_MAIL_TEMPLATES, template
    user = get_user_by_email(session, email or "")
    if user is None or not user.active:
        return None
    link, token = _new_link(session, LinkPurpose.SIGN_IN, user.email, SIGN_IN_LINK_TTL, user=user)
    # The same message carries a short code for people who read mail on another device
    # than the one they apply from (a shared phone, a cyber café).
    code = f"{secrets.randbelow(10**SIGN_IN_CODE_DIGITS):0{SIGN_IN_CODE_DIGITS}d}"
    link.payload = {"code_hash": _code_hash(link.token_hash, code), "attempts": 0}
    queue_mail(
        session,
        user.email,
        template,
        mail_locale(user.locale, locale),
        name=user.name,
        url=sign_in_url(base_url, token, next_path),
        code=code,
        hours=int(SIGN_IN_LINK_TTL.total_seconds() // 3600),
        **context,
    )
    record_event(session, None, "sign_in_link.request", link, after={"user_id": user.id})
    return token


SIGN_IN_CODE_DIGITS = 6
SIGN_IN_CODE_ATTEMPTS = 5


def _code_hash(link_hash: str, code: str) -> str:
    return hashlib.sha256(f"{link_hash}:{code}".encode()).hexdigest()


def sign_in_with_code(
    session: Session,
    email: str,
    code: str,
    user_agent: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[User, str] | None:
    """Sign in with the short code from the newest live sign-in message to `email`.

    Returns None for a wrong code and counts the attempt (the caller keeps that count
    even though it shows an error); after five wrong codes the message stops working.
    """
    now = now or now_utc()
    link = session.scalar(
        select(OneTimeLink)
        .where(
            OneTimeLink.purpose == LinkPurpose.SIGN_IN.value,
            OneTimeLink.email == normalise_email(email),
            OneTimeLink.used_at.is_(None),
            OneTimeLink.expires_at > now,
        )
        .order_by(OneTimeLink.id.desc())
        .limit(1)
        .with_for_update()
    )
    payload = dict(link.payload or {}) if link is not None else {}
    if (
        link is None
        or "code_hash" not in payload
        or payload.get("attempts", 0) >= SIGN_IN_CODE_ATTEMPTS
    ):
        passwords.verify_password(None, code)  # answer unknown addresses as slowly
        return None
    cleaned = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(payload["code_hash"], _code_hash(link.token_hash, cleaned)):
        payload["attempts"] = int(payload.get("attempts", 0)) + 1
        link.payload = payload
        session.flush()
        return None
    _use_link(session, link)
    user = session.get(User, link.user_id) if link.user_id else None
    if user is None or not user.active:
        return None
    record_event(session, user, "user.sign_in_code", user)
    return user, start_login_session(session, user, user_agent)


def sign_in_with_link(
    session: Session, token: str, user_agent: str | None = None
) -> tuple[User, str]:
    """Use a sign-in link once; returns the user and a new login session token."""
    link = find_link(session, LinkPurpose.SIGN_IN, token)
    _use_link(session, link)
    user = session.get(User, link.user_id) if link.user_id else None
    if user is None or not user.active:
        raise NotFound(_("This link has expired or has already been used. Ask for a new one."))
    record_event(session, user, "user.sign_in_link", user)
    return user, start_login_session(session, user, user_agent)


def member_organisations(session: Session, user: User) -> list[Organisation]:
    """The organisations `user` acts for, in the order they joined: one statement."""
    memberships = session.scalars(
        select(Membership)
        .options(joinedload(Membership.organisation))
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
    )
    return [membership.organisation for membership in memberships]
