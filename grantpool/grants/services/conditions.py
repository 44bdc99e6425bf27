"""Whether a tranche's conditions hold (computed each time, never stored), and the
waivers and evidence a fund manager records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, ValidationFailed
from ...platform.money import Money
from ...platform.permissions import require
from ...platform.storage import get_storage
from ...platform.time import now_utc
from .. import rules
from ..models import ConditionWaiver, Grant, GrantEvidence, Tranche
from ..queries import GrantFacts, load_facts
from ..rules import EvidenceKind, ReportKind, ReportState, TrancheState
from ._common import FILE_ROLES, local_date, require_open


def facts_for(grant: Grant, tranche: Tranche, loaded: GrantFacts, today: dt.date) -> rules.Facts:
    fund = grant.fund
    accepted: dict[tuple[str, int], dt.date] = {}
    for report in loaded.reports:
        if report.state == ReportState.ACCEPTED and report.reviewed_at is not None:
            key = (report.kind, report.tranche_number)
            day = local_date(fund, report.reviewed_at)
            accepted[key] = min(day, accepted.get(key, day))
    milestones: dict[str, dt.date] = {}
    documents: dict[str, dt.date] = {}
    manual: dt.date | None = None
    for item in loaded.evidence:
        day = local_date(fund, item.recorded_at)
        if item.kind == EvidenceKind.MILESTONE:
            milestones.setdefault(item.label, day)
        elif item.kind == EvidenceKind.DOCUMENT:
            documents.setdefault(item.label, day)
        elif item.kind == EvidenceKind.MANUAL_APPROVAL and item.tranche_id == tranche.id:
            manual = manual or day
    previous_percent: Decimal | None = None
    previous_on: dt.date | None = None
    previous = next((t for t in loaded.tranches if t.number == tranche.number - 1), None)
    if previous is not None:
        for report in loaded.reports:
            if (
                report.kind == ReportKind.FINANCIAL
                and report.state == ReportState.ACCEPTED
                and report.tranche_number == previous.number
                and report.spent_minor is not None
                and report.reviewed_at is not None
            ):
                percent = rules.spent_percent(
                    Money(report.spent_minor, grant.currency), previous.amount
                )
                if previous_percent is None or percent > previous_percent:
                    previous_percent = percent
                    previous_on = local_date(fund, report.reviewed_at)
    waivers = {
        w.condition_id: local_date(fund, w.waived_at)
        for w in loaded.waivers
        if w.tranche_id == tranche.id
    }
    return rules.Facts(
        today=today,
        tranche_number=tranche.number,
        accepted_reports=accepted,
        verified_milestones=milestones,
        documents=documents,
        previous_spent_percent=previous_percent,
        previous_spent_on=previous_on,
        manual_approval_on=manual,
        waivers=waivers,
    )


def evaluate_tranches(
    session: Session,
    grant: Grant,
    *,
    now: dt.datetime | None = None,
    locale: str = "en",
    loaded: GrantFacts | None = None,
) -> dict[int, rules.Evaluation]:
    """Each tranche's conditions evaluated today and explained (never stored)."""
    loaded = loaded or load_facts(session, grant)
    today = local_date(grant.fund, now or now_utc())
    return {
        t.id: rules.evaluate(t.conditions, facts_for(grant, t, loaded, today), locale)
        for t in loaded.tranches
    }


def evaluate_tranche(
    session: Session, tranche: Tranche, *, now: dt.datetime | None = None, locale: str = "en"
) -> rules.Evaluation:
    return evaluate_tranches(session, tranche.grant, now=now, locale=locale)[tranche.id]


def waive_condition(
    session: Session,
    actor: User,
    tranche: Tranche,
    condition_id: str,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> ConditionWaiver:
    """A fund manager sets a condition aside, saying why in writing (audited)."""
    grant = tranche.grant
    require(actor, "grant.manage", grant)
    require_open(grant)
    if tranche.state != TrancheState.SCHEDULED:
        raise InvalidTransition(_("Conditions can only be waived before release is requested."))
    if condition_id not in rules.leaf_ids(tranche.conditions):
        raise ValidationFailed.single("condition_id", _("Choose one of the tranche's conditions."))
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Write why this condition is waived."))
    if session.scalar(
        select(ConditionWaiver.id).where(
            ConditionWaiver.tranche_id == tranche.id,
            ConditionWaiver.condition_id == condition_id,
        )
    ):
        raise InvalidTransition(_("This condition has already been waived."))
    waiver = ConditionWaiver(
        tranche_id=tranche.id,
        condition_id=condition_id,
        reason=reason.strip(),
        waived_by_id=actor.id,
        waived_at=now or now_utc(),
    )
    session.add(waiver)
    session.flush()
    leaf = next(x for x in rules.iter_leaves(tranche.conditions) if x.get("id") == condition_id)
    record_event(
        session,
        actor,
        "tranche.waive_condition",
        tranche,
        after={
            "grant_id": grant.id,
            "condition_id": condition_id,
            "condition": rules.describe_leaf(leaf),
            "reason": waiver.reason,
        },
    )
    return waiver


def record_evidence(
    session: Session,
    actor: User,
    grant: Grant,
    kind: str,
    label: str,
    *,
    tranche: Tranche | None = None,
    note: str | None = None,
    file: IO[bytes] | None = None,
    now: dt.datetime | None = None,
) -> GrantEvidence:
    """A fund manager verifies a milestone, records a document, or approves a tranche."""
    require(actor, "grant.manage", grant)
    require_open(grant)
    if kind not in {k.value for k in EvidenceKind}:
        raise ValidationFailed.single("kind", _("Unknown kind of evidence."))
    label = (label or "").strip()
    if kind == EvidenceKind.MANUAL_APPROVAL:
        if tranche is None or tranche.grant_id != grant.id:
            raise ValidationFailed.single("tranche", _("Choose the tranche to approve."))
        label = label or f"tranche {tranche.number}"
    if not label or len(label) > 200:
        raise ValidationFailed.single("label", _("Name the milestone or document."))
    stored = None
    if file is not None:
        stored = get_storage().save(file, allowed_types=FILE_ROLES["document"])
    evidence = GrantEvidence(
        grant_id=grant.id,
        tranche_id=tranche.id if tranche is not None else None,
        kind=kind,
        label=label,
        note=(note or "").strip() or None,
        file_key=stored.key if stored else None,
        content_type=stored.content_type if stored else None,
        recorded_by_id=actor.id,
        recorded_at=now or now_utc(),
    )
    session.add(evidence)
    session.flush()
    record_event(
        session,
        actor,
        f"grant.evidence.{kind}",
        evidence,
        object_type="grant_evidence",
        after={"grant_id": grant.id, "label": label, "tranche_id": evidence.tranche_id},
    )
    return evidence
