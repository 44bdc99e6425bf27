"""Grant operations. Each takes a session and the acting user, flushes, never commits.

Money moves only through grantpool.ledger.services (post_transaction locks the fund and
refuses to take fund:available or grant:G:committed below zero). Releasing a tranche is
guarded four ways, because SQLite ignores FOR UPDATE: the tranche row is locked on
PostgreSQL; its version column makes a stale writer fail; a unique partial index allows
one live disbursement per tranche; and idempotency keys turn a retry into the first
answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.models import User
from ..funds.models import Fund
from ..intake.models import Application
from ..intake.rules import ApplicationState
from ..ledger import rules as ledger_rules
from ..ledger import services as ledger
from ..ledger.models import LedgerTransaction, TransactionKind
from ..platform import uploads as stored_uploads
from ..platform.audit import record_event
from ..platform.errors import (
    InsufficientFunds,
    InvalidTransition,
    NotPermitted,
    StorageUnavailable,
    ValidationFailed,
)
from ..platform.money import Money, is_currency, parse_money
from ..platform.permissions import require
from ..platform.storage import AUDIO_TYPES, DOCUMENT_TYPES, IMAGE_TYPES, get_storage
from ..platform.time import now_utc
from . import rules
from .models import (
    AgreementVersion,
    Amendment,
    ConditionWaiver,
    Disbursement,
    Grant,
    GrantEvidence,
    Report,
    Tranche,
    TrancheTemplate,
)
from .rules import (
    DisbursementState,
    EvidenceKind,
    GrantState,
    PaymentMethod,
    ReportKind,
    ReportState,
    RiskLevel,
    TrancheState,
)

request_fingerprint = ledger.request_fingerprint

SPREADSHEET_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    }
)
FILE_ROLES: dict[str, frozenset[str]] = {
    "photo": IMAGE_TYPES,
    "voice": AUDIO_TYPES,
    "spreadsheet": SPREADSHEET_TYPES,
    "document": DOCUMENT_TYPES | IMAGE_TYPES,
}


def local_date(fund: Fund, instant: dt.datetime) -> dt.date:
    """The calendar day an instant falls on in the fund's time zone."""
    return instant.astimezone(ZoneInfo(fund.timezone)).date()


def _lock_fund(session: Session, fund: Fund) -> None:
    session.execute(select(Fund.id).where(Fund.id == fund.id).with_for_update(key_share=True))


def _lock_tranche(session: Session, tranche_id: int) -> Tranche:
    """The tranche as it is now, locked on PostgreSQL (a plain read on SQLite, where
    BEGIN IMMEDIATE already serialises writers)."""
    tranche = session.scalars(
        select(Tranche)
        .where(Tranche.id == tranche_id)
        .with_for_update(of=Tranche)
        .execution_options(populate_existing=True)
    ).one()
    return tranche


def _refresh_disbursement(session: Session, disbursement_id: int) -> Disbursement:
    return session.scalars(
        select(Disbursement)
        .where(Disbursement.id == disbursement_id)
        .execution_options(populate_existing=True)
    ).one()


def _flush_guarded(session: Session) -> None:
    """Flush; a lost race (unique index, stale version) becomes a plain refusal."""
    try:
        with session.begin_nested():
            session.flush()
    except (IntegrityError, StaleDataError):
        raise InvalidTransition(
            _("Someone else changed this tranche at the same moment. Reload and try again.")
        ) from None


# --- tranche templates ----------------------------------------------------------------------


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
    session: Session,
    actor: User,
    fund: Fund,
    risk_level: str,
    tranches: Any,
    name: str | None = None,
) -> TrancheTemplate:
    """Create or replace a fund's template (by name; the risk level's own name by default)."""
    require(actor, "fund.edit_tranche_templates", fund)
    if risk_level not in {r.value for r in RiskLevel}:
        raise ValidationFailed.single("risk_level", _("Choose low, medium or high."))
    clean = rules.validate_template(tranches)
    name = (name or risk_level).strip()[:100]
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
    _lock_fund(session, fund)
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


# --- reading a grant ------------------------------------------------------------------------


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
            from sqlalchemy import or_

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


# --- waivers and evidence -------------------------------------------------------------------


def _require_open(grant: Grant) -> None:
    if grant.state not in (GrantState.ACTIVE, GrantState.CLOSING):
        raise InvalidTransition(_("This grant is not active."))


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
    _require_open(grant)
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
    _require_open(grant)
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


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    role: str  # photo | voice | spreadsheet


