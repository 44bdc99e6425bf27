"""Open data in the sector's standards, written as streams of text chunks.

360Giving 1.4 (JSON package, and the same grants flattened to CSV) and IATI Activity
Standard 2.03 (XML). Each generator reads `PublicRecord`s batch by batch, so memory
stays flat whatever the number of grants. Anonymised partners appear without name,
identifier or reference: only the anonymised description (the IATI exclusion rule).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..funds.models import Donor, Fund
from ..ledger.models import Contribution
from ..platform.money import Money
from .queries import DonorShare, PublicRecord

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
# The pooled fund receives from several funders and regrants: "Funder collaboration".
POOLED_FUND_REGRANT_TYPE = "FRG040"
DONOR_IATI_TYPE = {
    "government": "10",
    "multilateral": "40",
    "foundation": "60",
    "private_sector": "70",
    "individual": "90",
    "pooled_fund": "90",
    "other": "90",
}
GRANT_ACTIVITY_STATUS = {
    "active": "2",
    "suspended": "6",
    "closing": "3",
    "closed": "4",
    "terminated": "5",
}


def _amount(minor: int, currency: str) -> int | float:
    value = Money(minor, currency).to_decimal()
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal_text(minor: int, currency: str) -> str:
    return format(Money(minor, currency).to_decimal(), "f")


def grant_id(prefix: str, record: PublicRecord) -> str:
    return f"{prefix}-{record.grant_id}"


def recipient_id(prefix: str, record: PublicRecord) -> str:
    """org-id.guide identifier when the partner is named and has one; otherwise a
    prefixed id. Anonymised partners get one per grant, so grants cannot be linked."""
    if record.named and record.partner_org_id:
        return record.partner_org_id
    if record.named and record.organisation_id is not None:
        return f"{prefix}-ORG-{record.organisation_id}"
    return f"{prefix}-ANON-{record.grant_id}"


def fund_id(prefix: str, fund: int) -> str:
    return f"{prefix}-FUND-{fund}"


def donor_id(prefix: str, donor: DonorShare | Any) -> str:
    return donor.org_id or f"{prefix}-DONOR-{donor.donor_id}"


def _donor_name(donor_type: str, name: str) -> str:
    # Individual donors are people: credited as such, never by name.
    return "Individual donors" if donor_type == "individual" else name


# 360Giving ------------------------------------------------------------------------------


def giving_grant(prefix: str, record: PublicRecord, base_url: str) -> dict[str, Any]:
    description = record.description_in("en") or record.credit_line()
    grant: dict[str, Any] = {
        "id": grant_id(prefix, record),
        "title": f"{record.fund_name}: grant {record.reference}",
        "description": description,
        "currency": record.currency,
        "amountAwarded": _amount(record.amount_awarded_minor, record.currency),
        "amountDisbursed": _amount(record.amount_received_minor, record.currency),
        "awardDate": record.awarded_at.date().isoformat(),
        "url": f"{base_url}/published/{record.grant_id}",
        "plannedDates": [
            {"startDate": record.start_on.isoformat(), "endDate": record.end_on.isoformat()}
        ],
        "recipientOrganization": [{"id": recipient_id(prefix, record), "name": record.partner}],
        "fundingOrganization": [{"id": fund_id(prefix, record.fund_id), "name": record.fund_name}],
        "dataSource": base_url + "/open-data/360giving.json",
    }
    if record.country:
        location: dict[str, Any] = {"name": record.place, "countryCode": record.country}
        if record.area:
            location["geoCode"] = record.area
        grant["beneficiaryLocation"] = [location]
    if record.theme:
        grant["classifications"] = [{"vocabulary": "grantpool-theme", "title": record.theme}]
    return grant


def contribution_grants(session: Session, prefix: str, base_url: str) -> Iterator[dict[str, Any]]:
    """Money received by each pooled fund, as grants to a regranting fund (FRG040)."""
    rows = session.execute(
        select(
            Contribution.id,
            Contribution.fund_id,
            Contribution.base_amount_minor,
            Contribution.received_at,
            Fund.name.label("fund_name"),
            Fund.base_currency,
            Donor.id.label("donor_id"),
            Donor.name.label("donor_name"),
            Donor.org_id,
            Donor.donor_type,
        )
        .join(Fund, Fund.id == Contribution.fund_id)
        .join(Donor, Donor.id == Contribution.donor_id)
        .order_by(Contribution.id)
        .execution_options(yield_per=500)
    )
    for row in rows:
        name = _donor_name(row.donor_type, row.donor_name)
        yield {
            "id": f"{prefix}-C{row.id}",
            "title": f"Contribution to {row.fund_name}",
            "description": f"{name} contributes to {row.fund_name}, a pooled fund that "
            "regrants to local organisations.",
            "currency": row.base_currency,
            "amountAwarded": _amount(row.base_amount_minor, row.base_currency),
            "awardDate": row.received_at.date().isoformat(),
            "recipientOrganization": [{"id": fund_id(prefix, row.fund_id), "name": row.fund_name}],
            "fundingOrganization": [
                {
                    "id": row.org_id
                    if row.donor_type != "individual" and row.org_id
                    else f"{prefix}-DONOR-{row.donor_id}",
                    "name": name,
                }
            ],
            "regrantType": POOLED_FUND_REGRANT_TYPE,
            "dataSource": base_url + "/open-data/360giving.json",
        }


def giving_json(
    session: Session,
    records: Iterable[PublicRecord],
    prefix: str,
    base_url: str,
    now: dt.datetime,
) -> Iterator[str]:
    head = {
        "version": "1.4",
        "title": "grantpool: grants to local partners",
        "issued": now.isoformat(timespec="seconds"),
        "license": LICENSE,
        "identifier": prefix,
        "accessURL": base_url + "/published/",
        "downloadURL": base_url + "/open-data/360giving.json",
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    yield opening + ', "grants": [\n'
    first = True
    for grant in contribution_grants(session, prefix, base_url):
        yield ("" if first else ",\n") + json.dumps(grant, ensure_ascii=False)
        first = False
    for record in records:
        yield ("" if first else ",\n") + json.dumps(
            giving_grant(prefix, record, base_url), ensure_ascii=False
        )
        first = False
    yield "\n]}\n"


CSV_COLUMNS = [
    ("Identifier", lambda g: g["id"]),
    ("Title", lambda g: g["title"]),
    ("Description", lambda g: g["description"]),
    ("Currency", lambda g: g["currency"]),
    ("Amount Awarded", lambda g: g["amountAwarded"]),
    ("Amount Disbursed", lambda g: g.get("amountDisbursed", "")),
    ("Award Date", lambda g: g["awardDate"]),
    ("Planned Dates:Start Date", lambda g: (g.get("plannedDates") or [{}])[0].get("startDate", "")),
    ("Planned Dates:End Date", lambda g: (g.get("plannedDates") or [{}])[0].get("endDate", "")),
    ("Recipient Org:Identifier", lambda g: g["recipientOrganization"][0]["id"]),
    ("Recipient Org:Name", lambda g: g["recipientOrganization"][0]["name"]),
    ("Funding Org:Identifier", lambda g: g["fundingOrganization"][0]["id"]),
    ("Funding Org:Name", lambda g: g["fundingOrganization"][0]["name"]),
    ("Beneficiary Location:Name", lambda g: _location(g, "name")),
    ("Beneficiary Location:Country Code", lambda g: _location(g, "countryCode")),
    ("Beneficiary Location:Geographic Code", lambda g: _location(g, "geoCode")),
    ("Regrant Type", lambda g: g.get("regrantType", "")),
    ("URL", lambda g: g.get("url", "")),
    ("Data Source", lambda g: g.get("dataSource", "")),
]


def _location(grant: dict[str, Any], key: str) -> str:
    locations = grant.get("beneficiaryLocation") or [{}]
    return str(locations[0].get(key, ""))


def giving_csv(
    session: Session, records: Iterable[PublicRecord], prefix: str, base_url: str
) -> Iterator[str]:
    """The same grants flattened, with 360Giving's column titles."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line([title for title, _ in CSV_COLUMNS])
    grants: Iterator[dict[str, Any]] = contribution_grants(session, prefix, base_url)
    for grant in grants:
        yield line([get(grant) for _, get in CSV_COLUMNS])
    for record in records:
        grant = giving_grant(prefix, record, base_url)
        yield line([get(grant) for _, get in CSV_COLUMNS])


