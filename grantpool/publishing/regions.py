"""The UN M49 region of a country, for IATI's recipient-region (RegionVocabulary 2, "UN").

Source: UN Statistics Division, "Standard country or area codes for statistical use
(M49)", https://unstats.un.org/unsd/methodology/m49/overview/ — the geographic regions
and sub-regions (for sub-Saharan Africa and Latin America and the Caribbean, the
intermediate regions). The country lists were tabulated from the `UNregion` column of
country_converter 1.3.2 (`country_data.tsv`, GPL-3.0; not a dependency: it needs pandas)
and checked against M49, which puts Nauru in Micronesia. Kosovo (XK, not in M49) goes
with Serbia; Antarctica (AQ) belongs to no region.

A region is said where a partner hides its country, so it must not narrow the place down
to one or two countries: a sub-region with fewer than five UN member states (Northern
America, Australia and New Zealand, Melanesia, Polynesia) gives way to its region.
"""

from __future__ import annotations

# M49 code -> ISO 3166-1 alpha-2 codes of the countries and areas in it.
_SUB_REGIONS = {
    "005": "AR BO BR BV CL CO EC FK GF GS GY PE PY SR UY VE",  # South America
    "011": "BF BJ CI CV GH GM GN GW LR ML MR NE NG SH SL SN TG",  # Western Africa
    "013": "BZ CR GT HN MX NI PA SV",  # Central America
    "014": "BI DJ ER ET IO KE KM MG MU MW MZ RE RW SC SO SS TF TZ UG YT ZM ZW",  # Eastern Africa
    "015": "DZ EG EH LY MA SD TN",  # Northern Africa
    "017": "AO CD CF CG CM GA GQ ST TD",  # Middle Africa
    "018": "BW LS NA SZ ZA",  # Southern Africa
    "021": "BM CA GL PM US",  # Northern America
    "029": (  # Caribbean
        "AG AI AW BB BL BQ BS CU CW DM DO GD GP HT JM KN KY LC MF MQ MS PR SX TC TT VC VG VI"
    ),
    "030": "CN HK JP KP KR MN MO TW",  # Eastern Asia
    "034": "AF BD BT IN IR LK MV NP PK",  # Southern Asia
    "035": "BN ID KH LA MM MY PH SG TH TL VN",  # South-eastern Asia
    "039": "AD AL BA ES GI GR HR IT ME MK MT PT RS SI SM VA XK",  # Southern Europe
    "053": "AU CC CX HM NF NZ",  # Australia and New Zealand
    "054": "FJ NC PG SB VU",  # Melanesia
    "057": "FM GU KI MH MP NR PW UM",  # Micronesia
    "061": "AS CK NU PF PN TK TO TV WF WS",  # Polynesia
    "143": "KG KZ TJ TM UZ",  # Central Asia
    "145": "AE AM AZ BH CY GE IL IQ JO KW LB OM PS QA SA SY TR YE",  # Western Asia
    "151": "BG BY CZ HU MD PL RO RU SK UA",  # Eastern Europe
    "154": "AX DK EE FI FO GB GG IE IM IS JE LT LV NO SE SJ",  # Northern Europe
    "155": "AT BE CH DE FR LI LU MC NL",  # Western Europe
}
# Sub-region -> region: Africa 002, Americas 019, Asia 142, Europe 150, Oceania 009.
_REGION_OF_SUB_REGION = {
    **dict.fromkeys(("011", "014", "015", "017", "018"), "002"),
    **dict.fromkeys(("005", "013", "021", "029"), "019"),
    **dict.fromkeys(("030", "034", "035", "143", "145"), "142"),
    **dict.fromkeys(("039", "151", "154", "155"), "150"),
    **dict.fromkeys(("053", "054", "057", "061"), "009"),
}
# Fewer than five UN member states: saying the sub-region would all but name the country.
_TOO_SMALL = frozenset({"021", "053", "054", "061"})

WORLD = "001"

_BY_COUNTRY = {
    country: (_REGION_OF_SUB_REGION[code] if code in _TOO_SMALL else code)
    for code, countries in _SUB_REGIONS.items()
    for country in countries.split()
}


def region_of(country: str | None) -> str | None:
    """The M49 sub-region (or region) code of an ISO 3166-1 alpha-2 country, e.g. 'KE' ->
    '014' (Eastern Africa), 'US' -> '019' (Americas); None when it has none."""
    if not country:
        return None
    return _BY_COUNTRY.get(country.strip().upper())


def region_codes() -> frozenset[str]:
    """Every code region_of can return."""
    return frozenset(_BY_COUNTRY.values())
