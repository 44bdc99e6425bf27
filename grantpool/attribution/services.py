"""Attribution operations: settings, consent, safety flags. Flush, never commit; every
change leaves an AuditEvent (consent changes also a ConsentEvent).

A safety flag protects an organisation: the fund manager sets it on the organisation, or
on any of its grants, and every grant and record of the organisation is hidden from every
public or donor output, in every fund, until each flag is lifted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..grants.models import Grant
from ..organisations.models import Organisation
from ..organisations.services import fund_ids as organisation_fund_ids
from ..platform.audit import record_event, snapshot
from ..platform.errors import ValidationFailed
from ..platform.permissions import require
from ..platform.storage import IMAGE_TYPES, get_storage
from ..platform.time import now_utc
from . import rules
from .commands import (
    ConsentChange,
    CreditSettings,
    Logo,
    RecordDetails,
    SafetyFlag,
    languages,
)
from .models import AttributionRecord, AttributionSettings, ConsentEvent
from .rules import ConsentState, LocationPrecision, Naming

LOGO_MAX_BYTES = 1024 * 1024
_SETTING_FIELDS = [
    "naming",
    "location_precision",
    "descriptions",
    "anonymised_descriptions",
    "logo_key",
]


@dataclass(frozen=True)
class OrganisationScope:
    """An organisation and the funds it works with (applications or grants): who may see
    its credit page and protect it is decided against this."""

    organisation: Organisation
    fund_ids: frozenset[int]


def organisation_scope(session: Session, organisation: Organisation) -> OrganisationScope:
    return OrganisationScope(organisation, organisation_fund_ids(session, organisation.id))


def default_settings(organisation_id: int) -> AttributionSettings:
    """What applies before the partner says anything: anonymised, country only."""
    return AttributionSettings(
        organisation_id=organisation_id,
        grant_id=None,
        naming=Naming.ANONYMISED.value,
        location_precision=LocationPrecision.COUNTRY.value,
        descriptions={},
        anonymised_descriptions={},
    )


def organisation_settings(session: Session, organisation: Organisation) -> AttributionSettings:
    found = session.scalar(
        select(AttributionSettings).where(
            AttributionSettings.organisation_id == organisation.id,
            AttributionSettings.grant_id.is_(None),
        )
    )
    return found or default_settings(organisation.id)


def grant_override(session: Session, grant: Grant) -> AttributionSettings | None:
    return session.scalar(
        select(AttributionSettings).where(AttributionSettings.grant_id == grant.id)
    )


def effective_settings(session: Session, grant: Grant) -> AttributionSettings:
    return grant_override(session, grant) or organisation_settings(session, grant.organisation)


def record_of(session: Session, grant: Grant) -> AttributionRecord | None:
    return session.scalar(select(AttributionRecord).where(AttributionRecord.grant_id == grant.id))


def _ensure_record(session: Session, grant: Grant) -> AttributionRecord:
    record = record_of(session, grant)
    if record is None:
        record = AttributionRecord(grant_id=grant.id, consent_state=ConsentState.NOT_GIVEN.value)
        session.add(record)
        session.flush()
    return record


def _apply(
    session: Session,
    actor: User,
    row: AttributionSettings,
    settings: CreditSettings,
    logo: Logo | None,
    now: dt.datetime,
) -> AttributionSettings:
    before = snapshot(row, _SETTING_FIELDS) if row.id else None
    if logo is not None:
        stored = get_storage().save(
            logo.stream, max_bytes=LOGO_MAX_BYTES, allowed_types=IMAGE_TYPES
        )
        row.logo_key, row.logo_content_type = stored.key, stored.content_type
    elif settings.remove_logo:
        row.logo_key = row.logo_content_type = None
    row.naming = settings.naming.value
    row.location_precision = settings.location_precision.value
    row.descriptions = dict(settings.descriptions)
    row.anonymised_descriptions = dict(settings.anonymised_descriptions)
    row.updated_by_id = actor.id
    row.updated_at = now
    session.add(row)
    session.flush()
    record_event(
        session,
        actor,
        "attribution.settings_save",
        row,
        object_type="attribution_settings",
        before=before,
        after=snapshot(row, [*_SETTING_FIELDS, "grant_id"]),
        at=now,
    )
    return row


def save_organisation_settings(
    session: Session,
    actor: User,
    organisation: Organisation,
    settings: CreditSettings,
    logo: Logo | None = None,
    now: dt.datetime | None = None,
) -> AttributionSettings:
    """The organisation's default: naming, precision, own description, logo."""
    require(actor, "organisation_credit.edit", organisation_scope(session, organisation))
    row = organisation_settings(session, organisation)
    return _apply(session, actor, row, settings, logo, now or now_utc())


