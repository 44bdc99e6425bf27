"""360Giving Data Standard 1.4: the JSON package and the same grants flattened to CSV,
written as streams of text chunks.

The CSV's column titles are the standard's own (the `title`s of the grant schema, joined
with ":" as `flattentool create-template --use-titles` writes them), so `flattentool
unflatten --convert-titles` turns the CSV back into the grants of the JSON package.

Everything is written in English, whatever language the visitor reads: titles and
descriptions are built from the English credited name and call title, and the partner's
published words are used as they were written.

Where the work is (`beneficiaryLocation`, `locationScope`) follows the precision the
partner chose:

- area: the ISO 3166-2 code as `geoCode`, its ISO name, and the scope of its level
  (GLS040 for a first-level area, GLS050 for an area inside another);
- country: the ISO 3166-1 `countryCode` and the country's name, scope GLS030;
- hidden: no location at all, scope GLS099 (undefined).

`geoCodeType` is never written: 360Giving's geoCodeType codelist only lists UK ONS
geographies (wards, local authorities…) and has no code for ISO 3166-2 subdivisions, so
any value would be wrong. The ISO 3166-2 code says what it is by its form (`KE-47`) and
the country is given in `countryCode`.

The funder of every grant to a partner is the fund manager: `GIVING_FUNDER_ORG_ID` (its
org-id.guide identifier) when set, else a 360Giving identifier built from the prefix,
`<prefix>-FUND-<fund id>`. Money given to a pooled fund is published as a grant to that
same identifier (regrant type FRG040), so the chain from donor to partner links up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..attribution import rules as attribution_rules
from ..funds.models import Donor, Fund
from ..ledger.models import Contribution
from ..organisations.rules import area_level, area_name, area_parent, country_name
from ..platform.cells import spreadsheet_cell
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

# The language of the published file: 360Giving tools and GrantNav read English.
FILE_LANGUAGE = "en"

# locationScope codelist (locationScope.csv).
SCOPE_NATIONAL = "GLS030"
SCOPE_SUBNATIONAL = "GLS040"
SCOPE_LOCAL_AUTHORITY = "GLS050"
SCOPE_UNDEFINED = "GLS099"

# IATI OrganisationType names (2.03), written as the recipient's organisationType: the
# record carries the IATI code, and 360Giving leaves organisationType free text.
IATI_ORGANISATION_TYPE_NAMES = {
    "10": "Government",
    "11": "Local Government",
    "15": "Other Public Sector",
    "21": "International NGO",
    "22": "National NGO",
    "23": "Regional NGO",
    "24": "Partner Country based NGO",
    "30": "Public Private Partnership",
    "40": "Multilateral",
    "60": "Foundation",
    "70": "Private Sector",
    "80": "Academic, Training and Research",
    "90": "Other",
}

THEME_VOCABULARY = "grantpool-theme"
# The Data Quality Tool finds titles longer than this less useful (TitleLength).
TITLE_LIMIT = 140


def configured_funder_org_id() -> str | None:
    """GIVING_FUNDER_ORG_ID, when the app sets one."""
    if not has_app_context():
        return None
    value = str(current_app.config.get("GIVING_FUNDER_ORG_ID") or "").strip()
    return value or None


def funder_id(prefix: str, fund: int, funder_org_id: str | None) -> str:
    """The fund manager's org-id, else the documented fallback `<prefix>-FUND-<fund>`."""
    return funder_org_id or fund_id(prefix, fund)


# 360Giving ------------------------------------------------------------------------------


