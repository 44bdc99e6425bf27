"""Stored uploads: every file a person sends is a row here, charged to an organisation.

A row is written in the transaction that stores the file, and marked attached once an
application (or a draft of one) or a report refers to it. Three limits follow from the
rows, counted in SQL:

- a storage quota per organisation: the sum of its rows' sizes (attached or not, since
  both occupy storage until purged);
- a rate per hour: an organisation's rows of the last hour, or, for uploads charged to no
  organisation (a spreadsheet a fund manager imports), the person's;
- retention: `flask grantpool purge-uploads` deletes files never attached within
  UPLOAD_RETENTION_HOURS. That is longer than an upload token lives (24 hours, see
  intake.api and intake.views), so a file that can still be attached is never purged.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any

from flask import Response, after_this_request, current_app, has_request_context
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    case,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from .audit import record_event
from .db import Base, IdPK
from .errors import DomainError, ValidationFailed
from .storage import ANY_ACCEPTED, Storage, StoredFile, get_storage
from .time import now_utc

RATE_WINDOW = dt.timedelta(hours=1)
# Upload tokens (API uploads, kept spreadsheets) live a day; a shorter retention would
# purge files that can still be attached.
TOKEN_LIFETIME = dt.timedelta(hours=24)


class UploadPurpose(StrEnum):
    APPLICATION_ANSWER = "application_answer"
    REPORT_FILE = "report_file"
    IMPORT_SHEET = "import_sheet"


class StoredUpload(Base):
    __tablename__ = "stored_uploads"

    id: Mapped[IdPK]
    key: Mapped[str] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    uploaded_by_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="RESTRICT")
    )
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    attached_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(
            "purpose IN ('application_answer', 'report_file', 'import_sheet')",
            name="purpose_known",
        ),
        CheckConstraint("size > 0", name="size_positive"),
        # Staff imports are charged to nobody; every other file to the organisation it is for.
        CheckConstraint(
            "(purpose = 'import_sheet') = (organisation_id IS NULL)",
            name="organisation_unless_import",
        ),
        # A kept spreadsheet is read again and deleted, never referred to.
        CheckConstraint(
            "purpose <> 'import_sheet' OR attached_at IS NULL", name="import_never_attached"
        ),
        Index("ix_stored_uploads_organisation_id", "organisation_id", "created_at"),
        Index("ix_stored_uploads_uploaded_by_id", "uploaded_by_id", "created_at"),
        Index("ix_stored_uploads_unattached", "attached_at", "created_at"),
    )


# Rules (no database) ----------------------------------------------------------------------


@dataclass(frozen=True)
class UploadLimits:
    quota_bytes: int
    per_hour: int
    retention: dt.timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UploadLimits:
        return cls(
            quota_bytes=int(config["UPLOAD_QUOTA_BYTES_PER_ORGANISATION"]),
            per_hour=int(config["UPLOAD_RATE_PER_HOUR"]),
            retention=dt.timedelta(hours=int(config["UPLOAD_RETENTION_HOURS"])),
        )


@dataclass(frozen=True)
class UploadUsage:
    """What an organisation (or a person, for uploads charged to no organisation) holds."""

    used_bytes: int
    in_last_hour: int
    oldest_in_last_hour: dt.datetime | None


class UploadRateExceeded(DomainError):
    """Too many uploads in the last hour; `retry_after` says in how many seconds one more
    is accepted."""

    status_code = 429
    code = "too_many_uploads"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_rate(
    usage: UploadUsage, limits: UploadLimits, *, for_organisation: bool, now: dt.datetime
) -> None:
    """Refuse one more upload when the last hour already holds the most allowed."""
    if usage.in_last_hour < limits.per_hour:
        return
    oldest = usage.oldest_in_last_hour or now
    retry_after = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
    minutes = max(1, math.ceil(retry_after / 60))
    if for_organisation:
        message = ngettext(
            "This organisation has uploaded as many files as it may in one hour "
            "(%(limit)s). Try again in %(num)d minute.",
            "This organisation has uploaded as many files as it may in one hour "
            "(%(limit)s). Try again in %(num)d minutes.",
            minutes,
            limit=limits.per_hour,
        )
    else:
        message = ngettext(
            "You have uploaded as many files as you may in one hour (%(limit)s). Try again "
            "in %(num)d minute.",
            "You have uploaded as many files as you may in one hour (%(limit)s). Try again "
            "in %(num)d minutes.",
            minutes,
            limit=limits.per_hour,
        )
    raise UploadRateExceeded(message, retry_after)


def check_quota(used_bytes: int, incoming_bytes: int | None, limits: UploadLimits) -> None:
    """Refuse a file that would take the organisation over its storage quota."""
    if incoming_bytes is None or used_bytes + incoming_bytes <= limits.quota_bytes:
        return
    megabytes = format_decimal(limits.quota_bytes / 1024 / 1024, format="#,##0.#")
    raise ValidationFailed.single(
        "file",
        _(
            "This file would take your organisation over its storage limit of "
            "%(limit)s MB, so it was not saved. Ask the fund manager for more space.",
            limit=megabytes,
        ),
    )


def measured_size(stream: IO[bytes]) -> int | None:
    """The bytes left in a seekable stream (an upload the web server already received),
    or None when it cannot be told without reading it."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


