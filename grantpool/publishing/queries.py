"""The read side of publication: public records, built in batches, already redacted.

Every public output (pages, 360Giving JSON and CSV, IATI XML, certificates) reads
`PublicRecord`s from here and nothing else, so what the partner did not approve is never
in reach of a template or a serialiser. Whether a record is published is computed on each
call from consent, embargo, safety flags and settings: nothing is cached.

The safety flag protects an organisation: set on the organisation or on any of its
grants, it hides every grant of that organisation, in every fund. An embargo ends at
midnight in the fund's time zone. An anonymised record carries only the words the
partner wrote for anonymised publication, and its anonymised name is given in every
published language (`partner_names`), so open data does not depend on the reader's.

Statements are bounded: two before the first batch (contributions and donors) and three
per batch of `batch` grants (settings, ledger balances, paid disbursements).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import Row, and_, bindparam, func, or_, select, union
from sqlalchemy.orm import Session, aliased

from ..attribution import rules
from ..attribution.models import AttributionRecord, AttributionSettings
from ..attribution.rules import Contributed, LocationPrecision, Naming
from ..calls.models import Call
from ..funds.models import Donor, Fund
from ..grants.models import Disbursement, Grant
from ..intake.models import Application
from ..ledger.models import Contribution, LedgerAccount, LedgerBalance
from ..ledger.rules import grant_paid_account
from ..organisations.models import Organisation
from ..organisations.rules import IATI_ORGANISATION_TYPE, Leadership, OrganisationType
from .regions import region_of

BATCH = 500


@dataclass(frozen=True)
class Filters:
    country: str | None = None
    year: int | None = None
    theme: str | None = None
    # The dashboard narrows its credit list to one fund, call and period of award.
    fund_id: int | None = None
    call_id: int | None = None
    awarded_from: dt.datetime | None = None
    awarded_before: dt.datetime | None = None


@dataclass(frozen=True)
class DonorShare:
    donor_id: int
    name: str
    org_id: str | None
    donor_type: str
    country: str | None
    share_minor: int


@dataclass(frozen=True)
class Payment:
    paid_on: dt.date
    amount_minor: int


@dataclass(frozen=True)
class PublicRecord:
    grant_id: int
    reference: str
    named: bool
    # The partner as it chose to be credited: its name, or an anonymised description.
    partner: str
    partner_org_id: str | None
    # The organisation's id only when it is named; anonymised records carry none.
    organisation_id: int | None
    state: str
    partner_iati_type: str
    country: str | None
    area: str | None
    place: str
    descriptions: dict[str, str]
    has_logo: bool
    fund_id: int
    fund_name: str
    currency: str
    amount_awarded_minor: int
    amount_received_minor: int
    awarded_at: dt.datetime
    start_on: dt.date
    end_on: dt.date
    language: str
    theme: str | None
    humanitarian: bool
    capacity_provided: str | None
    donors: list[DonorShare] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    # The credited name in each published language: the organisation's own name in all of
    # them, or the anonymised description written in each language.
    partner_names: dict[str, str] = field(default_factory=dict)
    # The location precision in force (area, country or hidden).
    precision: str = LocationPrecision.HIDDEN.value
    # The call's title in each language it was written in.
    call_titles: dict[str, str] = field(default_factory=dict)
    fund_timezone: str = "UTC"
    # The UN M49 region the work is in, for outputs that must say where even when the
    # partner hides its country (IATI's recipient-region).
    region: str | None = None
    # The last change of anything this record publishes (consent, settings, the
    # organisation's details, a payment), for IATI's last-updated-datetime.
    changed_at: dt.datetime | None = None

    @property
    def year(self) -> int:
        return self.awarded_at.year

    def description_in(self, language: str) -> str:
        return rules.text_in(self.descriptions, language)

    def partner_in(self, language: str) -> str:
        return self.partner_names.get(language) or self.partner

    def call_title_in(self, language: str) -> str:
        return rules.text_in(self.call_titles, language)

    def credit_line(self) -> str:
        return rules.credit_line(self.partner, self.donor_names(), self.fund_name)

    def donor_names(self) -> list[str]:
        """The donors as they are credited: individual donors are people, never named."""
        names = [
            _("individual donors") if d.donor_type == "individual" else d.name for d in self.donors
        ]
        return list(dict.fromkeys(names))


_COLUMNS = (
    Grant.id,
    Grant.fund_id,
    Grant.organisation_id,
    Grant.amount_minor,
    Grant.currency,
    Grant.awarded_at,
    Grant.start_on,
    Grant.end_on,
    Grant.language,
    Grant.state,
    Fund.name.label("fund_name"),
    Fund.timezone.label("fund_timezone"),
    Call.title.label("call_title"),
    Organisation.name.label("org_name"),
    Organisation.org_type,
    Organisation.country,
    Organisation.area,
    Organisation.org_id,
    Organisation.women_led,
    Organisation.youth_led,
    Organisation.refugee_migrant_led,
    Organisation.disability_led,
    Organisation.updated_at.label("org_updated_at"),
    AttributionRecord.consent_state,
    AttributionRecord.consent_changed_at,
    AttributionRecord.consent_scope,
    AttributionRecord.embargo_until,
    AttributionRecord.safety_flag,
    AttributionRecord.humanitarian,
    AttributionRecord.capacity_provided,
)


def protected_organisations() -> Any:
    """SQL: the ids of organisations that carry a safety flag, on themselves or on any of
    their grants in any fund (each once). Joined, not tested per row, so that a statement
    over thousands of grants reads the few flags once."""
    flagged_grant = Grant.__table__.alias("flagged_grant")
    flagged_record = AttributionRecord.__table__.alias("flagged_record")
    flagged_org = Organisation.__table__.alias("flagged_org")
    return union(
        select(flagged_org.c.id.label("organisation_id")).where(
            flagged_org.c.safety_flag.is_(True)
        ),
        select(flagged_grant.c.organisation_id)
        .join(flagged_record, flagged_record.c.grant_id == flagged_grant.c.id)
        .where(flagged_record.c.safety_flag.is_(True)),
    ).subquery("protected_organisations")


# The settings in force for a grant: its own override, else its organisation's default,
# else the safe default (anonymised, country only).
_OVERRIDE = aliased(AttributionSettings, name="override_settings")
_DEFAULT = aliased(AttributionSettings, name="default_settings")
EFFECTIVE_NAMING = func.coalesce(_OVERRIDE.naming, _DEFAULT.naming, Naming.ANONYMISED.value)
EFFECTIVE_PRECISION = func.coalesce(
    _OVERRIDE.location_precision, _DEFAULT.location_precision, LocationPrecision.COUNTRY.value
)


def with_effective_settings(query: Any) -> Any:
    """Join the two settings rows a grant's effective naming and precision come from."""
    return query.outerjoin(_OVERRIDE, _OVERRIDE.grant_id == Grant.id).outerjoin(
        _DEFAULT,
        and_(_DEFAULT.organisation_id == Grant.organisation_id, _DEFAULT.grant_id.is_(None)),
    )