def save_grant_settings(
    session: Session,
    actor: User,
    grant: Grant,
    settings: CreditSettings,
    logo: Logo | None = None,
    now: dt.datetime | None = None,
) -> AttributionSettings:
    """An override for one grant; starts from the organisation's default (logo too)."""
    require(actor, "attribution.edit", grant)
    row = grant_override(session, grant)
    if row is None:
        base = organisation_settings(session, grant.organisation)
        row = AttributionSettings(
            organisation_id=grant.organisation_id,
            grant_id=grant.id,
            logo_key=base.logo_key,
            logo_content_type=base.logo_content_type,
            descriptions={},
            anonymised_descriptions={},
        )
    return _apply(session, actor, row, settings, logo, now or now_utc())


def remove_grant_settings(
    session: Session, actor: User, grant: Grant, now: dt.datetime | None = None
) -> None:
    require(actor, "attribution.edit", grant)
    row = grant_override(session, grant)
    if row is None:
        return
    before = snapshot(row, _SETTING_FIELDS)
    record_event(
        session,
        actor,
        "attribution.settings_remove",
        row,
        object_type="attribution_settings",
        before=before,
        at=now,
    )
    session.delete(row)
    session.flush()


def change_consent(
    session: Session,
    actor: User,
    grant: Grant,
    change: ConsentChange,
    *,
    now: dt.datetime | None = None,
) -> AttributionRecord:
    """Give (named or anonymised, optionally under embargo), change, or withdraw consent."""
    now = now or now_utc()
    require(actor, "attribution.edit", grant)
    scope = change.scope.value if change.scope else None
    record = _ensure_record(session, grant)
    rules.check_consent_transition(record.consent_state, change.state)
    settings = effective_settings(session, grant)
    before = snapshot(record, ["consent_state", "consent_scope", "embargo_until"])
    record.consent_state = change.state
    record.consent_scope = scope
    record.embargo_until = change.embargo_until
    record.consent_changed_at = now
    session.add(
        ConsentEvent(
            record_id=record.id,
            state=change.state,
            scope=scope,
            embargo_until=change.embargo_until,
            naming=settings.naming,
            location_precision=settings.location_precision,
            note=change.note,
            actor_id=actor.id,
            occurred_at=now,
        )
    )
    session.flush()
    record_event(
        session,
        actor,
        f"attribution.consent_{change.state.value}",
        record,
        object_type="attribution_record",
        before=before,
        after=snapshot(record, ["consent_state", "consent_scope", "embargo_until", "grant_id"]),
        at=now,
    )
    return record


def set_safety_flag(
    session: Session,
    actor: User,
    grant: Grant,
    flag: SafetyFlag,
    *,
    now: dt.datetime | None = None,
) -> AttributionRecord:
    """The fund manager hides the partner everywhere (or lifts that), with a reason: the
    flag on this grant hides every grant of the organisation, in every fund."""
    require(actor, "attribution.manage", grant)
    record = _ensure_record(session, grant)
    _flag(session, actor, record, "attribution", "attribution_record", flag, now)
    return record


def _flag(
    session: Session,
    actor: User,
    target: AttributionRecord | Organisation,
    action: str,
    object_type: str,
    request: SafetyFlag,
    now: dt.datetime | None,
) -> None:
    """Set or lift a safety flag (on a grant's record or on an organisation), audited."""
    if request.flag and not request.reason:
        raise ValidationFailed.single("reason", _("Say why the partner must be hidden."))
    before = snapshot(target, ["safety_flag", "safety_reason"])
    target.safety_flag = request.flag
    target.safety_reason = request.reason or None
    session.flush()
    record_event(
        session,
        actor,
        f"{action}.safety_set" if request.flag else f"{action}.safety_lift",
        target,
        object_type=object_type,
        before=before,
        after=snapshot(target, ["safety_flag", "safety_reason"]),
        at=now,
    )


def set_organisation_safety_flag(
    session: Session,
    actor: User,
    organisation: Organisation,
    flag: SafetyFlag,
    *,
    now: dt.datetime | None = None,
) -> Organisation:
    """Hide the organisation everywhere (or lift the flag set on it), with a reason."""
    require(actor, "organisation_credit.protect", organisation_scope(session, organisation))
    _flag(session, actor, organisation, "organisation", "organisation", flag, now)
    return organisation


@dataclass(frozen=True)
class Protection:
    """Where the safety flags that hide an organisation are set."""

    on_organisation: bool
    organisation_reason: str | None
    # (grant id, grant reference, reason) of each flagged grant.
    grants: list[tuple[int, str, str | None]]

    @property
    def hidden(self) -> bool:
        return self.on_organisation or bool(self.grants)


