"""360Giving Data Standard 1.4: the JSON package and the same grants flattened to CSV,
written as streams of text chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..funds.models import Donor, Fund
from ..ledger.models import Contribution
from .opendata import (
    LICENSE,
    POOLED_FUND_REGRANT_TYPE,
    _amount,
    _donor_name,
    fund_id,
    grant_id,
    recipient_id,
)
from .queries import PublicRecord

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


