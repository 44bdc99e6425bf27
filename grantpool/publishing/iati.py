"""IATI Activity Standard 2.03: one activity per published grant, written as a stream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from lxml import etree

from .opendata import DONOR_IATI_TYPE, GRANT_ACTIVITY_STATUS, _decimal_text, _donor_name
from .queries import PublicRecord

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
