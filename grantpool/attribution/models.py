"""Attribution settings (per organisation, overridable per grant), the attribution record
of a grant (consent, embargo, safety flag, what the fund adds) and its consent history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, IdPK
from ..platform.states import state_enum
from ..platform.time import now_utc
from .rules import ConsentScope, ConsentState, LocationPrecision, Naming


def _in(values: Any) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class AttributionSettings(Base):
    """How an organisation wants to be credited. grant_id NULL: the organisation's
    default; otherwise an override for that one grant."""

    __tablename__ = "attribution_settings"

    id: Mapped[IdPK]
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    grant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"), unique=True
    )
    naming: Mapped[str] = mapped_column(String(16), default=Naming.ANONYMISED.value)
    location_precision: Mapped[str] = mapped_column(
        String(8), default=LocationPrecision.COUNTRY.value
    )
    # The partner's own words about the work and its results: {"en": "...", "fr": "..."}.
    descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The words the partner wrote for anonymised publication; an anonymised record carries
    # these and never `descriptions`, which may name places, people or the organisation.
    anonymised_descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    logo_key: Mapped[str | None] = mapped_column(String(200))
    logo_content_type: Mapped[str | None] = mapped_column(String(100))
    updated_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint(f"naming IN ({_in(Naming)})", name="naming_known"),
        CheckConstraint(
            f"location_precision IN ({_in(LocationPrecision)})", name="precision_known"
        ),
        CheckConstraint("(logo_key IS NULL) = (logo_content_type IS NULL)", name="logo_has_type"),
        # One default per organisation.
        Index(
            "uq_attribution_settings_one_default",
            "organisation_id",
            unique=True,
            postgresql_where=text("grant_id IS NULL"),
            sqlite_where=text("grant_id IS NULL"),
        ),
    )


class AttributionRecord(Base):
    """The credit record of one grant. A grant without a row has consent not given."""

    __tablename__ = "attribution_records"

    id: Mapped[IdPK]
    grant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("grants.id", ondelete="RESTRICT"), unique=True
    )
    consent_state: Mapped[ConsentState] = mapped_column(
        state_enum(ConsentState, length=12, name="consent_known"), default=ConsentState.NOT_GIVEN
    )
    consent_scope: Mapped[str | None] = mapped_column(String(12))
    embargo_until: Mapped[dt.date | None] = mapped_column(Date)
    consent_changed_at: Mapped[dt.datetime | None]
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_reason: Mapped[str | None] = mapped_column(Text)
    # What the fund adds: theme (for earmarks and filters), humanitarian flag, and the
    # capacity strengthening it provided.
    theme: Mapped[str | None] = mapped_column(String(100))
    humanitarian: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity_provided: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(
            f"consent_scope IS NULL OR consent_scope IN ({_in(ConsentScope)})",
            name="scope_known",
        ),
        CheckConstraint(
            "consent_state != 'given' OR consent_scope IS NOT NULL", name="given_has_scope"
        ),
        CheckConstraint(
            "NOT safety_flag OR length(trim(coalesce(safety_reason, ''))) > 0",
            name="safety_has_reason",
        ),
        Index("ix_attribution_records_consent_state", "consent_state"),
    )


class ConsentEvent(Base):
    """One change of consent: who, when, what. Never updated."""

    __tablename__ = "attribution_consent_events"

    id: Mapped[IdPK]
    record_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("attribution_records.id", ondelete="RESTRICT")
    )
    state: Mapped[ConsentState] = mapped_column(state_enum(ConsentState, length=12))
    scope: Mapped[str | None] = mapped_column(String(12))
    embargo_until: Mapped[dt.date | None] = mapped_column(Date)
    # The naming and precision in force when consent was given, as the partner saw them.
    naming: Mapped[str] = mapped_column(String(16))
    location_precision: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    occurred_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_attribution_consent_events_record_id", "record_id"),)