# Operations -------------------------------------------------------------------------------


def store_upload(
    session: Session,
    actor: Any,
    stream: IO[bytes],
    *,
    purpose: UploadPurpose,
    organisation_id: int | None,
    max_bytes: int | None = None,
    allowed_types: frozenset[str] = ANY_ACCEPTED,
    declared_size: int | None = None,
    attached: bool = False,
    storage: Storage | None = None,
    limits: UploadLimits | None = None,
    now: dt.datetime | None = None,
) -> StoredFile:
    """Store one file and its row, after the rate and the organisation's quota allow it.

    The quota is checked before anything is written (with the size the web server already
    knows, or the declared one) and again with the real size, deleting the stored object
    when it is over; so a refused file leaves nothing behind. `attached` records a file
    that the same transaction makes an application or a report refer to.
    """
    now = now or now_utc()
    storage = storage or get_storage()
    limits = limits or UploadLimits.from_config(current_app.config)
    charged = organisation_id is not None
    usage = _usage(session, organisation_id=organisation_id, user_id=actor.id, now=now)
    try:
        check_rate(usage, limits, for_organisation=charged, now=now)
    except UploadRateExceeded as refusal:
        _answer_retry_after(refusal)
        raise
    if charged:
        known = measured_size(stream)
        check_quota(usage.used_bytes, known if known is not None else declared_size, limits)
    stored = storage.save(stream, max_bytes=max_bytes, allowed_types=allowed_types)
    try:
        if charged:
            check_quota(usage.used_bytes, stored.size, limits)
        session.add(
            StoredUpload(
                key=stored.key,
                organisation_id=organisation_id,
                uploaded_by_id=actor.id,
                size=stored.size,
                content_type=stored.content_type[:120],
                purpose=purpose.value,
                created_at=now,
                attached_at=now if attached else None,
            )
        )
        session.flush()
    except BaseException:
        storage.delete(stored.key)
        raise
    return stored


def mark_attached(
    session: Session, keys: Collection[str], *, now: dt.datetime | None = None
) -> None:
    """An application or report now refers to these files: one statement for them all."""
    if not keys:
        return
    session.execute(
        update(StoredUpload)
        .where(StoredUpload.key.in_(sorted(set(keys))), StoredUpload.attached_at.is_(None))
        .values(attached_at=now or now_utc())
    )


def discard(session: Session, key: str) -> None:
    """A kept file is done with (an import sheet imported or cancelled): its object and
    its row go now rather than at the next purge."""
    get_storage().delete(key)
    session.execute(delete(StoredUpload).where(StoredUpload.key == key))


def forget(session: Session, keys: Collection[str]) -> None:
    """The rows of files whose objects were already removed."""
    if keys:
        session.execute(delete(StoredUpload).where(StoredUpload.key.in_(sorted(set(keys)))))


