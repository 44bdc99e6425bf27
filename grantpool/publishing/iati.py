"""IATI Activity Standard 2.03, written as a stream: one activity per published grant,
then one activity per fund that traces the money donor -> fund -> partner.

What the IATI validator and a data user expect beyond the XSD:

- The reporting organisation is the fund manager (`IATI_ORG_REF`, `IATI_ORG_TYPE`),
  checked against the organisation-identifier rule and the OrganisationType codelist. In
  development and testing, without a ref, the marked example `XI-IATI-EXAMPLE` is used
  and the file says so; production refuses to publish until a valid ref is configured.
- Every narrative is written once per published language (`published_languages()`),
  never in the visitor's: the default language's narrative carries no xml:lang (it is
  the activity's), the others carry theirs.
- Every activity has a sector (the fund's theme in SectorVocabulary 99, "reporting
  organisation", whose codes /open-data/themes lists; "general" when the grant has
  none) and a recipient country or, when the partner hides it, a UN M49
  recipient-region (RegionVocabulary 2).
- Sub-national locations: IATI 2.03's GeographicVocabulary has no ISO 3166-2 entry (A1
  GAUL, A2 SALB, A3 GADM, A4 ISO 3166-1 alpha-2, G1 GeoNames, G2 OpenStreetMap), and we
  hold none of those gazetteers' codes. So at area precision only, a `location` carries
  the ISO 3166-2 code as its own reference (`location/@ref`), the area's name, an
  `administrative` element with vocabulary A4 (the country: what ISO 3166-2 codes are
  subdivisions of), location class 1 (administrative region) and exactness 2
  (approximate): nothing finer than the partner agreed to.
- The pooled-fund chain: each fund's activity (`{ref}-FUND-{id}`) lists incoming funds
  (transaction type 1) per contribution of an institutional donor (provider-org ref =
  the donor's org id) and, for people giving alone, one unnamed total; each grant
  activity points at it (related-activity type 1, provider-activity-id).
- Withheld grants (no consent, withdrawn, embargoed, flagged) appear in their fund's
  activity as one anonymised commitment and one disbursement, the ledger's totals less
  what the published activities carry, so per fund the file adds up to the ledger. An
  aggregate standing for fewer than `min_cell()` grants carries no count.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import current_app, has_app_context
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from lxml import etree
from sqlalchemy.orm import Session

from ..attribution.rules import LocationPrecision
from ..organisations.rules import area_name, country_name
from . import queries
from .fund_totals import FundTotals, Incoming, fund_totals
from .opendata import DONOR_IATI_TYPE, GRANT_ACTIVITY_STATUS, _decimal_text
from .queries import PublicRecord
from .regions import WORLD

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

EXAMPLE_ORG_REF = "XI-IATI-EXAMPLE"
EXAMPLE_ORG_TYPE = "90"
# IATI OrganisationType codelist (IATI-Codelists-NonEmbedded, xml/OrganisationType.xml).
ORGANISATION_TYPES = frozenset(
    {"10", "11", "15", "21", "22", "23", "24", "30", "40", "60", "70", "71", "72", "73", "80", "90"}
)
# An organisation identifier: a registration agency's code from org-id.guide (country or
# XI/XM, a hyphen, the list's code, e.g. GB-CHC, XM-DAC, XI-IATI, CA-CRA_ACR), a hyphen,
# then the organisation's id on that list: no spaces, slashes or other reserved marks.
ORG_REF_RULE = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(?:_[A-Z0-9]+)*-[A-Za-z0-9][A-Za-z0-9._-]*$")

# Codes from the IATI 2.03 codelists.
REGION_VOCABULARY_UN = "2"
SECTOR_VOCABULARY_REPORTING_ORG = "99"
GEOGRAPHIC_VOCABULARY_ISO_COUNTRY = "A4"
DOCUMENT_CATEGORY_EXCLUSIONS_POLICY = "B08"
DOCUMENT_CATEGORY_ACTIVITY_WEB_PAGE = "A12"
GENERAL_THEME = "general"


class IatiNotConfigured(Exception):
    """The reporting organisation is missing or not valid: the file cannot be published."""


@dataclass(frozen=True)
class Publisher:
    ref: str
    org_type: str
    # A placeholder identity for development and testing: the file says so.
    example: bool = False


def valid_org_ref(ref: str) -> bool:
    return bool(ORG_REF_RULE.match(ref or ""))


def publisher(config: Mapping[str, object]) -> Publisher:
    """The reporting organisation from the settings, or IatiNotConfigured saying why."""
    ref = str(config.get("IATI_ORG_REF") or "").strip()
    org_type = str(config.get("IATI_ORG_TYPE") or "").strip()
    production = config.get("ENV") == "production"
    example = not ref and not production
    if example:
        ref = EXAMPLE_ORG_REF
    if not ref:
        raise IatiNotConfigured(
            _(
                "The IATI file is not published yet: set GRANTPOOL_IATI_ORG_REF to the fund "
                "manager's IATI organisation identifier (for example GB-CHC-1234567)."
            )
        )
    if not valid_org_ref(ref) or (production and ref == EXAMPLE_ORG_REF):
        raise IatiNotConfigured(
            _(
                "The IATI file is not published: GRANTPOOL_IATI_ORG_REF (%(ref)s) is not an "
                "IATI organisation identifier. Use a registration agency's prefix and the "
                "organisation's id, for example GB-CHC-1234567, with no spaces or slashes.",
                ref=ref,
            )
        )
    if not org_type and not production:
        org_type = EXAMPLE_ORG_TYPE
    if org_type not in ORGANISATION_TYPES:
        raise IatiNotConfigured(
            _(
                "The IATI file is not published: GRANTPOOL_IATI_ORG_TYPE must be a code of "
                "IATI's OrganisationType codelist (for example 21 or 22)."
            )
        )
    return Publisher(ref, org_type, example)


@dataclass(frozen=True)
class Links:
    """Where the file points its readers (absolute addresses)."""

    base_url: str

    @property
    def exclusions(self) -> str:
        return f"{self.base_url}/open-data/exclusions"

    @property
    def themes(self) -> str:
        return f"{self.base_url}/open-data/themes"

    def record(self, grant_id: int) -> str:
        return f"{self.base_url}/published/{grant_id}"


@dataclass
class _Published:
    """What the published activities of one fund carried, to subtract from its totals."""

    grants: int = 0
    committed_minor: int = 0
    paid_grants: int = 0
    paid_minor: int = 0
    last_changed_at: dt.datetime | None = None


@dataclass
class Writer:
    publisher: Publisher
    links: Links
    languages: tuple[str, ...]
    default_language: str
    min_cell: int = 3
    published: dict[int, _Published] = field(default_factory=dict)
    _constants: dict[str, dict[str, str]] = field(default_factory=dict)

    # Narratives ------------------------------------------------------------------------

    def narratives(self, parent: etree._Element, texts: Mapping[str, str]) -> etree._Element:
        """One narrative per language that has a text; the default language's first and
        without xml:lang (the activity's)."""
        for language in self.languages:
            text = texts.get(language)
            if not text:
                continue
            narrative = etree.SubElement(parent, "narrative")
            if language != self.default_language:
                narrative.set(XML_LANG, language)
            narrative.text = text
        return parent

    def same_in_every_language(self, text: str) -> dict[str, str]:
        return dict.fromkeys(self.languages, text)

    # Shared parts ----------------------------------------------------------------------

    def activity(
        self, identifier: str, currency: str, changed_at: dt.datetime | None
    ) -> etree._Element:
        activity = etree.Element("iati-activity")
        if changed_at is not None:
            activity.set(
                "last-updated-datetime",
                changed_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            )
        activity.set(XML_LANG, self.default_language)
        activity.set("default-currency", currency)
        etree.SubElement(activity, "iati-identifier").text = identifier
        return activity

    def reporting_org(self, activity: etree._Element, name: str) -> None:
        org = etree.SubElement(
            activity, "reporting-org", ref=self.publisher.ref, type=self.publisher.org_type
        )
        self.narratives(org, self.same_in_every_language(name))

    def org(
        self,
        parent: etree._Element,
        tag: str,
        names: Mapping[str, str],
        ref: str | None,
        org_type: str | None,
        **attrs: str,
    ) -> etree._Element:
        element = etree.SubElement(parent, tag)
        if ref:
            element.set("ref", ref)
        for key, value in attrs.items():
            element.set(key.replace("_", "-"), value)
        if org_type:
            element.set("type", org_type)
        return self.narratives(element, names)

    def sector(self, activity: etree._Element, theme: str | None) -> None:
        sector = etree.SubElement(
            activity,
            "sector",
            vocabulary=SECTOR_VOCABULARY_REPORTING_ORG,
            code=theme_code(theme),
            percentage="100",
        )
        sector.set("vocabulary-uri", self.links.themes)
        if theme and theme.strip():
            self.narratives(sector, self.same_in_every_language(theme.strip()))
        else:
            self.narratives(sector, self.in_each_language(lambda: _("General")))

    def in_each_language(self, text: Callable[[], str]) -> dict[str, str]:
        """Call `text` (a function using gettext) once in each published language."""
        result = {}
        for language in self.languages:
            with force_locale(language):
                result[language] = str(text())
        return result

    def transaction(
        self,
        activity: etree._Element,
        code: str,
        day: dt.date,
        minor: int,
        currency: str,
        *,
        description: Mapping[str, str] | None = None,
        provider: tuple[Mapping[str, str], str | None, str | None, str | None] | None = None,
        receiver: tuple[Mapping[str, str], str | None, str | None, str | None] | None = None,
    ) -> None:
        """provider/receiver: (names, ref, type, activity id)."""
        transaction = etree.SubElement(activity, "transaction")
        etree.SubElement(transaction, "transaction-type", code=code)
        date = etree.SubElement(transaction, "transaction-date")
        date.set("iso-date", day.isoformat())
        value = etree.SubElement(transaction, "value", currency=currency)
        value.set("value-date", day.isoformat())
        value.text = _decimal_text(minor, currency)
        if description:
            self.narratives(etree.SubElement(transaction, "description"), description)
        for tag, party in (("provider-org", provider), ("receiver-org", receiver)):
            if party is None:
                continue
            names, ref, org_type, activity_id = party
            attrs = {f"{tag.split('-')[0]}_activity_id": activity_id} if activity_id else {}
            self.org(transaction, tag, names, ref, org_type, **attrs)

    def document_link(
        self, activity: etree._Element, url: str, title: Mapping[str, str], category: str
    ) -> None:
        link = etree.SubElement(activity, "document-link", url=url, format="text/html")
        self.narratives(etree.SubElement(link, "title"), title)
        etree.SubElement(link, "category", code=category)
        for language in self.languages:
            etree.SubElement(link, "language", code=language)

    def exclusions_link(self, activity: etree._Element) -> None:
        self.document_link(
            activity,
            self.links.exclusions,
            self.in_each_language(lambda: _("What this file withholds, and why")),
            DOCUMENT_CATEGORY_EXCLUSIONS_POLICY,
        )

    def fund_activity_id(self, fund_id: int) -> str:
        return f"{self.publisher.ref}-FUND-{fund_id}"

    # A published grant -----------------------------------------------------------------

    def fund_as_funder_and_extender(
        self, activity: etree._Element, fund_names: Mapping[str, str], **attrs: str
    ) -> None:
        """The pooled fund, run by the publisher, as funding (2) and extending (3) org."""
        for role in ("2", "3"):
            self.org(
                activity,
                "participating-org",
                fund_names,
                self.publisher.ref,
                self.publisher.org_type,
                role=role,
                **attrs,
            )

    def grant_activity(self, record: PublicRecord) -> etree._Element:
        fund_activity = self.fund_activity_id(record.fund_id)
        activity = self.activity(
            f"{self.publisher.ref}-{record.reference}", record.currency, record.changed_at
        )
        if record.humanitarian:
            activity.set("humanitarian", "1")
        self.reporting_org(activity, record.fund_name)
        texts = self.record_texts(record)
        self.narratives(etree.SubElement(activity, "title"), texts["title"])
        self.narratives(etree.SubElement(activity, "description", type="1"), texts["description"])
        for donor in record.donors:
            individual = donor.donor_type == "individual"
            self.org(
                activity,
                "participating-org",
                texts["individuals"] if individual else self.same_in_every_language(donor.name),
                None if individual else donor.org_id,
                DONOR_IATI_TYPE.get(donor.donor_type, "90"),
                role="1",
            )
        fund_names = self.same_in_every_language(record.fund_name)
        self.fund_as_funder_and_extender(activity, fund_names, activity_id=fund_activity)
        # An anonymised partner has no name and no reference, only the anonymised
        # description, in each language (the IATI exclusion rule).
        partner_ref = record.partner_org_id if record.named else None
        partner_names = {lang: record.partner_in(lang) for lang in self.languages}
        self.org(
            activity,
            "participating-org",
            partner_names,
            partner_ref,
            record.partner_iati_type,
            role="4",
        )
        etree.SubElement(
            activity, "activity-status", code=GRANT_ACTIVITY_STATUS.get(record.state, "2")
        )
        for date_type, day in (("1", record.start_on), ("3", record.end_on)):
            etree.SubElement(activity, "activity-date", type=date_type).set(
                "iso-date", day.isoformat()
            )
        self.recipient(activity, record)
        if record.precision == LocationPrecision.AREA.value and record.area and record.country:
            self.location(activity, record.country, record.area)
        self.sector(activity, record.theme)
        provider = (fund_names, self.publisher.ref, self.publisher.org_type, fund_activity)
        receiver = (partner_names, partner_ref, record.partner_iati_type, None)
        self.transaction(
            activity,
            "2",
            record.awarded_at.date(),
            record.amount_awarded_minor,
            record.currency,
            provider=provider,
            receiver=receiver,
        )
        for payment in record.payments:
            self.transaction(
                activity,
                "3",
                payment.paid_on,
                payment.amount_minor,
                record.currency,
                provider=provider,
                receiver=receiver,
            )
        self.document_link(
            activity,
            self.links.record(record.grant_id),
            texts["page"],
            DOCUMENT_CATEGORY_ACTIVITY_WEB_PAGE,
        )
        etree.SubElement(activity, "related-activity", ref=fund_activity, type="1")
        self.count(record)
        return activity

    def constant(self, key: str, text: Callable[[], str]) -> dict[str, str]:
        """A text that is the same for every activity, translated once per file."""
        if key not in self._constants:
            self._constants[key] = self.in_each_language(text)
        return self._constants[key]

    def record_texts(self, record: PublicRecord) -> dict[str, dict[str, str]]:
        texts: dict[str, dict[str, str]] = {
            "title": {},
            "description": {},
            "individuals": self.constant("individuals", lambda: _("Individual donors")),
            "page": self.constant("page", lambda: _("Published record and credit line")),
        }
        for language in self.languages:
            partner = record.partner_in(language)
            # The call's title as it was written (in this language when it was), else the fund.
            work = record.call_title_in(language) or record.fund_name
            where = place_in(record.country, record.area, record.precision, language)
            # The partner's own words in this language, never another language's words
            # under this language's tag.
            words = record.descriptions.get(language)
            with force_locale(language):
                if record.named and where:
                    title = _(
                        "%(work)s: %(partner)s, %(place)s",
                        work=work,
                        partner=partner,
                        place=where,
                    )
                else:
                    # An anonymised name already says where, at the chosen precision.
                    title = _("%(work)s: %(partner)s", work=work, partner=partner)
                if not words:
                    words = _(
                        "A grant from %(fund)s, a pooled fund, to %(partner)s for %(work)s.",
                        fund=record.fund_name,
                        partner=partner,
                        work=work,
                    )
            texts["title"][language] = title
            texts["description"][language] = words
        return texts

    def recipient(self, activity: etree._Element, record: PublicRecord) -> None:
        if record.country:
            etree.SubElement(activity, "recipient-country", code=record.country, percentage="100")
            return
        # The partner hides its country: say the UN region, or the world, never nothing.
        etree.SubElement(
            activity,
            "recipient-region",
            code=record.region or WORLD,
            vocabulary=REGION_VOCABULARY_UN,
            percentage="100",
        )

    def location(self, activity: etree._Element, country: str, area: str) -> None:
        location = etree.SubElement(activity, "location", ref=area)
        etree.SubElement(location, "location-reach", code="1")
        self.narratives(
            etree.SubElement(location, "name"), self.same_in_every_language(area_name(area))
        )
        etree.SubElement(
            location, "administrative", vocabulary=GEOGRAPHIC_VOCABULARY_ISO_COUNTRY, code=country
        )
        etree.SubElement(location, "exactness", code="2")
        etree.SubElement(location, "location-class", code="1")

    def count(self, record: PublicRecord) -> None:
        carried = self.published.setdefault(record.fund_id, _Published())
        carried.grants += 1
        carried.committed_minor += record.amount_awarded_minor
        if record.payments:
            carried.paid_grants += 1
            carried.paid_minor += sum(p.amount_minor for p in record.payments)
        if record.changed_at is not None and (
            carried.last_changed_at is None or record.changed_at > carried.last_changed_at
        ):
            carried.last_changed_at = record.changed_at

    # A fund ----------------------------------------------------------------------------

    def fund_activity(self, fund: FundTotals) -> etree._Element:
        carried = self.published.get(fund.fund_id, _Published())
        last_received = max((i.received_on for i in fund.incoming), default=None)
        activity = self.activity(
            self.fund_activity_id(fund.fund_id),
            fund.currency,
            _latest(
                fund.created_at,
                fund.last_awarded_at,
                fund.last_consent_change_at,
                _midnight(fund.last_paid_on),
                _midnight(last_received),
                carried.last_changed_at,
            ),
        )
        self.reporting_org(activity, fund.name)
        fund_names = self.same_in_every_language(fund.name)
        self.narratives(etree.SubElement(activity, "title"), fund_names)
        self.narratives(
            etree.SubElement(activity, "description", type="1"),
            self.in_each_language(
                lambda: _(
                    "%(fund)s is a pooled fund: its donors' contributions are passed on as "
                    "grants to local organisations. Each published grant is an activity of "
                    "its own; grants that cannot be published are counted here together.",
                    fund=fund.name,
                )
            ),
        )
        individuals = self.constant("individuals", lambda: _("Individual donors"))
        seen: set[tuple[str | None, str]] = set()
        for incoming in fund.incoming:
            key = (incoming.org_id, incoming.name)
            if key in seen:
                continue
            seen.add(key)
            self.org(activity, "participating-org", *self.donor(incoming, individuals), role="1")
        self.fund_as_funder_and_extender(activity, fund_names)
        etree.SubElement(activity, "activity-status", code="2")
        first_received = min((i.received_on for i in fund.incoming), default=None)
        started = min(filter(None, (fund.created_at.date(), first_received)))
        etree.SubElement(activity, "activity-date", type="2").set("iso-date", started.isoformat())
        # A fund works wherever its partners are; naming its countries could show where a
        # withheld partner is.
        etree.SubElement(
            activity,
            "recipient-region",
            code=WORLD,
            vocabulary=REGION_VOCABULARY_UN,
            percentage="100",
        )
        self.sector(activity, None)
        receiver = (fund_names, self.publisher.ref, self.publisher.org_type, None)
        for incoming in fund.incoming:
            names, ref, org_type = self.donor(incoming, individuals)
            self.transaction(
                activity,
                "1",
                incoming.received_on,
                incoming.amount_minor,
                fund.currency,
                provider=(names, ref, org_type, None),
                receiver=(*receiver[:3], self.fund_activity_id(fund.fund_id)),
            )
        provider = (fund_names, self.publisher.ref, self.publisher.org_type, None)
        withheld = fund.grants - carried.grants
        committed = fund.committed_minor - carried.committed_minor
        if withheld > 0 and committed > 0 and fund.last_awarded_at is not None:
            self.transaction(
                activity,
                "2",
                fund.last_awarded_at.date(),
                committed,
                fund.currency,
                description=self.withheld_text(withheld),
                provider=provider,
            )
        paid_withheld = fund.paid_grants - carried.paid_grants
        paid = fund.paid_minor - carried.paid_minor
        if paid > 0 and fund.last_paid_on is not None:
            self.transaction(
                activity,
                "3",
                fund.last_paid_on,
                paid,
                fund.currency,
                description=self.withheld_text(paid_withheld),
                provider=provider,
            )
        self.exclusions_link(activity)
        return activity

    def donor(
        self, incoming: Incoming, individuals: Mapping[str, str]
    ) -> tuple[Mapping[str, str], str | None, str]:
        org_type = DONOR_IATI_TYPE.get(incoming.donor_type, "90")
        if incoming.donor_type == "individual":
            return individuals, None, org_type
        return self.same_in_every_language(incoming.name), incoming.org_id, org_type

    def withheld_text(self, grants: int) -> dict[str, str]:
        """The narrative of an aggregate: its count only when it stands for enough grants
        that none can be told apart."""
        if grants >= self.min_cell:
            return self.in_each_language(
                lambda: ngettext(
                    "withheld: %(num)s grant (see exclusion policy)",
                    "withheld: %(num)s grants (see exclusion policy)",
                    grants,
                )
            )
        return self.in_each_language(lambda: _("withheld grants (see exclusion policy)"))


def theme_code(theme: str | None) -> str:
    """A stable code for a theme: 'Food security' -> 'food-security'; none -> 'general'."""
    code = re.sub(r"[^a-z0-9]+", "-", (theme or "").strip().lower()).strip("-")
    return code or GENERAL_THEME


@lru_cache(maxsize=4096)
def place_in(country: str | None, area: str | None, precision: str, language: str) -> str:
    """The place at the published precision, the country named in `language`."""
    if not country or precision == LocationPrecision.HIDDEN.value:
        return ""
    try:
        name = Locale.parse(language).territories.get(country.upper()) or country_name(country)
    except (UnknownLocaleError, ValueError, TypeError):
        name = country_name(country)
    if precision == LocationPrecision.AREA.value and area:
        return f"{area_name(area)}, {name}"
    return name


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


def _latest(*instants: dt.datetime | None) -> dt.datetime | None:
    known = [i for i in instants if i is not None]
    return max(known) if known else None


def default_language(languages: tuple[str, ...]) -> str:
    configured = current_app.config.get("DEFAULT_LOCALE") if has_app_context() else None
    return configured if configured in languages else languages[0]


def iati_xml(
    session: Session,
    records: Iterable[PublicRecord],
    publisher: Publisher,
    base_url: str,
    now: dt.datetime,
) -> Iterator[str]:
    """The whole file: published grants as they stream in, then each fund's activity
    with its incoming funds and what was withheld."""
    languages = queries.published_languages()
    writer = Writer(
        publisher,
        Links(base_url.rstrip("/")),
        languages,
        default_language(languages),
        queries.min_cell(),
    )
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    if publisher.example:
        yield (
            f"<!-- EXAMPLE DATA: {EXAMPLE_ORG_REF} is a placeholder reporting organisation "
            "(development or testing). Set GRANTPOOL_IATI_ORG_REF before publishing. -->\n"
        )
    yield f"<!-- Withheld data and why: {writer.links.exclusions} -->\n"
    generated = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    yield f'<iati-activities version="2.03" generated-datetime="{generated}">\n'
    for record in records:
        yield etree.tostring(writer.grant_activity(record), encoding="unicode") + "\n"
    for fund in fund_totals(session):
        yield etree.tostring(writer.fund_activity(fund), encoding="unicode") + "\n"
    yield "</iati-activities>\n"
