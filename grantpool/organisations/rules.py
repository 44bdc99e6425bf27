"""What an organisation is: its types, the IATI codes they map to, and identifier checks."""

from __future__ import annotations

import functools
import re
from enum import StrEnum

import pycountry
from flask_babel import lazy_gettext as _l


class OrganisationType(StrEnum):
    COMMUNITY_BASED = "community_based"
    INFORMAL_GROUP = "informal_group"
    LOCAL_NGO = "local_ngo"
    NATIONAL_NGO = "national_ngo"
    REGIONAL_NGO = "regional_ngo"
    INTERNATIONAL_NGO = "international_ngo"
    LOCAL_GOVERNMENT = "local_government"
    NATIONAL_GOVERNMENT = "national_government"
    OTHER_PUBLIC = "other_public"
    NATIONAL_RED_CROSS = "national_red_cross"
    FOUNDATION = "foundation"
    PRIVATE_SECTOR = "private_sector"
    ACADEMIC = "academic"
    MULTILATERAL = "multilateral"
    OTHER = "other"


ORGANISATION_TYPE_LABELS = {
    OrganisationType.COMMUNITY_BASED: _l("Community-based organisation"),
    OrganisationType.INFORMAL_GROUP: _l("Informal group or collective"),
    OrganisationType.LOCAL_NGO: _l("Local NGO"),
    OrganisationType.NATIONAL_NGO: _l("National NGO"),
    OrganisationType.REGIONAL_NGO: _l("Regional NGO"),
    OrganisationType.INTERNATIONAL_NGO: _l("International NGO"),
    OrganisationType.LOCAL_GOVERNMENT: _l("Local or regional government"),
    OrganisationType.NATIONAL_GOVERNMENT: _l("National government"),
    OrganisationType.OTHER_PUBLIC: _l("Other public body"),
    OrganisationType.NATIONAL_RED_CROSS: _l("National Red Cross or Red Crescent society"),
    OrganisationType.FOUNDATION: _l("Foundation"),
    OrganisationType.PRIVATE_SECTOR: _l("Private sector"),
    OrganisationType.ACADEMIC: _l("Academic or research institution"),
    OrganisationType.MULTILATERAL: _l("Multilateral organisation"),
    OrganisationType.OTHER: _l("Other"),
}

# IATI OrganisationType codelist (2.03). Community-based and informal groups have no code
# of their own; IATI's guidance files them as partner-country-based NGOs (24).
IATI_ORGANISATION_TYPE = {
    OrganisationType.COMMUNITY_BASED: "24",
    OrganisationType.INFORMAL_GROUP: "24",
    OrganisationType.LOCAL_NGO: "24",
    OrganisationType.NATIONAL_NGO: "22",
    OrganisationType.REGIONAL_NGO: "23",
    OrganisationType.INTERNATIONAL_NGO: "21",
    OrganisationType.LOCAL_GOVERNMENT: "11",
    OrganisationType.NATIONAL_GOVERNMENT: "10",
    OrganisationType.OTHER_PUBLIC: "15",
    OrganisationType.NATIONAL_RED_CROSS: "22",
    OrganisationType.FOUNDATION: "60",
    OrganisationType.PRIVATE_SECTOR: "70",
    OrganisationType.ACADEMIC: "80",
    OrganisationType.MULTILATERAL: "40",
    OrganisationType.OTHER: "90",
}

# The IASC localisation marker counts these as local and national actors.
LOCAL_AND_NATIONAL = frozenset(
    {
        OrganisationType.COMMUNITY_BASED,
        OrganisationType.INFORMAL_GROUP,
        OrganisationType.LOCAL_NGO,
        OrganisationType.NATIONAL_NGO,
        OrganisationType.LOCAL_GOVERNMENT,
        OrganisationType.NATIONAL_GOVERNMENT,
        OrganisationType.NATIONAL_RED_CROSS,
    }
)


class Leadership(StrEnum):
    WOMEN = "women_led"
    YOUTH = "youth_led"
    REFUGEE_MIGRANT = "refugee_migrant_led"
    DISABILITY = "disability_led"


LEADERSHIP_LABELS = {
    Leadership.WOMEN: _l("Women-led"),
    Leadership.YOUTH: _l("Youth-led"),
    Leadership.REFUGEE_MIGRANT: _l("Refugee- or migrant-led"),
    Leadership.DISABILITY: _l("Led by people with disabilities"),
}

# org-id.guide identifiers: a list code (e.g. GB-CHC, KE-NGB) then the local identifier.
_ORG_ID = re.compile(r"^[A-Z]{2,3}(-[A-Z0-9]{2,10})+-[A-Za-z0-9./_-]{1,60}$")


def is_valid_org_id(value: str) -> bool:
    return bool(_ORG_ID.fullmatch(value or ""))


def is_valid_country(code: str) -> bool:
    return bool(code) and pycountry.countries.get(alpha_2=code.upper()) is not None


def is_valid_area(country: str, area: str) -> bool:
    """An ISO 3166-2 subdivision of that country, e.g. KE-47 for Nairobi."""
    if not area:
        return True
    subdivision = pycountry.subdivisions.get(code=area.upper())
    return subdivision is not None and subdivision.country_code == country.upper()


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=(code or "").upper())
    return country.name if country else code


def area_name(code: str | None) -> str:
    if not code:
        return ""
    subdivision = pycountry.subdivisions.get(code=code.upper())
    return subdivision.name if subdivision else code


@functools.cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, name) by name; built once per process (pycountry's data never changes)."""
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1]))


@functools.lru_cache(maxsize=256)
def area_choices(country: str) -> tuple[tuple[str, str], ...]:
    subdivisions = pycountry.subdivisions.get(country_code=(country or "").upper()) or []
    return tuple(sorted(((s.code, s.name) for s in subdivisions), key=lambda s: s[1]))