def latest_local_date(now: dt.datetime) -> dt.date:
    """The latest calendar date anywhere on Earth at `now` (UTC+14): no embargo that has
    ended in some fund's time zone is excluded by SQL before its zone is checked."""
    return (now.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()


def local_date(now: dt.datetime, timezone: str) -> dt.date:
    try:
        return now.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):
        return now.astimezone(dt.UTC).date()


# The application answer that names a theme, where a call asks for one.
THEME_ANSWER = "theme"


def grant_theme() -> Any:
    """SQL: a grant's theme, from one source for every output: the fund's classification
    (set on the grant's credit page), else the applicant's own answer until the fund has
    classified it. Needs the grant's application and attribution record joined."""
    return func.coalesce(
        func.nullif(func.trim(AttributionRecord.theme), ""),
        func.nullif(func.trim(Application.answers[THEME_ANSWER].as_string()), ""),
    )


def _candidates(now: dt.datetime, filters: Filters, grant_id: int | None = None) -> Any:
    """Grants whose record may be published at `now`: consent given, no safety flag on
    the organisation or any of its grants, settings that publish, an embargo that may
    have ended (each fund's own date is checked afterwards)."""
    protected = protected_organisations()
    query = with_effective_settings(
        select(
            *_COLUMNS,
            grant_theme().label("theme"),
            EFFECTIVE_NAMING.label("naming"),
            EFFECTIVE_PRECISION.label("precision"),
        )
        .join(AttributionRecord, AttributionRecord.grant_id == Grant.id)
        .join(Fund, Fund.id == Grant.fund_id)
        .join(Organisation, Organisation.id == Grant.organisation_id)
        .join(Application, Application.id == Grant.application_id)
        .join(Call, Call.id == Application.call_id)
        .outerjoin(protected, protected.c.organisation_id == Grant.organisation_id)
    ).where(
        AttributionRecord.consent_state == rules.ConsentState.GIVEN.value,
        AttributionRecord.safety_flag.is_(False),
        protected.c.organisation_id.is_(None),
        Naming.NOT_PUBLISHED.value != EFFECTIVE_NAMING,
        or_(
            AttributionRecord.embargo_until.is_(None),
            AttributionRecord.embargo_until <= latest_local_date(now),
        ),
    )
    if grant_id is not None:
        query = query.where(Grant.id == grant_id)
    if filters.country:
        # A hidden location cannot be found by filtering on it either.
        query = query.where(
            Organisation.country == filters.country.upper(),
            LocationPrecision.HIDDEN.value != EFFECTIVE_PRECISION,
        )
    if filters.year:
        start = dt.datetime(filters.year, 1, 1, tzinfo=dt.UTC)
        query = query.where(
            Grant.awarded_at >= start, Grant.awarded_at < start.replace(year=filters.year + 1)
        )
    if filters.theme:
        query = query.where(func.lower(grant_theme()) == filters.theme.strip().lower())
    if filters.fund_id is not None:
        query = query.where(Grant.fund_id == filters.fund_id)
    if filters.call_id is not None:
        query = query.where(Application.call_id == filters.call_id)
    if filters.awarded_from is not None:
        query = query.where(Grant.awarded_at >= filters.awarded_from)
    if filters.awarded_before is not None:
        query = query.where(Grant.awarded_at < filters.awarded_before)
    return query


