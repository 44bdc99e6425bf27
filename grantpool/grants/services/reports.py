"""Reports: the grantee sends them (text, photos, a voice note, amounts spent), a fund
manager accepts them or returns them with comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...platform import uploads as stored_uploads
from ...platform.audit import record_event
from ...platform.errors import StorageUnavailable, ValidationFailed
from ...platform.permissions import require
from ...platform.storage import get_storage
from ...platform.time import now_utc
from .. import rules
from ..commands import ReportDetails
from ..models import Grant, Report
from ..queries import tranches_of
from ..rules import ReportKind, ReportState
from ._common import FILE_ROLES, require_open


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    role: str  # photo | voice | spreadsheet


def _clean_report(
    grant: Grant, details: ReportDetails, uploads: Sequence[Upload]
) -> dict[str, Any]:
    """The report's columns, or ValidationFailed: amounts in the grant's currency, a
    financial report says what was spent, a narrative one says something."""
    errors: dict[str, str] = {}
    lines: list[dict[str, Any]] = []
    for row in details.spent_lines:
        try:
            money = rules.money_of(row.amount, grant.currency)
        except ValueError:
            errors["spent_lines"] = _(
                "Each line needs what was bought and an amount such as 120.50."
            )
            continue
        lines.append({"line": row.line, "amount_minor": money.amount_minor})
    spent_minor: int | None = None
    if details.kind == ReportKind.FINANCIAL:
        if lines:
            spent_minor = sum(line["amount_minor"] for line in lines)
        elif details.spent is not None:
            try:
                spent_minor = rules.money_of(details.spent, grant.currency).amount_minor
            except ValueError:
                errors["spent"] = _("Enter an amount such as 1250.50.")
        elif "spent_lines" not in errors:
            errors["spent"] = _("Say how much was spent, in a table of amounts or as a total.")
    for upload in uploads:
        if upload.role not in FILE_ROLES:
            errors["files"] = _("Unknown kind of file.")
    if details.kind == ReportKind.NARRATIVE and not details.text and not uploads:
        errors["text"] = _("Tell us what happened, in words, photos or a voice note.")
    if len(details.text) > 20000:
        errors["text"] = _("Keep the report under 20,000 characters.")
    if errors:
        raise ValidationFailed(errors)
    return {
        "kind": details.kind.value,
        "tranche_number": details.tranche_number,
        "final": details.final,
        "text": details.text,
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
    details: ReportDetails,
    uploads: Sequence[Upload] = (),
    *,
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
    require_open(grant)
    clean = _clean_report(grant, details, uploads)
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
    details: ReportDetails,
    uploads: Sequence[Upload] = (),
    *,
    now: dt.datetime | None = None,
) -> Report:
    """The grantee sends a returned report again, changed: its words, amounts and files
    (its kind and tranche stay)."""
    grant = session.get(Grant, report.grant_id)
    assert grant is not None
    require(actor, "grant.report", grant)
    rules.check_report_transition(report.state, ReportState.SUBMITTED)
    clean = _clean_report(grant, details, uploads)
    before = {"text": report.text, "spent_minor": report.spent_minor}
    for name in ("text", "spent_lines", "spent_minor", "final"):
        setattr(report, name, clean[name])
    now = now or now_utc()
    report.files = [*report.files, *_save_uploads(session, actor, grant, uploads, now)]
    report.state = ReportState.SUBMITTED
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
    report.state = target
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
