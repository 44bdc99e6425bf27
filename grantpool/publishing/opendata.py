"""What the open-data writers share: identifiers, amounts and code lists.

360Giving 1.4 (JSON package, and the same grants flattened to CSV) lives in `giving`,
IATI Activity Standard 2.03 (XML) in `iati`. Each generator reads `PublicRecord`s batch
by batch, so memory stays flat whatever the number of grants. Anonymised partners appear
without name, identifier or reference: only the anonymised description (the IATI
exclusion rule).
"""

from __future__ import annotations

from typing import Any

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
