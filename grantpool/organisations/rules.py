"""What an organisation is: its types, the IATI codes they map to, and identifier checks."""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple

import pycountry
import pyuca
from babel import Locale, UnknownLocaleError
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
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


class LocationInvalid(ValueError):
    """A country or area that is not one; `field` says which ("country" or "area")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_location(country: str | None, area: str | None) -> tuple[str, str | None]:
    """The (country, area) of a location answer, upper-cased, or LocationInvalid in the
    reader's language. The area is optional; the country is not (see country_of_area for
    a list that names both at once)."""
    country = (country or "").strip().upper()
    area = (area or "").strip().upper() or None
    if not is_valid_country(country):
        raise LocationInvalid("country", _("Choose a country."))
    if area and not is_valid_area(country, area):
        raise LocationInvalid("area", _("Choose an area in the selected country."))
    return country, area


def country_of_area(area: str | None) -> str:
    """The country an ISO 3166-2 area lies in ("KE" for "KE-30"), "" for no such area: an
    area chosen from a list grouped by country names its country too."""
    subdivision = _subdivision((area or "").strip())
    return str(subdivision.country_code) if subdivision is not None else ""


_AREA_IN_TEXT = re.compile(r"^\s*([A-Za-z]{2}-[A-Za-z0-9]{1,3})(?:\s|$)")


def area_code_in(text: str | None) -> str:
    """The ISO 3166-2 code a cell starts with: "KE-30 Nairobi City" (as the spreadsheet
    template's drop-down writes it) or "ke-30" give "KE-30"; anything else is returned
    as typed, for the check to refuse."""
    found = _AREA_IN_TEXT.match(text or "")
    return found.group(1).upper() if found else (text or "").strip()


def _language(locale: object | None) -> str:
    """The locale asked for, else the reader's (flask_babel), else English."""
    if locale is None:
        locale = get_locale()
    return str(locale) if locale else "en"


@functools.cache
def _collator() -> pyuca.Collator:
    # The Unicode Collation Algorithm's default table: accents and case come after the
    # letters (Égypte beside Egypt, not after Zambie), and every script sorts within itself.
    return pyuca.Collator()


def collation_key(text: str) -> tuple[int, ...]:
    """A key that sorts names as a reader expects, in any language."""
    return tuple(_collator().sort_key(unicodedata.normalize("NFC", text)))


@functools.lru_cache(maxsize=32)
def _country_names(language: str) -> dict[str, str]:
    """ISO 3166-1 countries by code, named as CLDR names them in `language` (English, then
    ISO's own name, where CLDR has none)."""
    territories: Mapping[str, str]
    try:
        territories = Locale.parse(language).territories
    except (UnknownLocaleError, ValueError):
        territories = {}
    english = Locale("en").territories
    return {
        c.alpha_2: territories.get(c.alpha_2) or english.get(c.alpha_2) or c.name
        for c in pycountry.countries
    }


def country_name(code: str, locale: object | None = None) -> str:
    """The country's name in `locale` (default: the reader's); an unknown code as given."""
    return _country_names(_language(locale)).get((code or "").upper(), code)


def _subdivision(code: str | None) -> Any:
    return pycountry.subdivisions.get(code=code.upper()) if code else None


@functools.lru_cache(maxsize=32)
def _area_translations(language: str) -> gettext.NullTranslations:
    # pycountry ships ISO 3166-2 names translated into some languages; a language it
    # lacks (or a name it lacks in one) keeps the name ISO gives.
    return gettext.translation(
        "iso3166-2", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def area_name(code: str | None, locale: object | None = None) -> str:
    """The area's name in `locale` (default: the reader's) where pycountry translates it,
    else as ISO 3166-2 names it; an unknown code as given."""
    if not code:
        return ""
    subdivision = _subdivision(code)
    if subdivision is None:
        return code
    return _area_translations(_language(locale)).gettext(subdivision.name)


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
    name = area_name(code, locale)
    return f"{name} ({level})" if level else name


def area_parent(code: str | None) -> str | None:
    """The ISO 3166-2 area this one lies in (BF-10 for the province BF-YAT), or None for a
    first-level area."""
    subdivision = _subdivision(code)
    return getattr(subdivision, "parent_code", None) if subdivision else None


class CountryChoice(NamedTuple):
    """A country as a select offers it: (code, name), with its areas at hand."""

    code: str
    name: str

    def areas(self) -> tuple[tuple[str, str], ...]:
        return area_choices(self.code)


@functools.lru_cache(maxsize=32)
def _country_choices(language: str) -> tuple[CountryChoice, ...]:
    names = _country_names(language)
    return tuple(
        CountryChoice(code, name)
        for code, name in sorted(names.items(), key=lambda item: collation_key(item[1]))
    )


def country_choices(
    locale: object | None = None, only: Iterable[str] | None = None
) -> tuple[CountryChoice, ...]:
    """(code, name) of every country, named and sorted in `locale` (default: the
    reader's); `only` keeps those codes (a call open to a few countries)."""
    choices = _country_choices(_language(locale))
    if only is None:
        return choices
    wanted = {str(code).upper() for code in only}
    return tuple(c for c in choices if c.code in wanted)


@functools.lru_cache(maxsize=1024)
def _areas_of(country: str, language: str) -> tuple[tuple[str, str], ...]:
    subdivisions = pycountry.subdivisions.get(country_code=(country or "").upper()) or []
    named = [(s.code, area_name(s.code, language)) for s in subdivisions]
    return tuple(sorted(named, key=lambda item: collation_key(item[1])))


def area_choices(country: str, locale: object | None = None) -> tuple[tuple[str, str], ...]:
    """(code, "name (level)") of the country's ISO 3166-2 areas, by name, in `locale`
    (default: the reader's)."""
    language = _language(locale)
    return tuple((code, area_label(code, language)) for code, _name in _areas_of(country, language))


def place_area_choices(country: str | None) -> list[tuple[str, str]]:
    """A form's area select: empty, then the country's areas (none before a country is
    chosen)."""
    return [("", ""), *(area_choices(country) if country and is_valid_country(country) else ())]