def location_of(record: PublicRecord) -> tuple[list[dict[str, Any]] | None, str]:
    """The beneficiary location and the location scope, at the precision in force."""
    if record.precision == attribution_rules.LocationPrecision.AREA.value and record.area:
        location: dict[str, Any] = {
            "name": area_name(record.area),
            "countryCode": record.country,
            "geoCode": record.area,
        }
        level = area_level(record.area, FILE_LANGUAGE)
        if level and record.country:
            with force_locale(FILE_LANGUAGE):
                location["description"] = _(
                    "%(level)s in %(country)s", level=level, country=country_name(record.country)
                )
        scope = SCOPE_LOCAL_AUTHORITY if area_parent(record.area) else SCOPE_SUBNATIONAL
        return [location], scope
    if record.precision != attribution_rules.LocationPrecision.HIDDEN.value and record.country:
        return [{"name": country_name(record.country), "countryCode": record.country}], (
            SCOPE_NATIONAL
        )
    return None, SCOPE_UNDEFINED


def _programme(record: PublicRecord) -> str:
    return record.call_title_in(FILE_LANGUAGE) or record.fund_name


def _shortened(text: str, limit: int = TITLE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def grant_title(record: PublicRecord) -> str:
    """What the work is and who did it: the call, the credited partner and the place."""
    partner = record.partner_in(FILE_LANGUAGE)
    with force_locale(FILE_LANGUAGE):
        # An anonymised description already says where ("a youth group in Kenya").
        if record.named and record.place:
            title = _(
                "%(programme)s: %(partner)s in %(place)s",
                programme=_programme(record),
                partner=partner,
                place=record.place,
            )
        else:
            title = _("%(programme)s: %(partner)s", programme=_programme(record), partner=partner)
    return _shortened(title)


def grant_description(record: PublicRecord) -> str:
    """The partner's published words, else a sentence built from the record."""
    words = record.description_in(FILE_LANGUAGE)
    if words:
        return words
    donors = list(dict.fromkeys(_donor_name(d.donor_type, d.name) for d in record.donors))
    with force_locale(FILE_LANGUAGE):
        return attribution_rules.credit_line(
            record.partner_in(FILE_LANGUAGE), donors, record.fund_name
        )


def giving_grant(
    prefix: str, record: PublicRecord, base_url: str, funder_org_id: str | None = None
) -> dict[str, Any]:
    recipient: dict[str, Any] = {
        "id": recipient_id(prefix, record),
        "name": record.partner_in(FILE_LANGUAGE),
    }
    organisation_type = IATI_ORGANISATION_TYPE_NAMES.get(record.partner_iati_type)
    if organisation_type:
        recipient["organisationType"] = organisation_type
    grant: dict[str, Any] = {
        "id": grant_id(prefix, record),
        "title": grant_title(record),
        "description": grant_description(record),
        "currency": record.currency,
        "amountAwarded": _amount(record.amount_awarded_minor, record.currency),
        "amountDisbursed": _amount(record.amount_received_minor, record.currency),
        "awardDate": record.awarded_at.date().isoformat(),
        "url": f"{base_url}/published/{record.grant_id}",
        "plannedDates": [
            {"startDate": record.start_on.isoformat(), "endDate": record.end_on.isoformat()}
        ],
        "recipientOrganization": [recipient],
        "fundingOrganization": [
            {"id": funder_id(prefix, record.fund_id, funder_org_id), "name": record.fund_name}
        ],
        "grantProgramme": [{"title": _programme(record)}],
        "dataSource": base_url + "/open-data/360giving.json",
    }
    if record.changed_at is not None:
        grant["dateModified"] = record.changed_at.astimezone(dt.UTC).isoformat(timespec="seconds")
    locations, scope = location_of(record)
    if locations:
        grant["beneficiaryLocation"] = locations
    grant["locationScope"] = scope
    if record.theme:
        grant["classifications"] = [{"vocabulary": THEME_VOCABULARY, "title": record.theme}]
    return grant


def contribution_grants(
    session: Session, prefix: str, base_url: str, funder_org_id: str | None = None
) -> Iterator[dict[str, Any]]:
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
        with force_locale(FILE_LANGUAGE):
            title = _("Contribution to %(fund)s", fund=row.fund_name)
            description = _(
                "%(donor)s contributes to %(fund)s, a pooled fund that regrants to local "
                "organisations.",
                donor=name,
                fund=row.fund_name,
            )
        yield {
            "id": f"{prefix}-C{row.id}",
            "title": title,
            "description": description,
            "currency": row.base_currency,
            "amountAwarded": _amount(row.base_amount_minor, row.base_currency),
            "awardDate": row.received_at.date().isoformat(),
            "recipientOrganization": [
                {"id": funder_id(prefix, row.fund_id, funder_org_id), "name": row.fund_name}
            ],
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


def _all_grants(
    session: Session,
    records: Iterable[PublicRecord],
    prefix: str,
    base_url: str,
    funder_org_id: str | None,
) -> Iterator[dict[str, Any]]:
    funder_org_id = funder_org_id or configured_funder_org_id()
    yield from contribution_grants(session, prefix, base_url, funder_org_id)
    for record in records:
        yield giving_grant(prefix, record, base_url, funder_org_id)


def giving_json(
    session: Session,
    records: Iterable[PublicRecord],
    prefix: str,
    base_url: str,
    now: dt.datetime,
    *,
    funder_org_id: str | None = None,
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
    for grant in _all_grants(session, records, prefix, base_url, funder_org_id):
        yield ("" if first else ",\n") + json.dumps(grant, ensure_ascii=False)
        first = False
    yield "\n]}\n"


# Each column: the field's path in a grant (arrays at their first item), then its title,
# the schema's titles joined with ":" (tests/publishing/test_giving.py derives them from
# the 360Giving schema and checks these against it).
CSV_COLUMNS: list[tuple[tuple[str | int, ...], str]] = [
    (("id",), "Identifier"),
    (("title",), "Title"),
    (("description",), "Description"),
    (("currency",), "Currency"),
    (("amountAwarded",), "Amount Awarded"),
    (("amountDisbursed",), "Amount Disbursed"),
    (("awardDate",), "Award Date"),
    (("url",), "URL"),
    (("plannedDates", 0, "startDate"), "Planned Dates:Start Date"),
    (("plannedDates", 0, "endDate"), "Planned Dates:End Date"),
    (("recipientOrganization", 0, "id"), "Recipient Org:Identifier"),
    (("recipientOrganization", 0, "name"), "Recipient Org:Name"),
    (("recipientOrganization", 0, "organisationType"), "Recipient Org:Organisation Type"),
    (("beneficiaryLocation", 0, "name"), "Beneficiary Location:Name"),
    (("beneficiaryLocation", 0, "countryCode"), "Beneficiary Location:Country Code"),
    (("beneficiaryLocation", 0, "description"), "Beneficiary Location:Description"),
    (("beneficiaryLocation", 0, "geoCode"), "Beneficiary Location:Geographic Code"),
    (("beneficiaryLocation", 0, "geoCodeType"), "Beneficiary Location:Geographic Code Type"),
    (("locationScope",), "Location Scope"),
    (("fundingOrganization", 0, "id"), "Funding Org:Identifier"),
    (("fundingOrganization", 0, "name"), "Funding Org:Name"),
    (("grantProgramme", 0, "title"), "Grant Programme:Title"),
    (("classifications", 0, "vocabulary"), "Classifications:Vocabulary"),
    (("classifications", 0, "title"), "Classifications:Title"),
    (("regrantType",), "For Regrant Type"),
    (("dateModified",), "Last Modified"),
    (("dataSource",), "Data Source"),
]


def _at(grant: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    value: Any = grant
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return ""
    return value


def giving_csv(
    session: Session,
    records: Iterable[PublicRecord],
    prefix: str,
    base_url: str,
    *,
    funder_org_id: str | None = None,
) -> Iterator[str]:
    """The same grants flattened, with 360Giving's column titles."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        # Names and words typed by partners must not run as formulas when opened.
        writer.writerow([spreadsheet_cell(v) for v in values])
        return buffer.getvalue()

    yield line([title for _path, title in CSV_COLUMNS])
    for grant in _all_grants(session, records, prefix, base_url, funder_org_id):
        yield line([_at(grant, path) for path, _title in CSV_COLUMNS])
