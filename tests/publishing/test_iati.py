"""The IATI file beyond its XSD: the reporting organisation, narratives in every published
language, sectors and recipient places on every activity, the donor -> fund -> partner
chain, and per fund totals that add up to the ledger while withheld grants stay withheld."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings, RecordDetails, SafetyFlag
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.grants.models import Disbursement, Grant
from grantpool.ledger.models import Contribution
from grantpool.publishing import iati, queries, views
from grantpool.publishing.regions import region_codes, region_of
from tests.factories import make_donor
from tests.ledger.helpers import contribute

from .helpers import SECRET_ORG, pay_first_tranche, published_grant
from .test_opendata import codes, iati_schema

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
REF = "GB-CHC-1234567"
# IATI-Codelists-NonEmbedded xml/SectorVocabulary.xml and xml/DocumentCategory.xml.
SECTOR_VOCABULARIES = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "98", "99"}
EXCLUSIONS_POLICY = "B08"
CONSENT_AT = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
SETTINGS_AT = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"IATI_ORG_REF": REF, "IATI_ORG_TYPE": "21"}


class Fund:
    """One fund with two published grants and three withheld ones (no consent, consent
    withdrawn, safety flag), an earmarked foundation, an anonymous donor and a person."""

    def __init__(self, session: Session) -> None:
        self.named = published_grant(
            session,
            organisation={"name": "Named Water Group", "org_id": "KE-RCO-77", "area": "KE-30"},
        )
        world = self.world = self.named.world
        pay_first_tranche(session, world, self.named.grant)
        attribution.save_organisation_settings(
            session,
            self.named.partner,
            self.named.organisation,
            CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA, descriptions={"en": "Wells."}),
        )
        attribution.change_consent(
            session,
            self.named.partner,
            self.named.grant,
            ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED),
        )
        # Anonymised, place hidden, no theme: a region and the "general" sector.
        self.hidden = published_grant(session, organisation=dict(SECRET_ORG), world=world)
        attribution.save_fund_details(
            session, world.manager, self.hidden.grant, RecordDetails(None, False, None)
        )
        attribution.save_organisation_settings(
            session,
            self.hidden.partner,
            self.hidden.organisation,
            CreditSettings(Naming.ANONYMISED, LocationPrecision.HIDDEN),
            now=SETTINGS_AT,
        )
        attribution.change_consent(
            session,
            self.hidden.partner,
            self.hidden.grant,
            ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED),
            now=CONSENT_AT,
        )
        self.no_consent = published_grant(
            session, organisation={"name": "Quiet Fishers Union"}, world=world
        )
        pay_first_tranche(session, world, self.no_consent.grant)
        self.withdrawn = published_grant(
            session, organisation={"name": "Changed Mind Collective"}, world=world
        )
        attribution.change_consent(
            session,
            self.withdrawn.partner,
            self.withdrawn.grant,
            ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED),
        )
        attribution.change_consent(
            session,
            self.withdrawn.partner,
            self.withdrawn.grant,
            ConsentChange(ConsentState.WITHDRAWN),
        )
        self.flagged = published_grant(
            session, organisation={"name": "Threatened Defenders Network"}, world=world
        )
        attribution.change_consent(
            session,
            self.flagged.partner,
            self.flagged.grant,
            ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED),
        )
        attribution.set_safety_flag(
            session, world.manager, self.flagged.grant, SafetyFlag(True, "Threats")
        )
        person = make_donor(
            session, name="Private Person Zed", donor_type="individual", currency="USD"
        )
        contribute(session, world.officer, world.fund, person, "250.00")
        self.withheld_names = [
            "Quiet Fishers Union",
            "Changed Mind Collective",
            "Threatened Defenders Network",
            "Private Person Zed",
        ]


def fetch(client: FlaskClient, **headers: str) -> etree._Element:
    response = client.get("/open-data/iati-activities.xml", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return etree.fromstring(response.data)


def activities(document: etree._Element) -> dict[str, etree._Element]:
    return {a.findtext("iati-identifier"): a for a in document.iter("iati-activity")}


def grant_activity(document: etree._Element, grant: Grant) -> etree._Element:
    return activities(document)[f"{REF}-G-{grant.id:05d}"]


def transactions(activity: etree._Element, code: str) -> list[etree._Element]:
    return activity.xpath(f"transaction[transaction-type/@code='{code}']")


def minor(transaction: etree._Element) -> int:
    return int(Decimal(transaction.findtext("value")) * 100)


def test_the_file_is_valid_and_every_activity_says_what_and_where(
    client: FlaskClient, session: Session
) -> None:
    fund = Fund(session)
    document = fetch(client)
    schema = iati_schema()
    assert schema.validate(document), schema.error_log
    found = activities(document)
    assert set(found) == {
        f"{REF}-G-{fund.named.grant.id:05d}",
        f"{REF}-G-{fund.hidden.grant.id:05d}",
        f"{REF}-FUND-{fund.world.fund.id}",
    }
    for identifier, activity in found.items():
        reporting = activity.find("reporting-org")
        assert reporting.get("ref") == REF and iati.valid_org_ref(reporting.get("ref"))
        assert reporting.get("type") == "21" and reporting.get("type") in codes("OrganisationType")
        assert identifier.startswith(f"{REF}-")
        sectors = activity.findall("sector")
        assert sectors, identifier
        for sector in sectors:
            assert sector.get("vocabulary") in SECTOR_VOCABULARIES
            assert sector.get("vocabulary-uri") == "http://localhost/open-data/themes"
            assert sector.get("code")
        places = activity.findall("recipient-country") + activity.findall("recipient-region")
        assert places, identifier
        assert sum(Decimal(p.get("percentage")) for p in places) == 100
    assert {r.get("vocabulary") for r in document.iter("recipient-region")} <= codes(
        "RegionVocabulary"
    )

    named = grant_activity(document, fund.named.grant)
    assert named.find("recipient-country").get("code") == "KE"
    assert named.find("recipient-region") is None
    assert named.find("sector").get("code") == "water"
    title = named.find("title/narrative").text
    assert "Named Water Group" in title and "Kenya" in title and "G-0" not in title
    assert named.find("participating-org[@role='4']").get("ref") == "KE-RCO-77"

    hidden = grant_activity(document, fund.hidden.grant)
    assert hidden.find("recipient-country") is None
    region = hidden.find("recipient-region")
    assert region.get("vocabulary") == "2" and region.get("code") == region_of("KE") == "014"
    assert hidden.find("sector").get("code") == iati.GENERAL_THEME
    assert hidden.find("location") is None
    assert hidden.find("participating-org[@role='4']").get("ref") is None
    text = etree.tostring(document, encoding="unicode")
    for secret in ("Secret Sisters", "KE-RCO-HIDDEN123", "Hiddenvale", *fund.withheld_names):
        assert secret not in text


def test_sub_national_location_only_at_area_precision(
    client: FlaskClient, session: Session
) -> None:
    fund = Fund(session)
    document = fetch(client)
    locations = list(document.iter("location"))
    assert len(locations) == 1
    location = locations[0]
    assert location.getparent() is grant_activity(document, fund.named.grant)
    assert location.get("ref") == "KE-30"
    administrative = location.find("administrative")
    assert administrative.get("vocabulary") in codes("GeographicVocabulary")
    # A4 is ISO 3166-1: the code is the country the ISO 3166-2 area belongs to.
    assert administrative.get("vocabulary") == "A4" and administrative.get("code") == "KE"
    assert location.find("name/narrative").text.startswith("Nairobi")

    # The partner narrows its place to the country: the location goes at once.
    attribution.save_organisation_settings(
        session,
        fund.named.partner,
        fund.named.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY),
    )
    assert list(fetch(client).iter("location")) == []


def narrative_languages(element: etree._Element) -> list[str | None]:
    return [n.get(XML_LANG) for n in element.findall("narrative")]


def test_narratives_in_every_published_language_whatever_the_visitor_reads(
    client: FlaskClient, session: Session
) -> None:
    fund = Fund(session)
    assert queries.published_languages() == ("en", "fr")
    # A streamed body is read before the next request, as a browser would.
    english = client.get("/open-data/iati-activities.xml", headers={"Accept-Language": "en"}).data
    french = client.get("/open-data/iati-activities.xml", headers={"Accept-Language": "fr"}).data

    def without_timestamp(body: bytes) -> bytes:
        return re.sub(rb'generated-datetime="[^"]*"', b"", body)

    assert without_timestamp(english) == without_timestamp(french)
    document = etree.fromstring(french)
    for activity in document.iter("iati-activity"):
        assert activity.get(XML_LANG) == "en"
        for path in ("title", "description", "reporting-org", "participating-org"):
            for element in activity.findall(path):
                # The default language's narrative is the activity's; French says so.
                assert narrative_languages(element) == [None, "fr"], (path, element.attrib)
    hidden = grant_activity(document, fund.hidden.grant)
    partner = hidden.find("participating-org[@role='4']")
    english_name, french_name = (n.text for n in partner.findall("narrative"))
    assert english_name.startswith("a women-led community")
    record = queries.public_record(session, fund.hidden.grant.id, dt.datetime.now(dt.UTC))
    assert record is not None
    assert french_name == record.partner_names["fr"]
    # The partner wrote English only: its words are never tagged as French.
    named = grant_activity(document, fund.named.grant)
    en_words, fr_words = (n.text for n in named.findall("description/narrative"))
    assert en_words == "Wells." and fr_words != "Wells."


def test_last_updated_is_the_records_own_change_not_the_request_time(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    fund = Fund(session)
    before = grant_activity(fetch(client), fund.hidden.grant).get("last-updated-datetime")
    assert before == CONSENT_AT.isoformat(timespec="seconds")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    monkeypatch.setattr(views, "now_utc", lambda: later)
    document = fetch(client)
    assert document.get("generated-datetime") == later.isoformat(timespec="seconds")
    assert grant_activity(document, fund.hidden.grant).get("last-updated-datetime") == before


def test_the_chain_from_donors_through_the_fund_to_partners(
    client: FlaskClient, session: Session
) -> None:
    fund = Fund(session)
    document = fetch(client)
    fund_id = f"{REF}-FUND-{fund.world.fund.id}"
    fund_activity = activities(document)[fund_id]
    incoming = transactions(fund_activity, "1")
    received = session.scalar(
        select(func.sum(Contribution.base_amount_minor)).where(
            Contribution.fund_id == fund.world.fund.id
        )
    )
    assert sum(minor(t) for t in incoming) == received
    providers = [t.find("provider-org") for t in incoming]
    assert "GB-CHC-1" in [p.get("ref") for p in providers]
    person = [p for p in providers if p.findtext("narrative") == "Individual donors"]
    assert len(person) == 1 and person[0].get("ref") is None
    assert {minor(t) for t in incoming if t.find("provider-org") is person[0]} == {25000}
    for transaction in incoming:
        assert transaction.find("value").get("value-date")
        assert transaction.find("value").get("currency") == "USD"
        assert transaction.find("receiver-org").get("receiver-activity-id") == fund_id
    for grant in (fund.named.grant, fund.hidden.grant):
        activity = grant_activity(document, grant)
        related = activity.find("related-activity")
        assert related.get("ref") == fund_id and related.get("type") == "1"
        for transaction in activity.findall("transaction"):
            assert transaction.find("provider-org").get("provider-activity-id") == fund_id
            assert transaction.find("receiver-org").get("receiver-activity-id") is None
            assert transaction.find("value").get("value-date")
    named = grant_activity(document, fund.named.grant)
    payments = transactions(named, "3")
    assert len(payments) == 1
    assert payments[0].find("receiver-org").get("ref") == "KE-RCO-77"
    hidden = grant_activity(document, fund.hidden.grant)
    assert all(t.find("receiver-org").get("ref") is None for t in hidden.findall("transaction"))


def test_per_fund_totals_add_up_to_the_ledger_with_grants_withheld(
    client: FlaskClient, session: Session
) -> None:
    fund = Fund(session)
    document = fetch(client)
    fund_id = f"{REF}-FUND-{fund.world.fund.id}"
    in_fund = [
        a
        for identifier, a in activities(document).items()
        if identifier == fund_id or a.find(f"related-activity[@ref='{fund_id}']") is not None
    ]

    def total(code: str) -> int:
        return sum(minor(t) for a in in_fund for t in transactions(a, code))

    committed = session.scalar(
        select(func.sum(Grant.amount_minor)).where(Grant.fund_id == fund.world.fund.id)
    )
    paid = session.scalar(
        select(func.sum(Disbursement.amount_minor))
        .join(Grant, Grant.id == Disbursement.grant_id)
        .where(Grant.fund_id == fund.world.fund.id, Disbursement.state == "paid")
    )
    assert committed == 5 * 1_000_000 and paid > 0
    assert total("2") == committed
    assert total("3") == paid

    fund_activity = activities(document)[fund_id]
    commitment = next(iter(transactions(fund_activity, "2")), None)
    assert minor(commitment) == 3 * 1_000_000
    assert commitment.findtext("description/narrative") == (
        "withheld: 3 grants (see exclusion policy)"
    )
    assert commitment.find("receiver-org") is None
    # One withheld grant was paid: fewer than PUBLICATION_MIN_CELL (3), so no count.
    disbursement = next(iter(transactions(fund_activity, "3")), None)
    narrative = disbursement.findtext("description/narrative")
    assert narrative == "withheld grants (see exclusion policy)"
    assert not re.search(r"\d", narrative)
    link = fund_activity.find("document-link")
    assert link.get("url") == "http://localhost/open-data/exclusions"
    assert link.find("category").get("code") == EXCLUSIONS_POLICY

    # Consent given at last: the grant leaves the aggregate, the totals stay whole.
    attribution.change_consent(
        session,
        fund.no_consent.partner,
        fund.no_consent.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED),
    )
    document = fetch(client)
    in_fund = [
        a
        for identifier, a in activities(document).items()
        if identifier == fund_id or a.find(f"related-activity[@ref='{fund_id}']") is not None
    ]
    assert total("2") == committed and total("3") == paid
    fund_activity = activities(document)[fund_id]
    assert next(iter(transactions(fund_activity, "3")), None) is None
    commitment = next(iter(transactions(fund_activity, "2")), None)
    assert minor(commitment) == 2 * 1_000_000
    assert commitment.findtext("description/narrative") == "withheld grants (see exclusion policy)"


def test_exclusion_policy_and_themes_pages(client: FlaskClient, session: Session) -> None:
    Fund(session)
    page = client.get("/open-data/exclusions")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for topic in ("consent", "Anonymisation", "Embargo", "Safety", "at least 3"):
        assert topic in text
    assert "Example data" not in text
    body = client.get("/open-data/iati-activities.xml").get_data(as_text=True)
    assert "<!-- Withheld data and why: http://localhost/open-data/exclusions -->" in body
    themes = client.get("/open-data/themes").get_data(as_text=True)
    assert 'id="water"' in themes and 'id="general"' in themes


@pytest.mark.parametrize("app_config", [{}])
def test_development_uses_a_marked_example_publisher(client: FlaskClient, session: Session) -> None:
    Fund(session)
    body = client.get("/open-data/iati-activities.xml").get_data(as_text=True)
    assert "EXAMPLE DATA" in body
    document = etree.fromstring(body.encode())
    assert {r.get("ref") for r in document.iter("reporting-org")} == {iati.EXAMPLE_ORG_REF}
    page = client.get("/open-data/exclusions").get_data(as_text=True)
    assert "Example data" in page and iati.EXAMPLE_ORG_REF in page


@pytest.mark.parametrize(
    ("app_config", "status"),
    [
        ({"ENV": "production"}, 503),
        ({"ENV": "production", "IATI_ORG_REF": iati.EXAMPLE_ORG_REF, "IATI_ORG_TYPE": "21"}, 503),
        ({"ENV": "production", "IATI_ORG_REF": REF}, 503),  # no type
        ({"ENV": "production", "IATI_ORG_REF": REF, "IATI_ORG_TYPE": "21"}, 200),
        ({"IATI_ORG_REF": "GB CHC/123"}, 503),
        ({"IATI_ORG_REF": REF, "IATI_ORG_TYPE": "99"}, 503),
    ],
)
def test_no_file_without_a_valid_reporting_organisation(
    app: Flask, client: FlaskClient, status: int
) -> None:
    response = client.get("/open-data/iati-activities.xml")
    assert response.status_code == status
    if status == 503:
        assert "GRANTPOOL_IATI_ORG_" in response.get_data(as_text=True)
        assert response.mimetype == "text/plain"


@pytest.mark.parametrize(
    ("ref", "valid"),
    [
        ("GB-CHC-1234567", True),
        ("XM-DAC-41114", True),
        ("XI-IATI-EXAMPLE", True),
        ("CA-CRA_ACR-123456789RR0001", True),
        ("NL-KVK-41197337", True),
        ("", False),
        ("GRANTPOOL", False),
        ("GB-CHC", False),
        ("GB-CHC-12 34", False),
        ("GB-CHC-12/34", False),
        ("gb-chc-123", False),
        ("GB-CHC-", False),
    ],
)
def test_organisation_identifier_rule(ref: str, valid: bool) -> None:
    assert iati.valid_org_ref(ref) is valid


def test_publisher_settings() -> None:
    assert iati.publisher({"ENV": "testing"}) == iati.Publisher(
        iati.EXAMPLE_ORG_REF, iati.EXAMPLE_ORG_TYPE, example=True
    )
    assert iati.publisher({"ENV": "production", "IATI_ORG_REF": REF, "IATI_ORG_TYPE": "22"}) == (
        iati.Publisher(REF, "22")
    )
    with pytest.raises(iati.IatiNotConfigured):
        iati.publisher({"ENV": "production", "IATI_ORG_TYPE": "22"})
    assert iati.EXAMPLE_ORG_TYPE in iati.ORGANISATION_TYPES
    assert codes("OrganisationType") == iati.ORGANISATION_TYPES


def test_un_m49_regions() -> None:
    assert region_of("KE") == "014"  # Eastern Africa
    assert region_of("ke") == "014"
    assert region_of("NG") == "011"  # Western Africa
    assert region_of("BR") == "005"  # South America
    assert region_of("IN") == "034"  # Southern Asia
    assert region_of("NR") == "057"  # Nauru is in Micronesia
    # Sub-regions of fewer than five UN member states would all but name the country.
    assert region_of("US") == "019" and region_of("CA") == "019"  # Americas
    assert region_of("NZ") == "009" and region_of("FJ") == "009"  # Oceania
    assert region_of("AQ") is None and region_of("") is None and region_of(None) is None
    assert all(re.fullmatch(r"\d{3}", code) for code in region_codes())


def test_theme_codes() -> None:
    assert iati.theme_code("Food security") == "food-security"
    assert iati.theme_code("  disability inclusion ") == "disability-inclusion"
    assert iati.theme_code(None) == iati.theme_code("") == iati.GENERAL_THEME
