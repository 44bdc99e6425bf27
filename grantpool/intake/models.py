"""An application to a call, from any channel."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.db import Base, IdPK
from ..platform.money import Money
from ..platform.states import state_enum
from ..platform.time import now_utc
from .rules import ApplicationState

if TYPE_CHECKING:
    from ..calls.models import Call
    from ..organisations.models import Organisation

_CHANNELS = "'web', 'spreadsheet', 'odk', 'api'"


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[IdPK]
    call_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("calls.id", ondelete="RESTRICT"))
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # Drafts keep what the applicant typed, as typed; a submission keeps the checked values.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    requested_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    state: Mapped[ApplicationState] = mapped_column(
        state_enum(ApplicationState, length=24), default=ApplicationState.DRAFT
    )
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    submitted_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]
    # The state an application was withdrawn from: withdrawing can be undone while the
    # call is open, back to that state.
    withdrawn_from: Mapped[str | None] = mapped_column(String(24))
    # Raised by every save of a draft: a page sent with an older number was loaded before
    # another tab or phone saved, and is shown as a conflict, not saved over it.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # A client's Idempotency-Key: a retried submission returns the first result.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))

    call: Mapped[Call] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(f"channel IN ({_CHANNELS})", name="channel_known"),
        CheckConstraint(
            "state = 'draft' OR (state = 'withdrawn' AND submitted_at IS NULL) OR "
            "(reference IS NOT NULL AND submitted_at IS NOT NULL AND requested_minor > 0)",
            name="submitted_has_reference",
        ),
        CheckConstraint(
            "(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_iff_withdrawn_at"
        ),
        UniqueConstraint("created_by_id", "idempotency_key"),
        Index("ix_applications_call_id_state", "call_id", "state"),
        Index("ix_applications_organisation_id", "organisation_id"),
        # One draft per organisation and call: "Start" opens it rather than making another.
        # (Other channels submit at once; their row is a draft only inside that insert.)
        Index(
            "uq_applications_one_draft",
            "organisation_id",
            "call_id",
            unique=True,
            sqlite_where=text("state = 'draft' AND channel = 'web'"),
            postgresql_where=text("state = 'draft' AND channel = 'web'"),
        ),
    )

    @property
    def requested(self) -> Money | None:
        if self.requested_minor is None:
            return None
        return Money(self.requested_minor, self.currency)

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.reference or 'draft'} {self.state}>"


class FormStash(Base):
    """What was posted on a page of a draft when the session had gone (expired, revoked,
    signed out in another tab) or its form token was stale: kept for the person the page
    was served to (a signed token in the form says who), and put back on the page once
    they have signed in again. Never applied for anyone else; gone once used."""

    __tablename__ = "form_stashes"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("applications.id", ondelete="CASCADE")
    )
    page: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_form_stashes_user_id_application_id", "user_id", "application_id"),)