def protection(session: Session, organisation: Organisation) -> Protection:
    flagged = session.execute(
        select(Grant.id, AttributionRecord.safety_reason)
        .join(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .where(Grant.organisation_id == organisation.id, AttributionRecord.safety_flag.is_(True))
        .order_by(Grant.id)
    ).all()
    return Protection(
        bool(organisation.safety_flag),
        organisation.safety_reason,
        [(grant_id, Grant.reference_for(grant_id), reason) for grant_id, reason in flagged],
    )


def _local_date(now: dt.datetime, timezone: str) -> dt.date:
    try:
        return now.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):
        return now.astimezone(dt.UTC).date()


def is_published(session: Session, grant: Grant, now: dt.datetime) -> bool:
    """Whether the grant's record is on the public pages and in the open data at `now`:
    the same rules.exposure publication applies, from the grant's record, the settings in
    force, every safety flag of its organisation and the date in the fund's time zone."""
    record = record_of(session, grant)
    if record is None:
        return False
    settings = effective_settings(session, grant)
    return rules.exposure(
        naming=settings.naming,
        precision=settings.location_precision,
        consent_state=record.consent_state,
        consent_scope=record.consent_scope,
        embargo_until=record.embargo_until,
        safety_flag=protection(session, grant.organisation).hidden,
        today=_local_date(now, grant.fund.timezone),
    ).published


@dataclass(frozen=True)
class CreditPreview:
    """What one audience reads about the partner in one language, if consent is given."""

    language: str
    published: bool
    partner: str
    place: str
    words: str
    logo: bool


def credit_preview(organisation: Organisation, settings: CreditSettings) -> list[CreditPreview]:
    """The record as the public and donors would read it in each language, computed with
    the same rules as publication from the settings as typed (not yet saved)."""
    result = []
    naming, precision = settings.naming, settings.location_precision
    named = naming == Naming.OWN_NAME
    texts = settings.descriptions if named else settings.anonymised_descriptions
    for language in languages():
        if naming == Naming.NOT_PUBLISHED:
            result.append(CreditPreview(language, False, "", "", "", False))
            continue
        with force_locale(language):
            if named:
                partner = organisation.name
            else:
                partner = rules.anonymised_description(
                    organisation.org_type,
                    organisation.leadership,
                    organisation.country,
                    organisation.area,
                    precision,
                )
            place = rules.place(organisation.country, organisation.area, precision)
        result.append(CreditPreview(language, True, partner, place, texts.get(language, ""), named))
    return result


def save_fund_details(
    session: Session,
    actor: User,
    grant: Grant,
    details: RecordDetails,
    now: dt.datetime | None = None,
) -> AttributionRecord:
    """What the fund adds to the record: theme, humanitarian flag, capacity provided."""
    require(actor, "attribution.manage", grant)
    record = _ensure_record(session, grant)
    fields = ["theme", "humanitarian", "capacity_provided"]
    before = snapshot(record, fields)
    record.theme = details.theme
    record.humanitarian = details.humanitarian
    record.capacity_provided = details.capacity_provided
    session.flush()
    record_event(
        session,
        actor,
        "attribution.details_save",
        record,
        object_type="attribution_record",
        before=before,
        after=snapshot(record, fields),
        at=now,
    )
    return record


def consent_history(session: Session, record: AttributionRecord | None) -> list[ConsentEvent]:
    if record is None:
        return []
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.record_id == record.id)
            .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
        )
    )


def actors_of(session: Session, events: list[ConsentEvent]) -> dict[int, User]:
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def grants_of_organisation(
    session: Session, organisation: Organisation
) -> list[tuple[Grant, AttributionRecord | None]]:
    rows = session.execute(
        select(Grant, AttributionRecord)
        .outerjoin(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .where(Grant.organisation_id == organisation.id)
        .order_by(Grant.id.desc())
    ).all()
    return [(g, r) for g, r in rows]


def records_for_manager(
    session: Session, user: User, limit: int = 200
) -> list[tuple[Grant, AttributionRecord | None]]:
    """Grants of the funds the user manages (every fund for a global manager or admin)."""
    query = (
        select(Grant, AttributionRecord)
        .outerjoin(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .order_by(Grant.id.desc())
        .limit(limit)
    )
    managed = user.staff_fund_ids(Role.FUND_MANAGER)
    if managed is not None:
        query = query.where(Grant.fund_id.in_(managed or {0}))
    return [(g, r) for g, r in session.execute(query).all()]


def logo_bytes(key: str) -> bytes:
    with get_storage().open(key) as handle:
        return handle.read()