class _Funding:
    """Contributions and donors of every fund (or of one), read once per export."""

    def __init__(self, session: Session, fund_id: int | None = None) -> None:
        self.by_fund: dict[int, list[Contributed]] = {}
        contributions = select(
            Contribution.fund_id,
            Contribution.donor_id,
            Contribution.base_amount_minor,
            Contribution.earmark_theme,
            Contribution.earmark_country,
        ).order_by(Contribution.id)
        if fund_id is not None:
            contributions = contributions.where(Contribution.fund_id == fund_id)
        for row in session.execute(contributions):
            self.by_fund.setdefault(row.fund_id, []).append(
                Contributed(
                    row.donor_id, row.base_amount_minor, row.earmark_theme, row.earmark_country
                )
            )
        self.donors = {
            d.id: d
            for d in session.execute(
                select(Donor.id, Donor.name, Donor.org_id, Donor.donor_type, Donor.country)
            )
        }

    def shares(
        self, fund_id: int, amount: int, theme: str | None, country: str
    ) -> list[DonorShare]:
        split = rules.donor_shares(amount, theme, country, self.by_fund.get(fund_id, []))
        result = [
            DonorShare(
                donor_id,
                self.donors[donor_id].name,
                self.donors[donor_id].org_id,
                self.donors[donor_id].donor_type,
                self.donors[donor_id].country,
                minor,
            )
            for donor_id, minor in split.items()
        ]
        return sorted(result, key=lambda d: (-d.share_minor, d.name))


@dataclass(frozen=True)
class _Settings:
    naming: str
    location_precision: str
    descriptions: dict[str, str]
    logo_key: str | None
    logo_content_type: str | None
    anonymised_descriptions: dict[str, str] = field(default_factory=dict)
    updated_at: dt.datetime | None = None


_SAFE_DEFAULT = _Settings(
    rules.Naming.ANONYMISED.value, LocationPrecision.COUNTRY.value, {}, None, None
)


def _settings(session: Session, rows: Sequence[Row[*tuple[Any, ...]]]) -> dict[int, _Settings]:
    """The settings in force for each grant of the batch: its override, else its
    organisation's default, else the safe default. Read as plain rows, never as objects
    held by the session, so a long export keeps nothing behind."""
    grant_ids = [r.id for r in rows]
    org_ids = {r.organisation_id for r in rows}
    overrides: dict[int, _Settings] = {}
    defaults: dict[int, _Settings] = {}
    for s in session.execute(
        select(
            AttributionSettings.grant_id,
            AttributionSettings.organisation_id,
            AttributionSettings.naming,
            AttributionSettings.location_precision,
            AttributionSettings.descriptions,
            AttributionSettings.logo_key,
            AttributionSettings.logo_content_type,
            AttributionSettings.anonymised_descriptions,
            AttributionSettings.updated_at,
        ).where(
            or_(
                AttributionSettings.grant_id.in_(grant_ids),
                and_(
                    AttributionSettings.grant_id.is_(None),
                    AttributionSettings.organisation_id.in_(org_ids),
                ),
            )
        )
    ):
        value = _Settings(
            s.naming,
            s.location_precision,
            dict(s.descriptions or {}),
            s.logo_key,
            s.logo_content_type,
            dict(s.anonymised_descriptions or {}),
            s.updated_at,
        )
        if s.grant_id is None:
            defaults[s.organisation_id] = value
        else:
            overrides[s.grant_id] = value
    return {
        r.id: overrides.get(r.id) or defaults.get(r.organisation_id) or _SAFE_DEFAULT for r in rows
    }


