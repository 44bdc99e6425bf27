"""What the grant operations share: the locks that serialise writers, the flush that
turns a lost race into a refusal, the kinds of file a report may carry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ...funds.models import Fund
from ...ledger import services as ledger
from ...platform.errors import InvalidTransition
from ...platform.storage import AUDIO_TYPES, DOCUMENT_TYPES, IMAGE_TYPES
from ..models import Disbursement, Grant, Tranche
from ..rules import GrantState

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


def lock_fund(session: Session, fund: Fund) -> None:
    session.execute(select(Fund.id).where(Fund.id == fund.id).with_for_update(key_share=True))


def lock_tranche(session: Session, tranche_id: int) -> Tranche:
    """The tranche as it is now, locked on PostgreSQL (a plain read on SQLite, where
    BEGIN IMMEDIATE already serialises writers)."""
    tranche = session.scalars(
        select(Tranche)
        .where(Tranche.id == tranche_id)
        .with_for_update(of=Tranche)
        .execution_options(populate_existing=True)
    ).one()
    return tranche


def refresh_disbursement(session: Session, disbursement_id: int) -> Disbursement:
    return session.scalars(
        select(Disbursement)
        .where(Disbursement.id == disbursement_id)
        .execution_options(populate_existing=True)
    ).one()


def flush_guarded(session: Session) -> None:
    """Flush; a lost race (unique index, stale version) becomes a plain refusal."""
    try:
        with session.begin_nested():
            session.flush()
    except (IntegrityError, StaleDataError):
        raise InvalidTransition(
            _("Someone else changed this tranche at the same moment. Reload and try again.")
        ) from None


def require_open(grant: Grant) -> None:
    if grant.state not in (GrantState.ACTIVE, GrantState.CLOSING):
        raise InvalidTransition(_("This grant is not active."))


def lock_grant(session: Session, grant: Grant) -> Grant:
    return session.scalars(
        select(Grant)
        .where(Grant.id == grant.id)
        .with_for_update(of=Grant)
        .execution_options(populate_existing=True)
    ).one()
