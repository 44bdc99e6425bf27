"""Funds and donors."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session, selectinload

from ..accounts.models import Role, RoleAssignment, User
from ..platform.audit import record_event, snapshot
from ..platform.errors import ValidationFailed
from ..platform.links import Link, rows
from .commands import DonorDetails, FundDetails
from .models import Donor, Fund, FundDonor

FUND_FIELDS = ["name", "description", "base_currency", "timezone"]
DONOR_FIELDS = ["name", "donor_type", "country", "org_id", "currency"]


def _check_fund(session: Session, details: FundDetails, existing: Fund | None) -> None:
    errors: dict[str, str] = {}
    if (
        session.scalar(
            select(Fund.id).where(
                Fund.name == details.name, Fund.id != (existing.id if existing else -1)
            )
        )
        is not None
    ):
        errors["name"] = _("Another fund already has this name.")
    if existing is not None and details.base_currency != existing.base_currency:
        errors["base_currency"] = _("A fund's base currency cannot change once it exists.")
    if errors:
        raise ValidationFailed(errors)


def _fund_values(details: FundDetails) -> dict[str, Any]:
    return {
        "name": details.name,
        "description": details.description,
        "base_currency": details.base_currency,
        "timezone": details.timezone,
    }


def create_fund(session: Session, actor: User, details: FundDetails) -> Fund:
    """Create a fund; its creator manages it."""
    _check_fund(session, details, None)
    fund = Fund(**_fund_values(details))
    session.add(fund)
    session.flush()
    if not actor.is_fund_manager(fund.id):
        # The creator manages the fund they created.
        session.add(RoleAssignment(user_id=actor.id, role=Role.FUND_MANAGER.value, fund_id=fund.id))
        session.flush()
        session.refresh(actor, ["roles"])
    record_event(session, actor, "fund.create", fund, after=snapshot(fund, FUND_FIELDS))
    return fund


def update_fund(session: Session, actor: User, fund: Fund, details: FundDetails) -> Fund:
    _check_fund(session, details, fund)
    before = snapshot(fund, FUND_FIELDS)
    for key, value in _fund_values(details).items():
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


def _check_donor(session: Session, details: DonorDetails, existing: Donor | None) -> None:
    if (
        session.scalar(
            select(Donor.id).where(
                Donor.name == details.name, Donor.id != (existing.id if existing else -1)
            )
        )
        is not None
    ):
        raise ValidationFailed(
            {
                "name": _(
                    "A donor with this name already exists. If it gives to your fund too, "
                    "an administrator can add your fund to it."
                )
            }
        )


def _donor_values(details: DonorDetails) -> dict[str, Any]:
    return {
        "name": details.name,
        "donor_type": details.donor_type,
        "country": details.country,
        "org_id": details.org_id,
        "currency": details.currency,
    }


def create_donor(session: Session, actor: User, details: DonorDetails) -> Donor:
    """Add a donor. A fund manager limited to some funds adds it as a donor of one of them
    (`fund_ids`, or their only fund), so the managers of other funds do not see it."""
    _check_donor(session, details, None)
    fund_ids = _donor_fund_choice(session, actor, details.fund_ids, required=True)
    donor = Donor(**_donor_values(details))
    donor.fund_links = [FundDonor(fund_id=fund_id) for fund_id in sorted(fund_ids)]
    session.add(donor)
    session.flush()
    record_event(session, actor, "donor.create", donor, after=_donor_snapshot(donor))
    return donor


def update_donor(session: Session, actor: User, donor: Donor, details: DonorDetails) -> Donor:
    """Change a donor. With `fund_ids`, the donor gives to exactly those of the funds the
    actor manages; its links to other funds are kept."""
    before = _donor_snapshot(donor)
    _check_donor(session, details, donor)
    if details.fund_ids is not None:
        chosen = _donor_fund_choice(session, actor, details.fund_ids, required=False)
        managed = actor.staff_fund_ids(Role.FUND_MANAGER)
        kept = [
            link
            for link in donor.fund_links
            if (managed is not None and link.fund_id not in managed) or link.fund_id in chosen
        ]
        present = {link.fund_id for link in kept}
        _refuse_unlinking_givers(session, donor, donor.fund_ids - present)
        donor.fund_links = kept + [
            FundDonor(fund_id=fund_id) for fund_id in sorted(chosen - present)
        ]
    for key, value in _donor_values(details).items():
        setattr(donor, key, value)
    session.flush()
    record_event(session, actor, "donor.update", donor, before=before, after=_donor_snapshot(donor))
    return donor


DONATIONS = Link("donor.funds", ("donor_id", "fund_id"))
"""(donor, fund) for every pledge or contribution a donor has made to a fund: the ledger
provides the rows."""


def _refuse_unlinking_givers(session: Session, donor: Donor, fund_ids: frozenset[int]) -> None:
    """A donor stays a donor of every fund it has pledged or given to."""
    if not fund_ids:
        return
    gifts = rows(DONATIONS)
    given = select(gifts.c.fund_id).where(
        gifts.c.donor_id == donor.id, gifts.c.fund_id.in_(fund_ids)
    )
    fund = session.scalar(select(Fund.name).where(Fund.id.in_(given)).limit(1))
    if fund is not None:
        raise ValidationFailed(
            {
                "fund_ids": _(
                    "This donor has given or pledged to %(fund)s; it stays a donor of that fund.",
                    fund=fund,
                )
            }
        )


def _donor_snapshot(donor: Donor) -> dict[str, Any]:
    return {**snapshot(donor, DONOR_FIELDS), "fund_ids": sorted(donor.fund_ids)}


def _donor_fund_choice(
    session: Session, actor: User, chosen: frozenset[int] | None, *, required: bool
) -> frozenset[int]:
    """The funds a donor is to give to, as chosen by `actor`: only funds the actor manages
    (any fund for admins and managers of every fund)."""
    managed = actor.staff_fund_ids(Role.FUND_MANAGER)
    chosen = chosen or frozenset()
    if managed is None:
        known = set(session.scalars(select(Fund.id).where(Fund.id.in_(chosen))))
        if chosen - known:
            raise ValidationFailed({"fund_ids": _("Choose funds from the list.")})
        return chosen
    if chosen - managed:
        raise ValidationFailed({"fund_ids": _("Choose funds you manage.")})
    if not chosen and required:
        if len(managed) == 1:
            return managed
        raise ValidationFailed({"fund_ids": _("Choose the funds this donor gives to.")})
    return chosen


def donor_fund_choices(session: Session, user: User) -> list[tuple[int, str]]:
    """The funds `user` may add a donor to, when there is a choice to make: every fund
    for admins and managers of every fund, their own when they manage several; none for
    the manager of one fund (the donor is then a donor of that fund)."""
    managed = user.staff_fund_ids(Role.FUND_MANAGER)
    if managed is not None and len(managed) < 2:
        return []
    query = select(Fund.id, Fund.name).order_by(Fund.name)
    if managed is not None:
        query = query.where(Fund.id.in_(managed))
    return [(int(fund_id), name) for fund_id, name in session.execute(query)]


def donor_visible_to(user: User) -> ColumnElement[bool]:
    """Donors `user` may see, as a condition on Donor: every donor for admins and staff of
    every fund; for staff of some funds, those funds' donors and donors not yet giving to
    any fund."""
    funds = user.staff_fund_ids()
    if funds is None:
        return true()
    ours = Donor.id.in_(select(FundDonor.donor_id).where(FundDonor.fund_id.in_(funds)))
    if not funds:
        return ours
    return or_(ours, ~exists().where(FundDonor.donor_id == Donor.id))


def list_donors(session: Session, user: User, *, fund_id: int | None = None) -> list[Donor]:
    """The donors `user` may see, by name; with `fund_id`, only that fund's donors."""
    query = select(Donor).where(donor_visible_to(user)).options(selectinload(Donor.fund_links))
    if fund_id is not None:
        query = query.where(
            Donor.id.in_(select(FundDonor.donor_id).where(FundDonor.fund_id == fund_id))
        )
    return list(session.scalars(query.order_by(Donor.name)))


def add_fund_donor(session: Session, donor: Donor, fund_id: int) -> None:
    """Make `donor` a donor of the fund (a pledge or contribution was recorded)."""
    if fund_id not in donor.fund_ids:
        donor.fund_links.append(FundDonor(fund_id=fund_id))
        session.flush()


def donors_by_id(session: Session, donor_ids: set[int]) -> dict[int, Donor]:
    """The donors named by a fund's own records (pledges, contributions), in one statement."""
    if not donor_ids:
        return {}
    return {d.id: d for d in session.scalars(select(Donor).where(Donor.id.in_(donor_ids)))}