def _received(session: Session, rows: Sequence[Row[*tuple[Any, ...]]]) -> dict[int, int]:
    """What reached each partner: the balance of grant:G:paid (payments less returns)."""
    codes = {grant_paid_account(r.id): r.id for r in rows}
    result: dict[int, int] = {}
    for code, balance in session.execute(
        select(LedgerAccount.code, LedgerBalance.balance_minor)
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(LedgerAccount.code.in_(list(codes)))
    ):
        result[codes[code]] = result.get(codes[code], 0) + max(int(balance), 0)
    return result


def _payments(session: Session, rows: Sequence[Row[*tuple[Any, ...]]]) -> dict[int, list[Payment]]:
    result: dict[int, list[Payment]] = {}
    for grant_id, paid_on, amount in session.execute(
        select(Disbursement.grant_id, Disbursement.paid_on, Disbursement.amount_minor)
        .where(Disbursement.grant_id.in_([r.id for r in rows]), Disbursement.state == "paid")
        .order_by(Disbursement.grant_id, Disbursement.paid_on, Disbursement.id)
    ):
        assert paid_on is not None  # a CHECK constraint: a paid disbursement has its date
        result.setdefault(grant_id, []).append(Payment(paid_on, int(amount)))
    return result


def _leadership(row: Any) -> list[Leadership]:
    return [lead for lead in Leadership if getattr(row, lead.value)]


def published_languages() -> tuple[str, ...]:
    """The interface languages: every open-data narrative is written in each of them."""
    if not has_app_context():
        return ("en",)
    configured = current_app.config.get("LANGUAGES") or ["en"]
    if isinstance(configured, str):
        configured = configured.split(",")
    return tuple(dict.fromkeys(code.strip() for code in configured if code.strip()))


@lru_cache(maxsize=4096)
def _anonymised_name(
    language: str,
    org_type: str,
    leadership: tuple[Leadership, ...],
    country: str,
    area: str | None,
    precision: str,
) -> str:
    with force_locale(language):
        return rules.anonymised_description(org_type, leadership, country, area, precision)


def _latest(*instants: dt.datetime | None) -> dt.datetime | None:
    known = [i for i in instants if i is not None]
    return max(known) if known else None


