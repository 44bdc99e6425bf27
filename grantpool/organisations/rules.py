"""What an organisation is: its types, the IATI codes they map to, and identifier checks."""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Any

import pycountry
from flask_babel import force_locale
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
    """An ISO 3166-2 subdivision of that country, e.g. KE-30 for Nairobi City County."""
    if not area:
        return True
    subdivision = pycountry.subdivisions.get(code=area.upper())
    return subdivision is not None and subdivision.country_code == country.upper()


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=(code or "").upper())
    return country.name if country else code


def _subdivision(code: str | None) -> Any:
    return pycountry.subdivisions.get(code=code.upper()) if code else None


def area_name(code: str | None) -> str:
    if not code:
        return ""
    subdivision = _subdivision(code)
    return subdivision.name if subdivision else code


# ISO 3166-2 names each subdivision's administrative level in English (pycountry's `type`).
# The levels of the countries partners work in most are translated; any other stays in
# English rather than being guessed.
AREA_LEVEL_LABELS = {
    "Province": _l("Province"),
    "District": _l("District"),
    "Municipality": _l("Municipality"),
    "Region": _l("Region"),
    "State": _l("State"),
    "Department": _l("Department"),
    "County": _l("County"),
    "Governorate": _l("Governorate"),
    "Prefecture": _l("Prefecture"),
    "Autonomous district": _l("Autonomous district"),
    "Geographical region": _l("Geographical region"),
    "Capital district": _l("Capital district"),
    "City": _l("City"),
    "Administrative region": _l("Administrative region"),
    "Country": _l("Country"),
}


def area_level(code: str | None, locale: str | None = None) -> str:
    """The administrative level of an ISO 3166-2 area ("County" for KE-47), in `locale`
    (default: the current one); "" for an unknown code."""
    subdivision = _subdivision(code)
    if subdivision is None:
        return ""
    label = AREA_LEVEL_LABELS.get(subdivision.type)
    if label is None:
        return str(subdivision.type)
    if locale is None:
        return str(label)
    with force_locale(locale):
        return str(label)


def area_label(code: str | None, locale: str | None = None) -> str:
    """The area's name with its level, for lists and tables: "West Pokot (County)"."""
    level = area_level(code, locale)
    name = area_name(code)
    return f"{name} ({level})" if level else name


def area_parent(code: str | None) -> str | None:
    """The ISO 3166-2 area this one lies in (BF-10 for the province BF-YAT), or None for a
    first-level area."""
    subdivision = _subdivision(code)
    return getattr(subdivision, "parent_code", None) if subdivision else None


@functools.cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """(code, name) by name; built once per process (pycountry's data never changes)."""
    return tuple(sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1]))


@functools.lru_cache(maxsize=256)
def _areas_of(country: str) -> tuple[tuple[str, str], ...]:
    subdivisions = pycountry.subdivisions.get(country_code=(country or "").upper()) or []
    return tuple(sorted(((s.code, s.name) for s in subdivisions), key=lambda s: s[1]))


def area_choices(country: str, locale: str | None = None) -> tuple[tuple[str, str], ...]:
    """(code, "name (level)") of the country's ISO 3166-2 areas, by name."""
    return tuple((code, area_label(code, locale)) for code, _name in _areas_of(country))
