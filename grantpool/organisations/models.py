"""Organisations: the community groups, NGOs and local governments that apply and deliver."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.db import Base, IdPK
from ..platform.time import now_utc
from .rules import Leadership, OrganisationType

_TYPES = ", ".join(f"'{t.value}'" for t in OrganisationType)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(60))
    org_type: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    area: Mapped[str | None] = mapped_column(String(10))
    locality: Mapped[str | None] = mapped_column(String(200))
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_number: Mapped[str | None] = mapped_column(String(100))
    org_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    women_led: Mapped[bool] = mapped_column(Boolean, default=False)
    youth_led: Mapped[bool] = mapped_column(Boolean, default=False)
    refugee_migrant_led: Mapped[bool] = mapped_column(Boolean, default=False)
    disability_led: Mapped[bool] = mapped_column(Boolean, default=False)
    # Self-declared yearly budget, for the dashboard's "small organisations" share.
    annual_budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    annual_budget_currency: Mapped[str | None] = mapped_column(String(3))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    # A fund manager's decision that publishing anything about this organisation would put
    # it at risk: every grant and record of it is hidden from every public or donor output.
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint(f"org_type IN ({_TYPES})", name="org_type_known"),
        CheckConstraint("country = upper(country) AND length(country) = 2", name="country_iso"),
        CheckConstraint(
            "(annual_budget_minor IS NULL) = (annual_budget_currency IS NULL) "
            "AND (annual_budget_minor IS NULL OR annual_budget_minor >= 0)",
            name="annual_budget_with_currency",
        ),
        CheckConstraint(
            "NOT safety_flag OR length(trim(coalesce(safety_reason, ''))) > 0",
            name="safety_has_reason",
        ),
        Index("ix_organisations_country", "country"),
        Index("ix_organisations_name", "name"),
    )

    @property
    def type(self) -> OrganisationType:
        return OrganisationType(self.org_type)

    @property
    def leadership(self) -> list[Leadership]:
        return [lead for lead in Leadership if getattr(self, lead.value.replace("-", "_"))]

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"
