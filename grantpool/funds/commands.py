"""What a person asks the fund services to do, as typed values.

The HTML forms (forms.py) and the API schemas (schemas.py) read what was typed or sent
with the parsers below; the services take the resulting frozen dataclasses and check only
the rules of the domain (a name no other fund or donor has, a base currency that does not
change, funds the person manages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import gettext as _

from ..organisations.rules import is_valid_country
from ..platform.cells import clean_name
from ..platform.errors import ValidationFailed
from ..platform.money import is_currency
from ..platform.time import is_valid_timezone

DONOR_TYPES = (
    "government",
    "multilateral",
    "foundation",
    "private_sector",
    "individual",
    "pooled_fund",
    "other",
)


@dataclass(frozen=True)
class FundDetails:
    name: str
    base_currency: str
    timezone: str
    description: str | None = None


@dataclass(frozen=True)
class DonorDetails:
    """`fund_ids`: the funds the donor gives to, as chosen; None when no choice was
    offered or sent (the service then picks the actor's only fund, or keeps the links)."""

    name: str
    donor_type: str
    currency: str
    country: str | None = None
    org_id: str | None = None
    fund_ids: frozenset[int] | None = None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def fund_details(
    *, name: object, base_currency: object, timezone: object, description: object = None
) -> FundDetails:
    """A fund as typed or sent, or ValidationFailed naming every field that cannot be read."""
    errors: dict[str, str] = {}
    clean, problem = clean_name(name if isinstance(name, str) else None)
    if not clean:
        errors["name"] = _("Enter the fund's name.")
    elif problem:
        errors["name"] = problem
    currency = _text(base_currency).upper()
    if not is_currency(currency):
        errors["base_currency"] = _("Enter a currency code such as USD, EUR or KES.")
    zone = _text(timezone)
    if not is_valid_timezone(zone):
        errors["timezone"] = _("Choose a time zone such as Africa/Nairobi.")
    if errors:
        raise ValidationFailed(errors)
    return FundDetails(
        name=clean,
        base_currency=currency,
        timezone=zone,
        description=_text(description) or None,
    )


def _fund_ids(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    values: Iterable[object] = value if isinstance(value, list | tuple | set | frozenset) else ()
    try:
        return frozenset(int(str(v)) for v in values if str(v).strip())
    except (TypeError, ValueError):
        raise ValidationFailed({"fund_ids": _("Choose funds from the list.")}) from None


def donor_details(
    *,
    name: object,
    donor_type: object,
    currency: object,
    country: object = None,
    org_id: object = None,
    fund_ids: object = None,
) -> DonorDetails:
    """A donor as typed or sent, or ValidationFailed naming every field that cannot be read."""
    errors: dict[str, str] = {}
    clean, problem = clean_name(name if isinstance(name, str) else None)
    if not clean:
        errors["name"] = _("Enter the donor's name.")
    elif problem:
        errors["name"] = problem
    kind = donor_type if isinstance(donor_type, str) else ""
    if kind not in DONOR_TYPES:
        errors["donor_type"] = _("Choose the kind of donor.")
    country_code = _text(country).upper() or None
    if country_code and not is_valid_country(country_code):
        errors["country"] = _("Choose a country.")
    code = _text(currency).upper()
    if not is_currency(code):
        errors["currency"] = _("Enter a currency code such as USD, EUR or KES.")
    chosen: frozenset[int] | None = None
    try:
        chosen = _fund_ids(fund_ids)
    except ValidationFailed as failure:
        errors.update({k: v[0] for k, v in failure.errors.items()})
    if errors:
        raise ValidationFailed(errors)
    return DonorDetails(
        name=clean,
        donor_type=kind,
        currency=code,
        country=country_code,
        org_id=_text(org_id) or None,
        fund_ids=chosen,
    )


def as_fund_details(value: FundDetails | Mapping[str, object]) -> FundDetails:
    """For callers that still hand over a mapping (demo seeding, test factories): read it
    with the same parser as the form and the API, so there is one path either way."""
    if isinstance(value, FundDetails):
        return value
    return fund_details(
        name=value.get("name"),
        base_currency=value.get("base_currency"),
        timezone=value.get("timezone"),
        description=value.get("description"),
    )


def as_donor_details(value: DonorDetails | Mapping[str, object]) -> DonorDetails:
    """See as_fund_details."""
    if isinstance(value, DonorDetails):
        return value
    return donor_details(
        name=value.get("name"),
        donor_type=value.get("donor_type"),
        currency=value.get("currency"),
        country=value.get("country"),
        org_id=value.get("org_id"),
        fund_ids=value.get("fund_ids"),
    )