def _public(
    row: Any,
    settings: _Settings,
    funding: _Funding,
    received: int,
    payments: list[Payment],
    now: dt.datetime,
) -> PublicRecord | None:
    exposure = rules.exposure(
        naming=settings.naming,
        precision=settings.location_precision,
        consent_state=row.consent_state,
        consent_scope=row.consent_scope,
        embargo_until=row.embargo_until,
        safety_flag=row.safety_flag,
        today=local_date(now, row.fund_timezone),
    )
    if not exposure.published:
        return None
    precision = exposure.precision
    languages = published_languages()
    if exposure.named:
        partner = row.org_name
        partner_names = dict.fromkeys(languages, row.org_name)
        descriptions = dict(settings.descriptions or {})
    else:
        leadership = tuple(_leadership(row))

        def named_in(language: str) -> str:
            return _anonymised_name(
                language, row.org_type, leadership, row.country, row.area, precision.value
            )

        # The reader's language and each published one, from the same kept descriptions.
        partner = named_in(str(get_locale() or "en") if has_request_context() else "en")
        partner_names = {language: named_in(language) for language in languages}
        # Never the partner's own words: they may name it, its people or its village.
        descriptions = dict(settings.anonymised_descriptions or {})
    last_paid = max((p.paid_on for p in payments), default=None)
    changed_at = _latest(
        row.awarded_at,
        row.consent_changed_at,
        settings.updated_at,
        row.org_updated_at if exposure.named else None,
        dt.datetime.combine(last_paid, dt.time(), tzinfo=dt.UTC) if last_paid else None,
    )
    return PublicRecord(
        grant_id=row.id,
        reference=f"G-{row.id:05d}",
        named=exposure.named,
        partner=partner,
        partner_org_id=row.org_id if exposure.named else None,
        organisation_id=row.organisation_id if exposure.named else None,
        state=row.state,
        partner_iati_type=IATI_ORGANISATION_TYPE[OrganisationType(row.org_type)],
        country=row.country if precision != LocationPrecision.HIDDEN else None,
        area=row.area if precision == LocationPrecision.AREA else None,
        place=rules.place(row.country, row.area, precision),
        descriptions={k: v for k, v in descriptions.items() if isinstance(v, str) and v.strip()},
        has_logo=exposure.named and bool(settings.logo_key),
        fund_id=row.fund_id,
        fund_name=row.fund_name,
        currency=row.currency,
        amount_awarded_minor=row.amount_minor,
        amount_received_minor=received,
        awarded_at=row.awarded_at,
        start_on=row.start_on,
        end_on=row.end_on,
        language=row.language,
        theme=row.theme,
        humanitarian=bool(row.humanitarian),
        capacity_provided=row.capacity_provided,
        donors=funding.shares(row.fund_id, row.amount_minor, row.theme, row.country),
        payments=payments,
        partner_names=partner_names,
        precision=precision.value,
        call_titles={
            k: v for k, v in dict(row.call_title or {}).items() if isinstance(v, str) and v
        },
        fund_timezone=row.fund_timezone,
        region=region_of(row.country),
        changed_at=changed_at,
    )


def iter_public_records(
    session: Session,
    now: dt.datetime,
    filters: Filters | None = None,
    *,
    batch: int = BATCH,
    after: int = 0,
    max_batches: int | None = None,
) -> Iterator[PublicRecord]:
    """Every record published today, in grant order, read in keyset batches (at most
    `max_batches` of them, for a page that must issue a bounded number of statements)."""
    filters = filters or Filters()
    funding = _Funding(session, filters.fund_id)
    last = after
    batches = 0
    # Built once: every batch runs the same statement with the next keyset bound.
    query = (
        _candidates(now, filters)
        .where(Grant.id > bindparam("after_grant"))
        .order_by(Grant.id)
        .limit(batch)
    )
    while max_batches is None or batches < max_batches:
        batches += 1
        rows = session.execute(query, {"after_grant": last}).all()
        if not rows:
            return
        settings = _settings(session, rows)
        received = _received(session, rows)
        payments = _payments(session, rows)
        for row in rows:
            public = _public(
                row,
                settings[row.id],
                funding,
                received.get(row.id, 0),
                payments.get(row.id, []),
                now,
            )
            if public is not None:
                yield public
        last = rows[-1].id
        if len(rows) < batch:
            return


def public_record(session: Session, grant_id: int, now: dt.datetime) -> PublicRecord | None:
    rows = session.execute(_candidates(now, Filters(), grant_id=grant_id)).all()
    if not rows:
        return None
    funding = _Funding(session)
    return _public(
        rows[0],
        _settings(session, rows)[grant_id],
        funding,
        _received(session, rows).get(grant_id, 0),
        _payments(session, rows).get(grant_id, []),
        now,
    )


def public_logo(session: Session, grant_id: int, now: dt.datetime) -> tuple[str, str] | None:
    """The logo's storage key and type, only for a record published under its name."""
    record = public_record(session, grant_id, now)
    if record is None or not record.has_logo:
        return None
    rows = session.execute(_candidates(now, Filters(), grant_id=grant_id)).all()
    settings = _settings(session, rows)[grant_id]
    if not settings.logo_key or not settings.logo_content_type:
        return None
    return settings.logo_key, settings.logo_content_type


def published_themes(session: Session, now: dt.datetime) -> list[str]:
    """Themes of records published now: a grant that is not published lends none."""
    base = _candidates(now, Filters()).subquery()
    themes = session.execute(select(base.c.theme).where(base.c.theme.is_not(None)).distinct())
    return sorted({t for (t,) in themes if t}, key=str.lower)


def min_cell() -> int:
    """The fewest grants a published figure may stand for (PUBLICATION_MIN_CELL)."""
    if not has_app_context():
        return 3
    return max(1, int(current_app.config.get("PUBLICATION_MIN_CELL", 3)))
