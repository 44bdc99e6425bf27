"""Funds and donors."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Role, RoleAssignment, User
from ..organisations.rules import is_valid_country
from ..platform.audit import record_event, snapshot
from ..platform.cells import clean_name
from ..platform.errors import ValidationFailed
from ..platform.money import is_currency
from ..platform.time import is_valid_timezone
from .models import Donor, Fund

DONOR_TYPES = (
    "government",
    "multilateral",
    "foundation",
    "private_sector",
    "individual",
    "pooled_fund",
    "other",
)
FUND_FIELDS = ["name", "description", "base_currency", "timezone"]
DONOR_FIELDS = ["name", "donor_type", "country", "org_id", "currency"]


def _clean_fund(session: Session, data: dict[str, Any], existing: Fund | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name, problem = clean_name(data.get("name"))
    if not name:
        errors["name"] = _("Enter the fund's name.")
    elif problem:
        errors["name"] = problem
    elif (
        session.scalar(
            select(Fund.id).where(Fund.name == name, Fund.id != (existing.id if existing else -1))
        )
        is not None
    ):
        errors["name"] = _("Another fund already has this name.")
    currency = (data.get("base_currency") or "").strip().upper()
    if not is_currency(currency):
        errors["base_currency"] = _("Enter a currency code such as USD, EUR or KES.")
    elif existing is not None and currency != existing.base_currency:
        errors["base_currency"] = _("A fund's base currency cannot change once it exists.")
    timezone = (data.get("timezone") or "").strip()
    if not is_valid_timezone(timezone):
        errors["timezone"] = _("Choose a time zone such as Africa/Nairobi.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "name": name,
        "description": (data.get("description") or "").strip() or None,
        "base_currency": currency,
        "timezone": timezone,
    }


def create_fund(session: Session, actor: User, data: dict[str, Any]) -> Fund:
    fund = Fund(**_clean_fund(session, data, None))
    session.add(fund)
    session.flush()
    if not actor.is_fund_manager(fund.id):
        # The creator manages the fund they created.
        session.add(RoleAssignment(user_id=actor.id, role=Role.FUND_MANAGER.value, fund_id=fund.id))
        session.flush()
        session.refresh(actor, ["roles"])
    record_event(session, actor, "fund.create", fund, after=snapshot(fund, FUND_FIELDS))
    return fund


def update_fund(session: Session, actor: User, fund: Fund, data: dict[str, Any]) -> Fund:
    before = snapshot(fund, FUND_FIELDS)
    for key, value in _clean_fund(session, data, fund).items():
        setattr(fund, key, value)
    session.flush()
    record_event(
        session, actor, "fund.update", fund, before=before, after=snapshot(fund, FUND_FIELDS)
    )
    return fund


def visible_funds(session: Session, user: User) -> list[Fund]:
    """Admins and unscoped managers and finance officers see every fund; others theirs."""
    query = select(Fund).order_by(Fund.name)
    sees_all = user.is_admin or any(
        a.fund_id is None
        for a in user.roles
        if a.role in (Role.FUND_MANAGER.value, Role.FINANCE_OFFICER.value)
    )
    if not sees_all:
        query = query.where(Fund.id.in_({a.fund_id for a in user.roles if a.fund_id}))
    return list(session.scalars(query))


def _clean_donor(session: Session, data: dict[str, Any], existing: Donor | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name, problem = clean_name(data.get("name"))
    if not name:
        errors["name"] = _("Enter the donor's name.")
    elif problem:
        errors["name"] = problem
    elif (
        session.scalar(
            select(Donor.id).where(
                Donor.name == name, Donor.id != (existing.id if existing else -1)
            )
        )
        is not None
    ):
        errors["name"] = _("Another donor already has this name.")
    donor_type = data.get("donor_type") or ""
    if donor_type not in DONOR_TYPES:
        errors["donor_type"] = _("Choose the kind of donor.")
    country = (data.get("country") or "").strip().upper() or None
    if country and not is_valid_country(country):
        errors["country"] = _("Choose a country.")
    currency = (data.get("currency") or "").strip().upper()
    if not is_currency(currency):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "name": name,
        "donor_type": donor_type,
        "country": country,
        "org_id": (data.get("org_id") or "").strip() or None,
        "currency": currency,
    }


def create_donor(session: Session, actor: User, data: dict[str, Any]) -> Donor:
    donor = Donor(**_clean_donor(session, data, None))
    session.add(donor)
    session.flush()
    record_event(session, actor, "donor.create", donor, after=snapshot(donor, DONOR_FIELDS))
    return donor


def update_donor(session: Session, actor: User, donor: Donor, data: dict[str, Any]) -> Donor:
    before = snapshot(donor, DONOR_FIELDS)
    for key, value in _clean_donor(session, data, donor).items():
        setattr(donor, key, value)
    session.flush()
    record_event(
        session, actor, "donor.update", donor, before=before, after=snapshot(donor, DONOR_FIELDS)
    )
    return donor


def list_donors(session: Session) -> list[Donor]:
    return list(session.scalars(select(Donor).order_by(Donor.name)))