def mark_detached(session: Session, keys: Collection[str]) -> None:
    """Nothing refers to these files any more (a draft's file answer was replaced): they
    are purged with the other unattached files once past retention."""
    if not keys:
        return
    session.execute(
        update(StoredUpload)
        .where(
            StoredUpload.key.in_(sorted(set(keys))),
            StoredUpload.purpose != UploadPurpose.IMPORT_SHEET.value,
        )
        .values(attached_at=None)
    )


@dataclass(frozen=True)
class PurgedBatch:
    count: int
    bytes: int


def purge_cutoff(limits: UploadLimits, *, now: dt.datetime | None = None) -> dt.datetime:
    """Files created before this instant and never attached are purged. Never later than
    an upload token's lifetime allows."""
    return (now or now_utc()) - max(limits.retention, TOKEN_LIFETIME)


def purge_batch(
    session: Session, storage: Storage, *, before: dt.datetime, limit: int = 200
) -> PurgedBatch:
    """Delete up to `limit` files never attached and created before `before`: from storage
    first (an object already gone is no error), then their rows, with one audit event.
    Flushes; the caller commits each batch. Two purges at once take different rows."""
    query = (
        select(StoredUpload.id, StoredUpload.key, StoredUpload.size)
        .where(StoredUpload.attached_at.is_(None), StoredUpload.created_at < before)
        .order_by(StoredUpload.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return PurgedBatch(0, 0)
    for row in rows:
        # Local storage ignores a missing file and S3 answers a missing key with success.
        storage.delete(row.key)
    ids = [row.id for row in rows]
    session.execute(delete(StoredUpload).where(StoredUpload.id.in_(ids)))
    batch = PurgedBatch(len(rows), sum(int(row.size) for row in rows))
    record_event(
        session,
        None,
        "uploads.purge",
        object_type="stored_uploads",
        object_id=f"{ids[0]}-{ids[-1]}",
        after={"count": batch.count, "bytes": batch.bytes, "keys": [row.key for row in rows]},
    )
    return batch


# Helpers ----------------------------------------------------------------------------------

# Two 32-bit keys: a space apart from the audit chain's single 64-bit key.
_ORGANISATION_LOCK = 0x75706C6F  # "uplo"
_PERSON_LOCK = 0x75706C70
_LOCKED = "grantpool.uploads.locked"
_PG_LOCK = text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:id AS integer))")


def _usage(
    session: Session, *, organisation_id: int | None, user_id: int, now: dt.datetime
) -> UploadUsage:
    """One statement for the bytes held and the uploads of the last hour.

    On PostgreSQL the organisation's (or person's) uploads are first serialised with an
    advisory lock held to the end of the transaction, so two uploads at once cannot both
    fit in the last free space; the usage is then read in a statement of its own, whose
    snapshot sees what the previous holder committed. SQLite needs nothing: BEGIN
    IMMEDIATE already serialises writers."""
    if organisation_id is not None:
        whose = StoredUpload.organisation_id == organisation_id
        lock = (_ORGANISATION_LOCK, organisation_id)
    else:
        whose = (StoredUpload.organisation_id.is_(None)) & (StoredUpload.uploaded_by_id == user_id)
        lock = (_PERSON_LOCK, user_id)
    if session.get_bind().dialect.name == "postgresql":
        held: set[tuple[int, int]] = session.info.setdefault(_LOCKED, set())
        if lock not in held:
            session.execute(_PG_LOCK, {"space": lock[0], "id": lock[1] % 2**31})
            held.add(lock)
    since = now - RATE_WINDOW
    recent = StoredUpload.created_at > since
    row = session.execute(
        select(
            func.coalesce(func.sum(StoredUpload.size), 0),
            func.count(case((recent, 1))),
            func.min(case((recent, StoredUpload.created_at))),
        ).where(whose)
    ).one()
    return UploadUsage(int(row[0]), int(row[1]), row[2])


def _answer_retry_after(refusal: UploadRateExceeded) -> None:
    """Say in Retry-After when to come back, on the response that reports the refusal.
    (A page that shows the refusal beside a field answers 200 and gets no header.)"""
    if not has_request_context():
        return

    @after_this_request
    def _retry_after(response: Response) -> Response:
        if response.status_code == 429:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_locks(session: Session, *_args: Any) -> None:
    session.info.pop(_LOCKED, None)
