"""What a person asks the fund services to do, as typed values.

The HTML forms (forms.py) and the API schemas (schemas.py) read what was typed or sent
with the parsers below; the services take the resulting frozen dataclasses and check only
the rules of the domain (a name no other fund or donor has, a base currency that does not
change, funds the person manages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _

from ..organisations.rules import is_valid_country
from ..platform.cells import clean_name, typed_text
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


def _name(value: object, missing: str, errors: dict[str, str]) -> str:
    clean, problem = clean_name(value if isinstance(value, str) else None)
    if not clean:
        errors["name"] = missing
    elif problem:
        errors["name"] = problem
    return clean


def _currency(value: object, field: str, errors: dict[str, str]) -> str:
    code = typed_text(value).upper()
    if not is_currency(code):
        errors[field] = _("Enter a currency code such as USD, EUR or KES.")
    return code


def fund_details(
    *, name: object, base_currency: object, timezone: object, description: object = None
) -> FundDetails:
    """A fund as typed or sent, or ValidationFailed naming every field that cannot be read."""
    errors: dict[str, str] = {}
    clean = _name(name, _("Enter the fund's name."), errors)
    currency = _currency(base_currency, "base_currency", errors)
    zone = typed_text(timezone)
    if not is_valid_timezone(zone):
        errors["timezone"] = _("Choose a time zone such as Africa/Nairobi.")
    if errors:
        raise ValidationFailed(errors)
    return FundDetails(
        name=clean,
        base_currency=currency,
        timezone=zone,
        description=typed_text(description) or None,
    )


def _fund_ids(value: object, errors: dict[str, str]) -> frozenset[int] | None:
    if value is None:
        return None
    values: Iterable[object] = value if isinstance(value, list | tuple | set | frozenset) else ()
    try:
        return frozenset(int(str(v)) for v in values if str(v).strip())
    except (TypeError, ValueError):
        errors["fund_ids"] = _("Choose funds from the list.")
        return None


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
    clean = _name(name, _("Enter the donor's name."), errors)
    kind = donor_type if isinstance(donor_type, str) else ""
    if kind not in DONOR_TYPES:
        errors["donor_type"] = _("Choose the kind of donor.")
    country_code = typed_text(country).upper() or None
    if country_code and not is_valid_country(country_code):
        errors["country"] = _("Choose a country.")
    code = _currency(currency, "currency", errors)
    chosen = _fund_ids(fund_ids, errors)
    if errors:
        raise ValidationFailed(errors)
    return DonorDetails(
        name=clean,
        donor_type=kind,
        currency=code,
        country=country_code,
        org_id=typed_text(org_id) or None,
        fund_ids=chosen,
    )
