"""Read side of grants: a grant's tranches, reports, disbursements and the rest, and the
grants a person may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from .models import (
    AgreementVersion,
    Amendment,
    ConditionWaiver,
    Disbursement,
    Grant,
    GrantEvidence,
    Report,
    Tranche,
)


def tranches_of(session: Session, grant: Grant) -> list[Tranche]:
    return list(
        session.scalars(
            select(Tranche).where(Tranche.grant_id == grant.id).order_by(Tranche.number)
        )
    )


def reports_of(session: Session, grant: Grant) -> list[Report]:
    return list(
        session.scalars(select(Report).where(Report.grant_id == grant.id).order_by(Report.id))
    )


def disbursements_of(session: Session, grant: Grant) -> list[Disbursement]:
    return list(
        session.scalars(
            select(Disbursement).where(Disbursement.grant_id == grant.id).order_by(Disbursement.id)
        )
    )


def evidence_of(session: Session, grant: Grant) -> list[GrantEvidence]:
    return list(
        session.scalars(
            select(GrantEvidence)
            .where(GrantEvidence.grant_id == grant.id)
            .order_by(GrantEvidence.id)
        )
    )


def waivers_of(session: Session, grant: Grant) -> list[ConditionWaiver]:
    return list(
        session.scalars(
            select(ConditionWaiver)
            .join(Tranche, Tranche.id == ConditionWaiver.tranche_id)
            .where(Tranche.grant_id == grant.id)
            .order_by(ConditionWaiver.id)
        )
    )


def amendments_of(session: Session, grant: Grant) -> list[Amendment]:
    return list(
        session.scalars(
            select(Amendment).where(Amendment.grant_id == grant.id).order_by(Amendment.number)
        )
    )


def agreements_of(session: Session, grant: Grant) -> list[AgreementVersion]:
    return list(
        session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.grant_id == grant.id)
            .order_by(AgreementVersion.version)
        )
    )


def grants_visible_to(session: Session, user: User) -> list[Grant]:
    """The grants a person may see: all for admins, their funds' for staff, their own
    organisations' for grantees."""
    query = select(Grant).order_by(Grant.id.desc())
    if not user.is_admin:
        fund_ids = {
            a.fund_id
            for a in user.roles
            if a.role in ("fund_manager", "finance_officer") and a.fund_id is not None
        }
        global_staff = any(
            a.role in ("fund_manager", "finance_officer") and a.fund_id is None for a in user.roles
        )
        if not global_staff:
            conditions = [Grant.organisation_id.in_(user.organisation_ids() or {-1})]
            if fund_ids:
                conditions.append(Grant.fund_id.in_(fund_ids))
            query = query.where(or_(*conditions))
    return list(session.scalars(query.limit(500)))


@dataclass(frozen=True)
class GrantFacts:
    """Everything the conditions of a grant's tranches may depend on, loaded in four queries."""

    tranches: list[Tranche]
    reports: list[Report]
    evidence: list[GrantEvidence]
    waivers: list[ConditionWaiver]


def load_facts(session: Session, grant: Grant) -> GrantFacts:
    return GrantFacts(
        tranches_of(session, grant),
        reports_of(session, grant),
        evidence_of(session, grant),
        waivers_of(session, grant),
    )
