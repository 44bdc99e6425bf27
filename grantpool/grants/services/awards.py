"""Tranche templates and the award: a grant made from an application, committed in the
ledger, its schedule planned from the template for its risk level."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...funds.models import Fund
from ...intake.models import Application
from ...intake.rules import ApplicationState
from ...ledger import rules as ledger_rules
from ...ledger import services as ledger
from ...platform.audit import record_event
from ...platform.errors import InsufficientFunds, InvalidTransition, ValidationFailed
from ...platform.money import Money
from ...platform.permissions import require
from ...platform.time import now_utc
from .. import rules, signals
from ..commands import TemplateDetails
from ..models import Grant, Tranche, TrancheTemplate
from ..rules import GrantState, RiskLevel, TrancheState
from ._common import local_date, lock_fund
from .agreements import issue_agreement


def template_for(
    session: Session, fund: Fund, risk_level: str, name: str | None = None
) -> list[dict[str, Any]]:
    """The tranche template to use: the call's named template when it is for this risk level,
    else the fund's template for the risk level, else the built-in default."""
    stored = list(
        session.scalars(
            select(TrancheTemplate).where(
                TrancheTemplate.fund_id == fund.id, TrancheTemplate.risk_level == risk_level
            )
        )
    )
    by_name = {t.name: t for t in stored}
    if name and name in by_name:
        return by_name[name].tranches
    if risk_level in by_name:
        return by_name[risk_level].tranches
    return rules.DEFAULT_TEMPLATES[RiskLevel(risk_level)]


def save_template(
    session: Session, actor: User, fund: Fund, details: TemplateDetails
) -> TrancheTemplate:
    """Create or replace a fund's template (by name; the risk level's own name by default)."""
    require(actor, "fund.edit_tranche_templates", fund)
    risk_level = details.risk_level.value
    clean = [tranche.as_data() for tranche in details.tranches]
    name = details.name or risk_level
    template = session.scalar(
        select(TrancheTemplate).where(
            TrancheTemplate.fund_id == fund.id, TrancheTemplate.name == name
        )
    )
    before = None
    if template is None:
        template = TrancheTemplate(fund_id=fund.id, name=name, risk_level=risk_level)
        session.add(template)
    else:
        before = {"risk_level": template.risk_level, "tranches": template.tranches}
    template.risk_level = risk_level
    template.tranches = clean
    template.updated_by_id = actor.id
    session.flush()
    record_event(
        session,
        actor,
        "tranche_template.save",
        template,
        before=before,
        after={"fund_id": fund.id, "name": name, "risk_level": risk_level, "tranches": clean},
    )
    return template


# --- award ----------------------------------------------------------------------------------

AWARDABLE = {ApplicationState.SUBMITTED, ApplicationState.IN_REVIEW, ApplicationState.AWARDED}


def create_grant(
    session: Session,
    actor: User,
    application: Application,
    amount: Money,
    *,
    risk_level: str = "medium",
    language: str | None = None,
    start_on: dt.date | None = None,
    end_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Grant:
    """Create the grant of an application and commit its amount in the ledger, in the
    caller's transaction. Refused with InsufficientFunds, having written nothing, when the
    fund's available money does not cover it.

    The tranche schedule comes from the template for the risk level; amounts add up
    exactly to the grant. The first agreement PDF is issued.
    """
    now = now or now_utc()
    call = application.call
    fund = call.fund
    require(actor, "fund.award_grant", fund)
    errors: dict[str, str] = {}
    if risk_level not in {r.value for r in RiskLevel}:
        errors["risk_level"] = _("Choose low, medium or high.")
    if amount.currency != fund.base_currency:
        errors["amount"] = _("Grants are made in the fund's currency, %(c)s.", c=fund.base_currency)
    elif amount.amount_minor <= 0:
        errors["amount"] = _("Enter an amount greater than zero.")
    start_on = start_on or local_date(fund, now)
    if end_on is not None and end_on < start_on:
        errors["end_on"] = _("The grant must end after it starts.")
    if errors:
        raise ValidationFailed(errors)
    if application.state not in AWARDABLE:
        raise InvalidTransition(_("Only a submitted application can become a grant."))
    if session.scalar(select(Grant.id).where(Grant.application_id == application.id)):
        raise InvalidTransition(_("This application already has a grant."))
    plan = rules.plan_schedule(
        template_for(session, fund, risk_level, call.tranche_template), amount, start_on
    )
    rules.check_schedule_adds_up([p.amount for p in plan], amount)
    end_on = end_on or max(
        plan[-1].due_on + dt.timedelta(days=90), start_on + dt.timedelta(days=365)
    )

    # Check the money under the fund's lock before writing anything; post_transaction
    # checks again as it posts.
    lock_fund(session, fund)
    if ledger.balance_of(session, fund, ledger_rules.FUND_AVAILABLE) < amount:
        raise InsufficientFunds()

    grant = Grant(
        fund_id=fund.id,
        organisation_id=application.organisation_id,
        application_id=application.id,
        amount_minor=amount.amount_minor,
        currency=amount.currency,
        start_on=start_on,
        end_on=end_on,
        risk_level=risk_level,
        language=language or application.language or "en",
        state=GrantState.ACTIVE.value,
        awarded_at=now,
        awarded_by_id=actor.id,
    )
    session.add(grant)
    session.flush()
    transaction = ledger.commit_to_grant(session, fund, grant.id, amount, actor)
    session.add_all(
        Tranche(
            grant_id=grant.id,
            number=p.number,
            amount_minor=p.amount.amount_minor,
            currency=p.amount.currency,
            due_on=p.due_on,
            conditions=p.conditions,
            state=TrancheState.SCHEDULED.value,
        )
        for p in plan
    )
    session.flush()
    signals.grant_created.send(grant, session=session)
    record_event(
        session,
        actor,
        "grant.create",
        grant,
        at=now,
        after={
            "application_id": application.id,
            "organisation_id": application.organisation_id,
            "amount": str(amount),
            "risk_level": risk_level,
            "tranches": [str(p.amount) for p in plan],
            "transaction_id": transaction.id,
        },
    )
    issue_agreement(session, actor, grant)
    return grant
