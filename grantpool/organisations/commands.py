"""What a person asks the organisation services to do, as typed values.

The HTML form (forms.py), the API schema (schemas.py) and the intake channels (the
registration page, a spreadsheet of applications) read what was typed or sent with the
parser below; the services take the resulting frozen dataclass and check only the rules
of the domain (an org-id.guide identifier no other organisation has).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from ..platform.cells import clean_name
from ..platform.errors import ValidationFailed
from ..platform.money import Money, is_currency, parse_money
from .rules import OrganisationType, is_valid_area, is_valid_country, is_valid_org_id

NAME_LENGTH = 300


@dataclass(frozen=True)
class OrganisationDetails:
    name: str
    org_type: str
    country: str
    short_name: str | None = None
    area: str | None = None
    locality: str | None = None
    registered: bool = False
    registration_number: str | None = None
    org_id: str | None = None
    women_led: bool = False
    youth_led: bool = False
    refugee_migrant_led: bool = False
    disability_led: bool = False
    annual_budget: Money | None = None
    contact_email: str | None = None
    contact_phone: str | None = None


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _annual_budget(
    typed: object, minor: object, currency: object, locale: str, errors: dict[str, str]
) -> Money | None:
    """Optional: an amount typed in a form (`typed`) or minor units from the API."""
    code = (_text(currency) or "").upper() or None
    typed_text = str(typed or "").strip()
    if not typed_text and minor is None:
        return None
    if code is None or not is_currency(code):
        errors["annual_budget_currency"] = _("Enter a currency code such as USD, EUR or KES.")
        return None
    if typed_text:
        try:
            minor = parse_money(typed_text, code, locale).amount_minor
        except ValueError:
            errors["annual_budget"] = _("Enter an amount such as 1250.50.")
            return None
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        errors["annual_budget"] = _("Enter an amount of zero or more.")
        return None
    return Money(minor, code)


def organisation_details(
    *,
    name: object,
    org_type: object,
    country: object,
    short_name: object = None,
    area: object = None,
    locality: object = None,
    registered: object = False,
    registration_number: object = None,
    org_id: object = None,
    women_led: object = False,
    youth_led: object = False,
    refugee_migrant_led: object = False,
    disability_led: object = False,
    annual_budget: object = None,
    annual_budget_minor: object = None,
    annual_budget_currency: object = None,
    contact_email: object = None,
    contact_phone: object = None,
    locale: str = "en",
) -> OrganisationDetails:
    """An organisation as typed or sent, or ValidationFailed naming every field that cannot
    be read. The annual budget comes typed (`annual_budget`, read in `locale`) or in minor
    units (`annual_budget_minor`), with its currency."""
    errors: dict[str, str] = {}
    clean, problem = clean_name(name if isinstance(name, str) else None)
    if not clean:
        errors["name"] = _("Enter the organisation's name.")
    elif problem:
        errors["name"] = problem
    elif len(clean) > NAME_LENGTH:
        errors["name"] = _("Use at most 300 characters.")
    short, problem = clean_name(short_name if isinstance(short_name, str) else None)
    if problem:
        errors["short_name"] = problem
    kind = org_type if isinstance(org_type, str) else ""
    if kind not in {t.value for t in OrganisationType}:
        errors["org_type"] = _("Choose the kind of organisation.")
    country_code = (_text(country) or "").upper()
    if not is_valid_country(country_code):
        errors["country"] = _("Choose a country.")
    area_code = (_text(area) or "").upper() or None
    if area_code and country_code and not is_valid_area(country_code, area_code):
        errors["area"] = _("Choose an area in the selected country.")
    identifier = _text(org_id)
    if identifier and not is_valid_org_id(identifier):
        errors["org_id"] = _(
            "Use an org-id.guide identifier such as KE-NGB-1234 or GB-CHC-1234567."
        )
    budget = _annual_budget(
        annual_budget, annual_budget_minor, annual_budget_currency, locale, errors
    )
    email = (_text(contact_email) or "").lower() or None
    if email and ("@" not in email or "." not in email.split("@")[-1]):
        errors["contact_email"] = _("Enter an email address like name@example.org.")
    if errors:
        raise ValidationFailed(errors)
    return OrganisationDetails(
        name=clean,
        org_type=kind,
        country=country_code,
        short_name=short or None,
        area=area_code,
        locality=_text(locality),
        registered=bool(registered),
        registration_number=_text(registration_number),
        org_id=identifier,
        women_led=bool(women_led),
        youth_led=bool(youth_led),
        refugee_migrant_led=bool(refugee_migrant_led),
        disability_led=bool(disability_led),
        annual_budget=budget,
        contact_email=email,
        contact_phone=_text(contact_phone),
    )