def _spent_lines(
    lines: Any, currency: str, locale: str, errors: dict[str, str]
) -> list[dict[str, Any]]:
    clean: list[dict[str, Any]] = []
    for row in lines or []:
        label = str((row or {}).get("line") or "").strip()
        text = str((row or {}).get("amount") or "").strip()
        if not label and not text:
            continue
        try:
            money = parse_money(text, currency, locale)
        except ValueError:
            errors["spent_lines"] = _(
                "Each line needs what was bought and an amount such as 120.50."
            )
            continue
        if not label:
            errors["spent_lines"] = _(
                "Each line needs what was bought and an amount such as 120.50."
            )
            continue
        clean.append({"line": label[:200], "amount_minor": money.amount_minor})
    return clean


def _clean_report(
    grant: Grant, data: dict[str, Any], uploads: Sequence[Upload], locale: str
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = str(data.get("kind") or "")
    if kind not in {k.value for k in ReportKind}:
        errors["kind"] = _("Choose a narrative or a financial report.")
    try:
        number = int(data.get("tranche_number") or 0)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        errors["tranche_number"] = _("Choose the tranche this report is about.")
    text = str(data.get("text") or "").strip()
    lines = _spent_lines(data.get("spent_lines"), grant.currency, locale, errors)
    spent_minor: int | None = None
    if kind == ReportKind.FINANCIAL:
        if lines:
            spent_minor = sum(line["amount_minor"] for line in lines)
        elif str(data.get("spent") or "").strip():
            try:
                spent_minor = parse_money(str(data["spent"]), grant.currency, locale).amount_minor
            except ValueError:
                errors["spent"] = _("Enter an amount such as 1250.50.")
        elif "spent_lines" not in errors:
            errors["spent"] = _("Say how much was spent, in a table of amounts or as a total.")
    for upload in uploads:
        if upload.role not in FILE_ROLES:
            errors["files"] = _("Unknown kind of file.")
    if kind == ReportKind.NARRATIVE and not text and not uploads:
        errors["text"] = _("Tell us what happened, in words, photos or a voice note.")
    if len(text) > 20000:
        errors["text"] = _("Keep the report under 20,000 characters.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "kind": kind,
        "tranche_number": number,
        "final": bool(data.get("final")),
        "text": text,
        "spent_lines": lines,
        "spent_minor": spent_minor,
    }


def _save_uploads(
    session: Session, actor: User, grant: Grant, uploads: Sequence[Upload], now: dt.datetime
) -> list[dict[str, Any]]:
    """Store a report's files, charged to the grantee and attached to the report at once.
    One refused file (its kind, the quota, the hourly limit) keeps none of them."""
    saved: list[dict[str, Any]] = []
    try:
        for upload in uploads:
            try:
                stored = stored_uploads.store_upload(
                    session,
                    actor,
                    upload.stream,
                    purpose=stored_uploads.UploadPurpose.REPORT_FILE,
                    organisation_id=grant.organisation_id,
                    allowed_types=FILE_ROLES[upload.role],
                    attached=True,
                    now=now,
                )
            except StorageUnavailable as failure:
                # "Try again" (503), shown beside the field with the report's words kept.
                unavailable = StorageUnavailable(str(failure.message))
                unavailable.errors = {upload.role: [str(failure.message)]}
                raise unavailable from None
            except ValidationFailed as failure:
                raise ValidationFailed({upload.role: failure.errors.get("file", [])}) from None
            except stored_uploads.UploadRateExceeded as refusal:
                # Beside the field, so that the report's words are kept on the page.
                raise ValidationFailed({upload.role: [str(refusal.message)]}) from None
            saved.append(
                {
                    "key": stored.key,
                    "role": upload.role,
                    "content_type": stored.content_type,
                    "size": stored.size,
                }
            )
    except BaseException:
        storage = get_storage()
        for kept in saved:
            storage.delete(kept["key"])
        raise
    return saved


def submit_report(
    session: Session,
    actor: User,
    grant: Grant,
    data: dict[str, Any],
    uploads: Sequence[Upload] = (),
    *,
    locale: str = "en",
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> Report:
    """The grantee sends a narrative or financial report: text, photos, a voice note, an
    expenses spreadsheet or a simple table of amounts spent."""
    require(actor, "grant.report", grant)
    if idempotency_key:
        earlier = session.scalar(
            select(Report).where(
                Report.submitted_by_id == actor.id, Report.idempotency_key == idempotency_key
            )
        )
        if earlier is not None:
            if earlier.grant_id != grant.id or earlier.request_fingerprint != fingerprint:
                raise ValidationFailed(
                    {"": [_("This Idempotency-Key was already used for a different request.")]}
                )
            return earlier
    _require_open(grant)
    clean = _clean_report(grant, data, uploads, locale)
    if clean["tranche_number"] > len(tranches_of(session, grant)):
        raise ValidationFailed.single(
            "tranche_number", _("Choose the tranche this report is about.")
        )
    now = now or now_utc()
    report = Report(
        grant_id=grant.id,
        state=ReportState.SUBMITTED.value,
        files=_save_uploads(session, actor, grant, uploads, now),
        submitted_by_id=actor.id,
        submitted_at=now,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else None,
        **clean,
    )
    session.add(report)
    session.flush()
    record_event(
        session,
        actor,
        "report.submit",
        report,
        after={
            "grant_id": grant.id,
            "kind": report.kind,
            "tranche_number": report.tranche_number,
            "spent_minor": report.spent_minor,
            "files": len(report.files),
        },
    )
    return report


def resubmit_report(
    session: Session,
    actor: User,
    report: Report,
    data: dict[str, Any],
    uploads: Sequence[Upload] = (),
    *,
    locale: str = "en",
    now: dt.datetime | None = None,
) -> Report:
    grant = session.get(Grant, report.grant_id)
    assert grant is not None
    require(actor, "grant.report", grant)
    rules.check_report_transition(report.state, ReportState.SUBMITTED)
    data = {"kind": report.kind, "tranche_number": report.tranche_number, **data}
    clean = _clean_report(grant, data, uploads, locale)
    before = {"text": report.text, "spent_minor": report.spent_minor}
    for name in ("text", "spent_lines", "spent_minor", "final"):
        setattr(report, name, clean[name])
    now = now or now_utc()
    report.files = [*report.files, *_save_uploads(session, actor, grant, uploads, now)]
    report.state = ReportState.SUBMITTED.value
    report.submitted_at = now
    report.reviewed_at = None
    report.reviewed_by_id = None
    session.flush()
    record_event(
        session,
        actor,
        "report.resubmit",
        report,
        before=before,
        after={"text": report.text, "spent_minor": report.spent_minor},
    )
    return report


def review_report(
    session: Session,
    actor: User,
    report: Report,
    *,
    accept: bool,
    comment: str = "",
    now: dt.datetime | None = None,
) -> Report:
    """A fund manager accepts a report, or returns it with comments to be sent again."""
    grant = session.get(Grant, report.grant_id)
    assert grant is not None
    require(actor, "grant.manage", grant)
    target = ReportState.ACCEPTED if accept else ReportState.RETURNED
    rules.check_report_transition(report.state, target)
    comment = (comment or "").strip()
    if not accept and not comment:
        raise ValidationFailed.single("comment", _("Say what needs to change."))
    report.state = target.value
    report.reviewed_by_id = actor.id
    report.reviewed_at = now or now_utc()
    report.review_comment = comment or None
    session.flush()
    record_event(
        session,
        actor,
        f"report.{'accept' if accept else 'return'}",
        report,
        after={"grant_id": grant.id, "comment": comment},
    )
    return report


# --- disbursement ---------------------------------------------------------------------------


def _replayed_release(
    session: Session, actor: User, tranche: Tranche, key: str | None, fingerprint: str
) -> Disbursement | None:
    if not key:
        return None
    earlier = session.scalar(
        select(Disbursement).where(
            Disbursement.requested_by_id == actor.id, Disbursement.idempotency_key == key
        )
    )
    if earlier is None:
        return None
    if earlier.tranche_id != tranche.id or earlier.request_fingerprint != fingerprint:
        raise ValidationFailed(
            {"": [_("This Idempotency-Key was already used for a different request.")]}
        )
    return earlier


def request_release(
    session: Session,
    actor: User,
    tranche: Tranche,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    now: dt.datetime | None = None,
) -> Disbursement:
    """A finance officer asks for a tranche to be paid. Only when its conditions hold or
    are waived; a retry with the same key returns the first request."""
    now = now or now_utc()
    require(actor, "grant.request_release", tranche.grant)
    fingerprint = fingerprint or request_fingerprint(["release", tranche.id])
    tranche = _lock_tranche(session, tranche.id)
    earlier = _replayed_release(session, actor, tranche, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier
    grant = tranche.grant
    if grant.state != GrantState.ACTIVE:
        raise InvalidTransition(_("Tranches of a grant that is not active cannot be released."))
    rules.check_tranche_transition(tranche.state, TrancheState.RELEASE_REQUESTED)
    evaluation = evaluate_tranche(session, tranche, now=now)
    if not evaluation.met:
        raise InvalidTransition(
            _("This tranche cannot be released yet. %(why)s", why=evaluation.summary)
        )
    disbursement = Disbursement(
        grant_id=grant.id,
        tranche_id=tranche.id,
        state=DisbursementState.REQUESTED.value,
        amount_minor=tranche.amount_minor,
        currency=tranche.currency,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint if idempotency_key else None,
        requested_by_id=actor.id,
        requested_at=now,
        conditions_met_on=evaluation.since or local_date(grant.fund, now),
    )
    session.add(disbursement)
    tranche.state = TrancheState.RELEASE_REQUESTED.value
    _flush_guarded(session)
    record_event(
        session,
        actor,
        "tranche.request_release",
        disbursement,
        at=now,
        after={
            "grant_id": grant.id,
            "tranche": tranche.number,
            "amount": str(tranche.amount),
            "conditions": evaluation.summary,
        },
    )
    return disbursement


def approve_release(
    session: Session, actor: User, disbursement: Disbursement, *, now: dt.datetime | None = None
) -> Disbursement:
    """A second person (finance officer or fund manager of the fund) approves."""
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.approve_release", grant)
    if actor.id == disbursement.requested_by_id:
        raise NotPermitted(_("A release must be approved by someone other than its requester."))
    tranche = _lock_tranche(session, disbursement.tranche_id)
    disbursement = _refresh_disbursement(session, disbursement.id)
    if disbursement.approved_by_id == actor.id and disbursement.state in (
        DisbursementState.APPROVED,
        DisbursementState.PAID,
    ):
        return disbursement  # the same approval sent again
    rules.check_disbursement_transition(disbursement.state, DisbursementState.APPROVED)
    rules.check_tranche_transition(tranche.state, TrancheState.APPROVED)
    disbursement.state = DisbursementState.APPROVED.value
    disbursement.approved_by_id = actor.id
    disbursement.approved_at = now
    tranche.state = TrancheState.APPROVED.value
    _flush_guarded(session)
    record_event(
        session, actor, "disbursement.approve", disbursement, at=now, after={"grant_id": grant.id}
    )
    return disbursement


def reject_release(
    session: Session,
    actor: User,
    disbursement: Disbursement,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> Disbursement:
    """Refuse a request (or an approved release not yet paid): the tranche goes back on
    the schedule and may be requested again."""
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.approve_release", grant)
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Say why the release is refused."))
    tranche = _lock_tranche(session, disbursement.tranche_id)
    disbursement = _refresh_disbursement(session, disbursement.id)
    rules.check_disbursement_transition(disbursement.state, DisbursementState.REJECTED)
    disbursement.state = DisbursementState.REJECTED.value
    disbursement.rejected_by_id = actor.id
    disbursement.rejected_at = now
    disbursement.rejection_reason = reason.strip()
    tranche.state = TrancheState.SCHEDULED.value
    _flush_guarded(session)
    record_event(
        session,
        actor,
        "disbursement.reject",
        disbursement,
        at=now,
        after={"grant_id": grant.id, "reason": reason.strip()},
    )
    return disbursement


def _parse_payment(
    grant: Grant, tranche: Tranche, data: dict[str, Any], locale: str
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    reference = str(data.get("reference") or "").strip()
    if not reference or len(reference) > 120:
        errors["reference"] = _("Enter the payment reference (at most 120 characters).")
    method = str(data.get("method") or "")
    if method not in {m.value for m in PaymentMethod}:
        errors["method"] = _("Choose bank transfer, mobile money or cash via agent.")
    paid_on = data.get("paid_on")
    if isinstance(paid_on, str):
        try:
            paid_on = dt.date.fromisoformat(paid_on.strip())
        except ValueError:
            paid_on = None
    if not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        errors["paid_on"] = _("Enter the date the payment was made.")
    currency = str(data.get("currency") or grant.currency).strip().upper()
    base = grant.currency
    amount: Money | None = None
    rate: Decimal | None = None
    if not is_currency(currency):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
    else:
        text = str(data.get("amount") or "").strip()
        if not text:
            amount = tranche.amount.convert(Decimal(1), base) if currency == base else None
            if amount is None:
                errors["amount"] = _("Enter the amount paid in %(c)s.", c=currency)
        else:
            try:
                amount = parse_money(text, currency, locale)
            except ValueError:
                errors["amount"] = _("Enter an amount such as 1250.50.")
        rate_text = str(data.get("exchange_rate") or "").strip()
        if currency == base:
            rate = Decimal(1)
        elif rate_text:
            try:
                rate = Decimal(rate_text)
                if not rate.is_finite() or rate <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors["exchange_rate"] = _(
                    "Enter the exchange rate as a positive number, such as 0.0077."
                )
                rate = None
        elif amount is not None and amount.amount_minor > 0:
            # The rate that made this payment worth the tranche.
            rate = (tranche.amount.to_decimal() / amount.to_decimal()).quantize(Decimal("1E-10"))
    if amount is not None and rate is not None and not errors:
        converted = amount.convert(rate, base)
        tolerance = max(1, tranche.amount_minor // 100)
        if abs(converted.amount_minor - tranche.amount_minor) > tolerance:
            errors["amount"] = _(
                "At this rate the payment is worth %(paid)s, not the tranche's %(due)s.",
                paid=str(converted),
                due=str(tranche.amount),
            )
    if errors:
        raise ValidationFailed(errors)
    assert amount is not None and rate is not None
    return {
        "reference": reference,
        "method": method,
        "paid_on": paid_on,
        "amount": amount,
        "rate": rate,
    }


def record_payment(
    session: Session,
    actor: User,
    disbursement: Disbursement,
    data: dict[str, Any],
    *,
    locale: str = "en",
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> Disbursement:
    """Record the payment of an approved release and post it: debit grant:G:paid, credit
    grant:G:committed. Recording the same payment again (a double click) changes nothing.

    `data`: reference, paid_on (date), method, amount (in `currency`, default the tranche's
    amount in the fund's currency), currency, exchange_rate (fund currency per unit).
    """
    now = now or now_utc()
    grant = disbursement.tranche.grant
    require(actor, "grant.record_payment", grant)
    tranche = _lock_tranche(session, disbursement.tranche_id)
    disbursement = _refresh_disbursement(session, disbursement.id)
    # A client's key is kept on the ledger transaction the payment posts (one per fund):
    # the same key with another body is refused, with the same body it is a replay.
    ledger_key = (
        f"payment-{actor.id}-{idempotency_key}"
        if idempotency_key
        else f"disbursement-{disbursement.id}"
    )
    if idempotency_key:
        fingerprint = fingerprint or request_fingerprint(["payment", disbursement.id, data])
        earlier = session.scalar(
            select(LedgerTransaction).where(
                LedgerTransaction.fund_id == grant.fund_id,
                LedgerTransaction.idempotency_key == ledger_key,
            )
        )
        if earlier is not None:
            if (
                earlier.request_fingerprint != fingerprint
                or disbursement.transaction_id != earlier.id
            ):
                raise ValidationFailed(
                    {"": [_("This Idempotency-Key was already used for a different request.")]}
                )
            return disbursement
    payment = _parse_payment(grant, tranche, data, locale)
    if (
        disbursement.state == DisbursementState.PAID
        and disbursement.payment_reference == payment["reference"]
    ):
        return disbursement  # the same payment recorded again: nothing to do
    rules.check_disbursement_transition(disbursement.state, DisbursementState.PAID)
    rules.check_tranche_transition(tranche.state, TrancheState.PAID)
    fund = grant.fund
    transaction = ledger.post_transaction(
        session,
        fund,
        TransactionKind.TRANCHE_PAYMENT,
        [
            (ledger_rules.grant_paid_account(grant.id), tranche.amount_minor),
            (ledger_rules.grant_committed_account(grant.id), -tranche.amount_minor),
        ],
        actor,
        description=f"grant {grant.id} tranche {tranche.number}: {payment['reference']}",
        idempotency_key=ledger_key,
        fingerprint=fingerprint
        if idempotency_key
        else request_fingerprint(["payment", disbursement.id, tranche.amount_minor]),
    )
    paid_on: dt.date = payment["paid_on"]
    disbursement.state = DisbursementState.PAID.value
    disbursement.paid_by_id = actor.id
    disbursement.paid_on = paid_on
    disbursement.payment_reference = payment["reference"]
    disbursement.payment_method = payment["method"]
    disbursement.payment_amount_minor = payment["amount"].amount_minor
    disbursement.payment_currency = payment["amount"].currency
    disbursement.exchange_rate = payment["rate"]
    disbursement.transaction_id = transaction.id
    awarded_on = local_date(fund, grant.awarded_at)
    disbursement.days_award_to_payment = rules.days_between(awarded_on, paid_on)
    disbursement.days_conditions_to_payment = rules.days_between(
        disbursement.conditions_met_on, paid_on
    )
    tranche.state = TrancheState.PAID.value
    if grant.first_paid_on is None or paid_on < grant.first_paid_on:
        grant.first_paid_on = paid_on
        grant.days_award_to_first_payment = rules.days_between(awarded_on, paid_on)
    _flush_guarded(session)
    record_event(
        session,
        actor,
        "disbursement.pay",
        disbursement,
        at=now,
        after={
            "grant_id": grant.id,
            "tranche": tranche.number,
            "reference": payment["reference"],
            "method": payment["method"],
            "paid_on": paid_on,
            "payment_amount": str(payment["amount"]),
            "exchange_rate": payment["rate"],
            "transaction_id": transaction.id,
            "days_award_to_payment": disbursement.days_award_to_payment,
            "days_conditions_to_payment": disbursement.days_conditions_to_payment,
        },
    )
    return disbursement


# --- amendments -----------------------------------------------------------------------------


def _grant_snapshot(grant: Grant, tranches: Iterable[Tranche]) -> dict[str, Any]:
    return {
        "amount_minor": grant.amount_minor,
        "end_on": grant.end_on.isoformat(),
        "tranches": [
            {
                "number": t.number,
                "amount_minor": t.amount_minor,
                "due_on": t.due_on.isoformat(),
                "conditions": t.conditions,
                "state": t.state,
            }
            for t in tranches
        ],
    }


def _lock_grant(session: Session, grant: Grant) -> Grant:
    return session.scalars(
        select(Grant)
        .where(Grant.id == grant.id)
        .with_for_update(of=Grant)
        .execution_options(populate_existing=True)
    ).one()


def amend_grant(
    session: Session,
    actor: User,
    grant: Grant,
    *,
    reason: str,
    end_on: dt.date | None = None,
    amount: Money | None = None,
    tranches: list[dict[str, Any]] | None = None,
    now: dt.datetime | None = None,
) -> Amendment:
    """Change the end date, the tranches (amounts, dates, conditions) or the grant amount.

    `tranches`: the whole new schedule as [{"number", "amount": Money, "due_on", "conditions"}];
    tranches already requested, approved or paid must appear unchanged; scheduled ones left
    out are cancelled. When only the amount changes, the last scheduled tranche absorbs the
    difference. An increase commits more money (InsufficientFunds if the fund lacks it); a
    decrease releases commitment back to the fund. A new agreement version is issued.
    """
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Say why the grant is amended."))
    grant = _lock_grant(session, grant)
    if grant.state not in (GrantState.ACTIVE, GrantState.SUSPENDED):
        raise InvalidTransition(_("Only an active or suspended grant can be amended."))
    fund = grant.fund
    _lock_fund(session, fund)
    current = [
        t
        for t in session.scalars(
            select(Tranche)
            .where(Tranche.grant_id == grant.id)
            .order_by(Tranche.number)
            .with_for_update(of=Tranche)
            .execution_options(populate_existing=True)
        )
    ]
    before = _grant_snapshot(grant, current)
    new_amount = amount if amount is not None else grant.amount
    if new_amount.currency != grant.currency or new_amount.amount_minor <= 0:
        raise ValidationFailed.single("amount", _("Enter an amount greater than zero."))
    new_end = end_on or grant.end_on
    if new_end < grant.start_on:
        raise ValidationFailed.single("end_on", _("The grant must end after it starts."))

    by_number = {t.number: t for t in current}
    locked = {
        t.number
        for t in current
        if t.state in (TrancheState.RELEASE_REQUESTED, TrancheState.APPROVED, TrancheState.PAID)
    }
    if tranches is None:
        live = [t for t in current if t.state != TrancheState.CANCELLED]
        difference = new_amount.amount_minor - grant.amount_minor
        specs = [
            {
                "number": t.number,
                "amount": t.amount,
                "due_on": t.due_on,
                "conditions": t.conditions,
            }
            for t in live
        ]
        if difference:
            open_specs = [s for s in specs if s["number"] not in locked]
            if not open_specs:
                raise ValidationFailed.single(
                    "amount", _("Every tranche has been released: add a tranche for the change.")
                )
            last = open_specs[-1]
            last["amount"] = Money(last["amount"].amount_minor + difference, grant.currency)
        tranches = specs
    errors: dict[str, str] = {}
    seen: set[int] = set()
    cleaned: list[dict[str, Any]] = []
    for spec in tranches:
        number = int(spec.get("number") or 0)
        if number < 1 or number in seen:
            errors["tranches"] = _("Each tranche has its own number.")
            continue
        seen.add(number)
        money = spec.get("amount")
        if not isinstance(money, Money) or money.currency != grant.currency:
            errors["tranches"] = _("Give each tranche an amount in %(c)s.", c=grant.currency)
            continue
        due_on = spec.get("due_on")
        if not isinstance(due_on, dt.date):
            errors["tranches"] = _("Give each tranche a date.")
            continue
        conditions = rules.normalise_conditions(
            spec.get("conditions") or {"all": []}, tranche_number=number
        )
        existing = by_number.get(number)
        if (
            number in locked
            and existing is not None
            and (money.amount_minor != existing.amount_minor or conditions != existing.conditions)
        ):
            errors["tranches"] = _(
                "Tranche %(n)s has already been released and cannot change.", n=number
            )
            continue
        if existing is not None and existing.state == TrancheState.CANCELLED:
            errors["tranches"] = _("Tranche %(n)s was cancelled; add a new one.", n=number)
            continue
        cleaned.append(
            {"number": number, "amount": money, "due_on": due_on, "conditions": conditions}
        )
    missing_locked = locked - seen
    if missing_locked:
        errors["tranches"] = _("Released tranches must stay in the schedule.")
    if errors:
        raise ValidationFailed(errors)
    rules.check_schedule_adds_up([c["amount"] for c in cleaned], new_amount)

    difference = new_amount.amount_minor - grant.amount_minor
    transaction = None
    if difference > 0:
        transaction = ledger.commit_to_grant(
            session, fund, grant.id, Money(difference, grant.currency), actor
        )
    elif difference < 0:
        transaction = ledger.post_transaction(
            session,
            fund,
            TransactionKind.COMMITMENT_RELEASE,
            [
                (ledger_rules.FUND_AVAILABLE, -difference),
                (ledger_rules.grant_committed_account(grant.id), difference),
            ],
            actor,
            description=f"grant {grant.id} amended: {reason.strip()}"[:500],
        )

    for spec in cleaned:
        existing = by_number.get(spec["number"])
        if existing is None:
            session.add(
                Tranche(
                    grant_id=grant.id,
                    number=spec["number"],
                    amount_minor=spec["amount"].amount_minor,
                    currency=grant.currency,
                    due_on=spec["due_on"],
                    conditions=spec["conditions"],
                    state=TrancheState.SCHEDULED.value,
                )
            )
        elif existing.number not in locked:
            existing.amount_minor = spec["amount"].amount_minor
            existing.due_on = spec["due_on"]
            existing.conditions = spec["conditions"]
    for t in current:
        if t.number not in seen and t.state == TrancheState.SCHEDULED:
            t.state = TrancheState.CANCELLED.value
    grant.amount_minor = new_amount.amount_minor
    grant.end_on = new_end
    _flush_guarded(session)
    after = _grant_snapshot(grant, tranches_of(session, grant))
    if after == before:
        raise ValidationFailed.single("", _("Nothing has changed."))
    number = (
        session.scalar(select(func.max(Amendment.number)).where(Amendment.grant_id == grant.id))
        or 0
    ) + 1
    amendment = Amendment(
        grant_id=grant.id,
        number=number,
        reason=reason.strip(),
        before=before,
        after=after,
        amended_by_id=actor.id,
        amended_at=now,
        transaction_id=transaction.id if transaction is not None else None,
    )
    session.add(amendment)
    session.flush()
    record_event(
        session,
        actor,
        "grant.amend",
        grant,
        at=now,
        before=before,
        after={**after, "reason": amendment.reason, "amendment": number},
    )
    issue_agreement(session, actor, grant, amendment=amendment)
    return amendment


# --- state changes and closure --------------------------------------------------------------


def change_state(
    session: Session,
    actor: User,
    grant: Grant,
    target: str,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> Grant:
    """Suspend, resume, start closing or terminate a grant, with a reason."""
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    if target == GrantState.CLOSED:
        raise InvalidTransition(_("Close a grant through its closure."))
    if not (reason or "").strip():
        raise ValidationFailed.single("reason", _("Say why."))
    grant = _lock_grant(session, grant)
    rules.check_grant_transition(grant.state, target)
    if target in (GrantState.CLOSING, GrantState.TERMINATED) and session.scalar(
        select(func.count())
        .select_from(Tranche)
        .where(
            Tranche.grant_id == grant.id,
            Tranche.state.in_([TrancheState.RELEASE_REQUESTED, TrancheState.APPROVED]),
        )
    ):
        raise InvalidTransition(_("A release is waiting: approve, pay or refuse it first."))
    before = grant.state
    if target == GrantState.TERMINATED:
        _release_remaining(session, actor, grant, reason)
        grant.closed_at = now
    grant.state = target
    _flush_guarded(session)
    record_event(
        session,
        actor,
        f"grant.{target}",
        grant,
        at=now,
        before={"state": before},
        after={"state": target, "reason": reason.strip()},
    )
    return grant


def _release_remaining(session: Session, actor: User, grant: Grant, reason: str) -> None:
    """Cancel scheduled tranches and give the unpaid commitment back to the fund."""
    for t in tranches_of(session, grant):
        if t.state == TrancheState.SCHEDULED:
            t.state = TrancheState.CANCELLED.value
    fund = grant.fund
    remaining = ledger.balance_of(session, fund, ledger_rules.grant_committed_account(grant.id))
    if remaining.amount_minor > 0:
        ledger.post_transaction(
            session,
            fund,
            TransactionKind.COMMITMENT_RELEASE,
            [
                (ledger_rules.FUND_AVAILABLE, remaining.amount_minor),
                (ledger_rules.grant_committed_account(grant.id), -remaining.amount_minor),
            ],
            actor,
            description=f"grant {grant.id}: {reason.strip()}"[:500],
        )


def close_grant(
    session: Session,
    actor: User,
    grant: Grant,
    *,
    returned: Money | None = None,
    now: dt.datetime | None = None,
) -> Grant:
    """Close a grant that is closing: its final narrative and financial reports accepted,
    money the partner returns posted back to the fund, the unpaid commitment released."""
    now = now or now_utc()
    require(actor, "grant.manage", grant)
    grant = _lock_grant(session, grant)
    rules.check_grant_transition(grant.state, GrantState.CLOSED)
    reports = reports_of(session, grant)
    accepted_final = {r.kind for r in reports if r.final and r.state == ReportState.ACCEPTED}
    if accepted_final != {ReportKind.NARRATIVE.value, ReportKind.FINANCIAL.value}:
        raise InvalidTransition(
            _("A grant closes once its final narrative and financial reports are accepted.")
        )
    if any(r.state == ReportState.SUBMITTED for r in reports):
        raise InvalidTransition(_("A report is waiting to be reviewed."))
    fund = grant.fund
    if returned is not None and returned.amount_minor > 0:
        if returned.currency != grant.currency:
            raise ValidationFailed.single("returned", _("Enter the amount in the fund's currency."))
        paid = ledger.balance_of(session, fund, ledger_rules.grant_paid_account(grant.id))
        if returned > paid:
            raise ValidationFailed.single(
                "returned", _("More cannot be returned than was paid (%(paid)s).", paid=str(paid))
            )
        ledger.post_transaction(
            session,
            fund,
            TransactionKind.PARTNER_RETURN,
            [
                (ledger_rules.FUND_AVAILABLE, returned.amount_minor),
                (ledger_rules.grant_paid_account(grant.id), -returned.amount_minor),
            ],
            actor,
            description=f"grant {grant.id}: unspent balance returned",
        )
    _release_remaining(session, actor, grant, "closure")
    grant.closed_at = now
    grant.state = GrantState.CLOSED.value
    _flush_guarded(session)
    record_event(
        session,
        actor,
        "grant.close",
        grant,
        at=now,
        after={"returned": str(returned) if returned else None},
    )
    return grant


# --- agreement ------------------------------------------------------------------------------


def issue_agreement(
    session: Session, actor: User | None, grant: Grant, *, amendment: Amendment | None = None
) -> AgreementVersion:
    """Generate the agreement PDF in the grant's language and keep it as a new version."""
    import io

    from .pdf import agreement_pdf

    version = (
        session.scalar(
            select(func.max(AgreementVersion.version)).where(AgreementVersion.grant_id == grant.id)
        )
        or 0
    ) + 1
    content = agreement_pdf(
        grant,
        tranches_of(session, grant),
        version=version,
        amendments=amendments_of(session, grant),
    )
    stored = get_storage().save(io.BytesIO(content), allowed_types=frozenset({"application/pdf"}))
    agreement = AgreementVersion(
        grant_id=grant.id,
        version=version,
        file_key=stored.key,
        size=stored.size,
        amendment_id=amendment.id if amendment is not None else None,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(agreement)
    session.flush()
    record_event(
        session,
        actor,
        "grant.agreement_issued",
        agreement,
        object_type="grant_agreement",
        after={"grant_id": grant.id, "version": version},
    )
    return agreement


def agreement_bytes(agreement: AgreementVersion) -> bytes:
    with get_storage().open(agreement.file_key) as handle:
        return handle.read()
