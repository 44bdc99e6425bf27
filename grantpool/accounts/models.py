"""People, their roles, their sign-in sessions and the links and tokens they hold."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.db import Base, IdPK
from ..platform.time import now_utc

if TYPE_CHECKING:
    from ..organisations.models import Organisation


class Role(StrEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    COMMUNITY_PANEL = "community_panel"
    FUND_MANAGER = "fund_manager"
    FINANCE_OFFICER = "finance_officer"
    DONOR_VIEWER = "donor_viewer"
    ADMIN = "admin"


# Roles that act on funds may be limited to one fund; a donor viewer to one donor.
FUND_SCOPED_ROLES = frozenset(
    {Role.FUND_MANAGER, Role.FINANCE_OFFICER, Role.REVIEWER, Role.COMMUNITY_PANEL}
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[IdPK]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    last_login_at: Mapped[dt.datetime | None]
    password_changed_at: Mapped[dt.datetime | None]

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    # flask-login: the cookie carries the sign-in session's token, not the user id, so
    # signing out (which revokes that session) makes a replayed cookie worthless.
    # Set per instance by the login loader. Declared for the type checker only: the ORM
    # would read an annotation in the class body as a column.
    if TYPE_CHECKING:
        login_token: str | None
    login_token = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_token

    # Role questions, answered from the already-loaded assignments.
    def has_role(
        self, role: Role, *, fund_id: int | None = None, donor_id: int | None = None
    ) -> bool:
        for assignment in self.roles:
            if assignment.role != role:
                continue
            if fund_id is not None and assignment.fund_id not in (None, fund_id):
                continue
            if donor_id is not None and assignment.donor_id not in (None, donor_id):
                continue
            return True
        return False

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def is_fund_manager(self, fund_id: int | None = None) -> bool:
        return self.has_role(Role.FUND_MANAGER, fund_id=fund_id)

    def is_finance_officer(self, fund_id: int | None = None) -> bool:
        return self.has_role(Role.FINANCE_OFFICER, fund_id=fund_id)

    def is_staff(self) -> bool:
        return any(
            a.role in (Role.ADMIN, Role.FUND_MANAGER, Role.FINANCE_OFFICER) for a in self.roles
        )

    def staff_fund_ids(self, *roles: Role) -> frozenset[int] | None:
        """The funds this person works in under `roles` (default: fund manager or finance
        officer); None when one of those roles covers every fund (admins too)."""
        roles = roles or (Role.FUND_MANAGER, Role.FINANCE_OFFICER)
        if self.is_admin:
            return None
        funds: set[int] = set()
        for assignment in self.roles:
            if assignment.role in roles:
                if assignment.fund_id is None:
                    return None
                funds.add(assignment.fund_id)
        return frozenset(funds)

    def organisation_ids(self) -> set[int]:
        return {m.organisation_id for m in self.memberships}

    def belongs_to(self, organisation_id: int) -> bool:
        return organisation_id in self.organisation_ids()

    def role_names(self) -> list[str]:
        return sorted({str(a.role) for a in self.roles})

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RoleAssignment(Base):
    __tablename__ = "role_assignments"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    fund_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("funds.id"))
    donor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("donors.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (
        CheckConstraint(
            "role IN ('applicant', 'reviewer', 'community_panel', 'fund_manager', "
            "'finance_officer', 'donor_viewer', 'admin')",
            name="role_known",
        ),
        CheckConstraint("donor_id IS NULL OR role = 'donor_viewer'", name="donor_only_for_viewer"),
        CheckConstraint(
            "role != 'donor_viewer' OR donor_id IS NOT NULL", name="donor_viewer_has_donor"
        ),
        UniqueConstraint("user_id", "role", "fund_id", "donor_id"),
        Index("ix_role_assignments_user_id", "user_id"),
    )


class Membership(Base):
    """A person acting for an organisation (an applicant, then a grantee)."""

    __tablename__ = "memberships"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id"),
        Index("ix_memberships_organisation_id", "organisation_id"),
    )


class LoginSession(Base):
    """One signed-in browser. Signing out revokes it; a password change revokes all."""

    __tablename__ = "login_sessions"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    revoked_at: Mapped[dt.datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_login_sessions_user_id", "user_id"),)


class LinkPurpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"
    SIGN_IN = "sign_in"


class OneTimeLink(Base):
    """A single-use, expiring secret sent by email. Only its hash is stored."""

    __tablename__ = "one_time_links"

    id: Mapped[IdPK]
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    payload: Mapped[dict[str, Any] | None]
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(
            "purpose IN ('invitation', 'password_reset', 'sign_in')", name="purpose_known"
        ),
        Index("ix_one_time_links_email", "email"),
    )


class ApiToken(Base):
    """A personal API token. The secret is shown once; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)
