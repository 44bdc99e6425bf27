"""Organisations: create and edit, with the checks every channel shares."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from ..accounts.models import Membership, Role, User
from ..platform.audit import record_event, snapshot
from ..platform.errors import ValidationFailed
from ..platform.links import Link, queries, rows
from .commands import OrganisationDetails
from .models import Organisation
from .signals import organisation_updated

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


def _check(session: Session, details: OrganisationDetails, existing: Organisation | None) -> None:
    if details.org_id is None:
        return
    clash = session.scalar(select(Organisation.id).where(Organisation.org_id == details.org_id))
    if clash is not None and (existing is None or clash != existing.id):
        raise ValidationFailed.single(
            "org_id", _("Another organisation already has this identifier.")
        )


def _columns(details: OrganisationDetails) -> dict[str, Any]:
    columns = {
        name: getattr(details, name)
        for name in FIELDS
        if name not in ("annual_budget_minor", "annual_budget_currency")
    }
    budget = details.annual_budget
    columns["annual_budget_minor"] = budget.amount_minor if budget else None
    columns["annual_budget_currency"] = budget.currency if budget else None
    return columns


def create_organisation(
    session: Session,
    actor: User | None,
    details: OrganisationDetails,
    *,
    add_member: User | None = None,
) -> Organisation:
    _check(session, details, None)
    organisation = Organisation(**_columns(details))
    session.add(organisation)
    session.flush()
    if add_member is not None:
        session.add(Membership(user_id=add_member.id, organisation_id=organisation.id))
    record_event(
        session, actor, "organisation.create", organisation, after=snapshot(organisation, FIELDS)
    )
    return organisation


def update_organisation(
    session: Session, actor: User | None, organisation: Organisation, details: OrganisationDetails
) -> Organisation:
    _check(session, details, organisation)
    before = snapshot(organisation, FIELDS)
    for key, value in _columns(details).items():
        setattr(organisation, key, value)
    session.flush()
    after = snapshot(organisation, FIELDS)
    changed = {k for k in FIELDS if before[k] != after[k]}
    if changed:
        organisation_updated.send(organisation, session=session, changed=frozenset(changed))
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


FUND_LINKS = Link("organisation.funds", ("organisation_id", "fund_id"))
"""(organisation, fund) for every fund an organisation works with: the capabilities
built on organisations provide the rows (intake its applications, grants its grants)."""


def fund_ids(session: Session, organisation_id: int) -> frozenset[int]:
    """The funds the organisation works with: applied to, or holds a grant from."""
    links = rows(FUND_LINKS)
    return frozenset(
        int(f)
        for f in session.scalars(
            select(links.c.fund_id).where(links.c.organisation_id == organisation_id).distinct()
        )
    )


def organisation_visible_to(user: User) -> ColumnElement[bool]:
    """Organisations `user` may find as staff, as a condition on Organisation: all, for
    admins and staff of every fund; for staff of some funds, the organisations working
    with those funds and those not yet working with any fund. Written as one EXISTS probe
    per kind of link, on the indexed organisation columns, so a page of organisations
    costs a few index lookups per row, whatever the number of applications."""
    funds = user.staff_fund_ids(Role.FUND_MANAGER, Role.FINANCE_OFFICER)
    if funds is None:
        return true()
    if not funds:
        return false()
    probes = [query.subquery() for query in queries(FUND_LINKS)]
    ours = or_(
        false(),
        *(
            select(probe.c.organisation_id)
            .where(probe.c.organisation_id == Organisation.id, probe.c.fund_id.in_(funds))
            .exists()
            for probe in probes
        ),
    )
    unlinked = and_(
        true(),
        *(
            ~select(probe.c.organisation_id)
            .where(probe.c.organisation_id == Organisation.id)
            .exists()
            for probe in probes
        ),
    )
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
