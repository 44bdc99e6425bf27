"""Organisations: create and edit, with the checks every channel shares."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, CompoundSelect, and_, false, func, or_, select, true, union
from sqlalchemy.orm import Session

from ..accounts.models import Membership, Role, User
from ..platform.audit import record_event, snapshot
from ..platform.cells import clean_name
from ..platform.errors import ValidationFailed
from ..platform.money import is_currency, parse_money
from .models import Organisation
from .rules import OrganisationType, is_valid_area, is_valid_country, is_valid_org_id

FIELDS = [
    "name",
    "short_name",
    "org_type",
    "country",
    "area",
    "locality",
    "registered",
    "registration_number",
    "org_id",
    "women_led",
    "youth_led",
    "refugee_migrant_led",
    "disability_led",
    "annual_budget_minor",
    "annual_budget_currency",
    "contact_email",
    "contact_phone",
]


def _clean_annual_budget(
    data: dict[str, Any], clean: dict[str, Any], errors: dict[str, str]
) -> None:
    """Optional: an amount typed in a form (`annual_budget`) or minor units from the API."""
    currency = (data.get("annual_budget_currency") or "").strip().upper() or None
    typed = (str(data.get("annual_budget") or "")).strip()
    minor = data.get("annual_budget_minor")
    if not typed and minor is None:
        clean["annual_budget_minor"] = clean["annual_budget_currency"] = None
        return
    if currency is None or not is_currency(currency):
        errors["annual_budget_currency"] = _("Enter a currency code such as USD, EUR or KES.")
        return
    if typed:
        try:
            minor = parse_money(typed, currency, str(data.get("locale") or "en")).amount_minor
        except ValueError:
            errors["annual_budget"] = _("Enter an amount such as 1250.50.")
            return
    if not isinstance(minor, int) or minor < 0:
        errors["annual_budget"] = _("Enter an amount of zero or more.")
        return
    clean["annual_budget_minor"] = minor
    clean["annual_budget_currency"] = currency


def _clean(session: Session, data: dict[str, Any], existing: Organisation | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    name, problem = clean_name(data.get("name"))
    if not name:
        errors["name"] = _("Enter the organisation's name.")
    elif problem:
        errors["name"] = problem
    elif len(name) > 300:
        errors["name"] = _("Use at most 300 characters.")
    clean["name"] = name
    short_name, problem = clean_name(data.get("short_name"))
    if problem:
        errors["short_name"] = problem
    clean["short_name"] = short_name or None
    org_type = data.get("org_type") or ""
    if org_type not in {t.value for t in OrganisationType}:
        errors["org_type"] = _("Choose the kind of organisation.")
    clean["org_type"] = org_type
    country = (data.get("country") or "").strip().upper()
    if not is_valid_country(country):
        errors["country"] = _("Choose a country.")
    clean["country"] = country
    area = (data.get("area") or "").strip().upper() or None
    if area and country and not is_valid_area(country, area):
        errors["area"] = _("Choose an area in the selected country.")
    clean["area"] = area
    clean["locality"] = (data.get("locality") or "").strip() or None
    clean["registered"] = bool(data.get("registered"))
    clean["registration_number"] = (data.get("registration_number") or "").strip() or None
    org_id = (data.get("org_id") or "").strip() or None
    if org_id and not is_valid_org_id(org_id):
        errors["org_id"] = _(
            "Use an org-id.guide identifier such as KE-NGB-1234 or GB-CHC-1234567."
        )
    elif org_id:
        clash = session.scalar(select(Organisation.id).where(Organisation.org_id == org_id))
        if clash is not None and (existing is None or clash != existing.id):
            errors["org_id"] = _("Another organisation already has this identifier.")
    clean["org_id"] = org_id
    for flag in ("women_led", "youth_led", "refugee_migrant_led", "disability_led"):
        clean[flag] = bool(data.get(flag))
    _clean_annual_budget(data, clean, errors)
    email = (data.get("contact_email") or "").strip().lower() or None
    if email and ("@" not in email or "." not in email.split("@")[-1]):
        errors["contact_email"] = _("Enter an email address like name@example.org.")
    clean["contact_email"] = email
    clean["contact_phone"] = (data.get("contact_phone") or "").strip() or None
    if errors:
        raise ValidationFailed(errors)
    return clean


def create_organisation(
    session: Session, actor: User | None, data: dict[str, Any], *, add_member: User | None = None
) -> Organisation:
    organisation = Organisation(**_clean(session, data, None))
    session.add(organisation)
    session.flush()
    if add_member is not None:
        session.add(Membership(user_id=add_member.id, organisation_id=organisation.id))
    record_event(
        session, actor, "organisation.create", organisation, after=snapshot(organisation, FIELDS)
    )
    return organisation


def update_organisation(
    session: Session, actor: User, organisation: Organisation, data: dict[str, Any]
) -> Organisation:
    before = snapshot(organisation, FIELDS)
    for key, value in _clean(session, data, organisation).items():
        setattr(organisation, key, value)
    session.flush()
    after = snapshot(organisation, FIELDS)
    changed = {k for k in FIELDS if before[k] != after[k]}
    if changed:
        record_event(
            session,
            actor,
            "organisation.update",
            organisation,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return organisation


def add_member(session: Session, actor: User, organisation: Organisation, user: User) -> None:
    if user.belongs_to(organisation.id):
        return
    session.add(Membership(user_id=user.id, organisation_id=organisation.id))
    session.flush()
    record_event(
        session, actor, "organisation.add_member", organisation, after={"user_id": user.id}
    )


def member_organisations(session: Session, user: User) -> list[Organisation]:
    """The organisations `user` belongs to, in the order they joined: one statement."""
    return list(
        session.scalars(
            select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.id)
        )
    )


def _fund_links() -> CompoundSelect[int, int]:
    """(organisation, fund) for every fund an organisation has applied to or holds a
    grant from. Intake and grants build on organisations, hence the late import."""
    from ..calls.models import Call
    from ..grants.models import Grant
    from ..intake.models import Application

    return union(
        select(Grant.organisation_id, Grant.fund_id),
        select(Application.organisation_id, Call.fund_id).join(
            Call, Call.id == Application.call_id
        ),
    )


def fund_ids(session: Session, organisation_id: int) -> frozenset[int]:
    """The funds the organisation works with: applied to, or holds a grant from."""
    links = _fund_links().subquery()
    return frozenset(
        int(f)
        for f in session.scalars(
            select(links.c.fund_id).where(links.c.organisation_id == organisation_id)
        )
    )


def organisation_visible_to(user: User) -> ColumnElement[bool]:
    """Organisations `user` may find as staff, as a condition on Organisation: all, for
    admins and staff of every fund; for staff of some funds, the organisations working
    with those funds and those not yet working with any fund. Written as EXISTS probes on
    the indexed organisation columns, so a page of organisations costs a few index
    lookups per row, whatever the number of applications."""
    from ..calls.models import Call
    from ..grants.models import Grant
    from ..intake.models import Application

    funds = user.staff_fund_ids(Role.FUND_MANAGER, Role.FINANCE_OFFICER)
    if funds is None:
        return true()
    grants = select(Grant.id).where(Grant.organisation_id == Organisation.id)
    applications = select(Application.id).where(Application.organisation_id == Organisation.id)
    if not funds:
        return false()
    ours = or_(
        grants.where(Grant.fund_id.in_(funds)).exists(),
        applications.join(Call, Call.id == Application.call_id)
        .where(Call.fund_id.in_(funds))
        .exists(),
    )
    unlinked = and_(~grants.exists(), ~applications.exists())
    return or_(ours, unlinked)


def list_organisations(
    session: Session,
    user: User,
    *,
    country: str | None = None,
    org_type: str | None = None,
    search: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[Organisation]:
    query = select(Organisation).where(Organisation.id > after_id, organisation_visible_to(user))
    if country:
        query = query.where(Organisation.country == country.upper())
    if org_type:
        query = query.where(Organisation.org_type == org_type)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(func.lower(Organisation.name).like(pattern))
    return list(session.scalars(query.order_by(Organisation.id).limit(limit)))