# IATI -----------------------------------------------------------------------------------

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _narrative(parent: etree._Element, text: str, lang: str | None = None) -> None:
    narrative = etree.SubElement(parent, "narrative")
    if lang:
        narrative.set(XML_LANG, lang)
    narrative.text = text


def _org(
    parent: etree._Element, tag: str, name: str, ref: str | None, org_type: str, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if ref:
        element.set("ref", ref)
    element.set("type", org_type)
    for key, value in attrs.items():
        element.set(key.replace("_", "-"), value)
    _narrative(element, name)
    return element


def iati_activity(
    record: PublicRecord, org_ref: str, prefix: str, now: dt.datetime
) -> etree._Element:
    activity = etree.Element("iati-activity")
    activity.set("last-updated-datetime", now.isoformat(timespec="seconds"))
    activity.set(XML_LANG, "en")
    activity.set("default-currency", record.currency)
    if record.humanitarian:
        activity.set("humanitarian", "1")
    etree.SubElement(activity, "iati-identifier").text = f"{org_ref}-{record.reference}"
    _org(activity, "reporting-org", record.fund_name, org_ref, "90")
    title = etree.SubElement(activity, "title")
    _narrative(title, f"{record.fund_name}: grant {record.reference}")
    description = etree.SubElement(activity, "description", type="1")
    _narrative(description, record.description_in("en") or record.credit_line())
    for donor in record.donors:
        _org(
            activity,
            "participating-org",
            _donor_name(donor.donor_type, donor.name),
            donor.org_id if donor.donor_type != "individual" else None,
            DONOR_IATI_TYPE.get(donor.donor_type, "90"),
            role="1",
        )
    fund_ref = org_ref
    _org(activity, "participating-org", record.fund_name, fund_ref, "90", role="2")
    _org(activity, "participating-org", record.fund_name, fund_ref, "90", role="3")
    partner_ref = record.partner_org_id if record.named else None
    # Exclusion rule: an anonymised partner has no name and no reference, only the
    # anonymised description the partner agreed to.
    _org(
        activity,
        "participating-org",
        record.partner,
        partner_ref,
        record.partner_iati_type,
        role="4",
    )
    etree.SubElement(activity, "activity-status", code=GRANT_ACTIVITY_STATUS.get(record.state, "2"))
    etree.SubElement(activity, "activity-date", type="1", iso_date=record.start_on.isoformat())
    etree.SubElement(activity, "activity-date", type="3", iso_date=record.end_on.isoformat())
    if record.country:
        etree.SubElement(activity, "recipient-country", code=record.country, percentage="100")
    _transaction(
        activity,
        record,
        "2",
        record.awarded_at.date(),
        record.amount_awarded_minor,
        fund_ref,
        partner_ref,
    )
    for payment in record.payments:
        _transaction(
            activity, record, "3", payment.paid_on, payment.amount_minor, fund_ref, partner_ref
        )
    # lxml cannot take a hyphen in keyword arguments: rename after building.
    for element in activity.iter("activity-date"):
        element.set("iso-date", element.attrib.pop("iso_date"))
    return activity


def _transaction(
    activity: etree._Element,
    record: PublicRecord,
    code: str,
    day: dt.date,
    minor: int,
    fund_ref: str,
    partner_ref: str | None,
) -> None:
    transaction = etree.SubElement(activity, "transaction")
    etree.SubElement(transaction, "transaction-type", code=code)
    date = etree.SubElement(transaction, "transaction-date")
    date.set("iso-date", day.isoformat())
    value = etree.SubElement(transaction, "value", currency=record.currency)
    value.set("value-date", day.isoformat())
    value.text = _decimal_text(minor, record.currency)
    provider = etree.SubElement(transaction, "provider-org", ref=fund_ref)
    _narrative(provider, record.fund_name)
    receiver = etree.SubElement(transaction, "receiver-org")
    if partner_ref:
        receiver.set("ref", partner_ref)
    _narrative(receiver, record.partner)


def iati_xml(
    records: Iterable[PublicRecord], org_ref: str, prefix: str, now: dt.datetime
) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    generated = now.isoformat(timespec="seconds")
    yield f'<iati-activities version="2.03" generated-datetime="{generated}">\n'
    for record in records:
        yield etree.tostring(iati_activity(record, org_ref, prefix, now), encoding="unicode") + "\n"
    yield "</iati-activities>\n"
