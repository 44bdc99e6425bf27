"""What may be said about a partner, decided without a database.

Publication is the most protective combination of what the partner chose (naming and
location precision, per organisation, overridable per grant), what it consented to
(named or anonymised), an embargo date, and the fund manager's safety flag. Nothing is
published until consent is given; withdrawal or a safety flag hides the record at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..organisations.rules import Leadership, OrganisationType, area_name, country_name
from ..platform.states import check_transition


class Naming(StrEnum):
    OWN_NAME = "own_name"
    ANONYMISED = "anonymised"
    NOT_PUBLISHED = "not_published"


class LocationPrecision(StrEnum):
    AREA = "area"
    COUNTRY = "country"
    HIDDEN = "hidden"


class ConsentState(StrEnum):
    NOT_GIVEN = "not_given"
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class ConsentScope(StrEnum):
    NAMED = "named"
    ANONYMISED = "anonymised"


NAMING_LABELS = {
    Naming.OWN_NAME: _l("Our own name"),
    Naming.ANONYMISED: _l("An anonymised description (no name)"),
    Naming.NOT_PUBLISHED: _l("Do not publish"),
}
PRECISION_LABELS = {
    LocationPrecision.AREA: _l("Region or province"),
    LocationPrecision.COUNTRY: _l("Country only"),
    LocationPrecision.HIDDEN: _l("Hidden"),
}
CONSENT_LABELS = {
    ConsentState.NOT_GIVEN: _l("Not given"),
    ConsentState.GIVEN: _l("Given"),
    ConsentState.WITHDRAWN: _l("Withdrawn"),
}
SCOPE_LABELS = {
    ConsentScope.NAMED: _l("Named"),
    ConsentScope.ANONYMISED: _l("Anonymised"),
}

# Consent may be given, changed (given again with another scope or embargo) and
# withdrawn at any time, and given again after a withdrawal.
CONSENT_TRANSITIONS: dict[ConsentState, frozenset[ConsentState]] = {
    ConsentState.NOT_GIVEN: frozenset({ConsentState.GIVEN}),
    ConsentState.GIVEN: frozenset({ConsentState.GIVEN, ConsentState.WITHDRAWN}),
    ConsentState.WITHDRAWN: frozenset({ConsentState.GIVEN}),
}


def _consent_refusal(current: str, target: str) -> str:
    return _(
        "Consent that is %(current)s cannot become %(target)s.", current=current, target=target
    )


def check_consent_transition(current: str, target: str) -> None:
    check_transition(CONSENT_TRANSITIONS, current, target, CONSENT_LABELS, _consent_refusal)


@dataclass(frozen=True)
class Exposure:
    """What may be published about one record today."""

    published: bool
    named: bool = False
    precision: LocationPrecision = LocationPrecision.HIDDEN


HIDDEN = Exposure(published=False)


def exposure(
    *,
    naming: str,
    precision: str,
    consent_state: str,
    consent_scope: str | None,
    embargo_until: dt.date | None,
    safety_flag: bool,
    today: dt.date,
) -> Exposure:
    if safety_flag or consent_state != ConsentState.GIVEN:
        return HIDDEN
    if embargo_until is not None and today < embargo_until:
        return HIDDEN
    if naming == Naming.NOT_PUBLISHED:
        return HIDDEN
    named = naming == Naming.OWN_NAME and consent_scope == ConsentScope.NAMED
    return Exposure(published=True, named=named, precision=LocationPrecision(precision))


_TYPE_NOUNS = {
    OrganisationType.COMMUNITY_BASED: _l("community organisation"),
    OrganisationType.INFORMAL_GROUP: _l("community group"),
    OrganisationType.LOCAL_NGO: _l("local organisation"),
    OrganisationType.NATIONAL_NGO: _l("national organisation"),
    OrganisationType.REGIONAL_NGO: _l("regional organisation"),
    OrganisationType.LOCAL_GOVERNMENT: _l("local government"),
    OrganisationType.NATIONAL_GOVERNMENT: _l("national public body"),
    OrganisationType.OTHER_PUBLIC: _l("public body"),
    OrganisationType.NATIONAL_RED_CROSS: _l("national humanitarian society"),
}
_LEAD_ADJECTIVES = {
    Leadership.WOMEN: _l("women-led"),
    Leadership.YOUTH: _l("youth-led"),
    Leadership.REFUGEE_MIGRANT: _l("refugee-led"),
    Leadership.DISABILITY: _l("disability-led"),
}


def place(country: str, area: str | None, precision: str) -> str:
    """The place at the chosen precision: 'Nairobi, Kenya', 'Kenya' or ''."""
    if precision == LocationPrecision.HIDDEN:
        return ""
    if precision == LocationPrecision.AREA and area:
        return f"{area_name(area)}, {country_name(country)}"
    return country_name(country)


def anonymised_description(
    org_type: str,
    leadership: Sequence[Leadership],
    country: str,
    area: str | None,
    precision: str,
) -> str:
    """'a women-led community organisation in Nairobi, Kenya' — from type, leadership and
    area only; never a name, locality or identifier."""
    noun = str(_TYPE_NOUNS.get(OrganisationType(org_type), _l("local organisation")))
    adjectives = ", ".join(str(_LEAD_ADJECTIVES[lead]) for lead in leadership)
    # Translators: leadership words, then the kind of organisation ("women-led community
    # group"); reorder for languages that put them after the noun.
    who = _("%(adjectives)s %(noun)s", adjectives=adjectives, noun=noun) if adjectives else noun
    where = place(country, area, precision)
    if where:
        return _("a %(who)s in %(where)s", who=who, where=where)
    return _("a %(who)s", who=who)


def text_in(texts: Mapping[str, str] | None, language: str) -> str:
    if not texts:
        return ""
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


# Funding chain ---------------------------------------------------------------------


@dataclass(frozen=True)
class Contributed:
    donor_id: int
    base_amount_minor: int
    earmark_theme: str | None = None
    earmark_country: str | None = None


def _matches(c: Contributed, theme: str | None, country: str | None) -> bool:
    if not (c.earmark_theme or c.earmark_country):
        return False
    if c.earmark_theme and (theme or "").strip().lower() != c.earmark_theme.strip().lower():
        return False
    return not (c.earmark_country and (country or "").upper() != c.earmark_country.upper())


def _pro_rata(amount: int, weights: Mapping[int, int]) -> dict[int, int]:
    """Split `amount` over the keys by weight; the remainder goes to the largest weights."""
    total = sum(weights.values())
    if amount <= 0 or total <= 0:
        return {}
    shares = {k: amount * w // total for k, w in weights.items()}
    left = amount - sum(shares.values())
    for key in sorted(weights, key=lambda k: (-weights[k], k))[:left]:
        shares[key] += 1
    return shares


def donor_shares(
    amount_minor: int,
    theme: str | None,
    country: str | None,
    contributions: Sequence[Contributed],
) -> dict[int, int]:
    """Each donor's share of a grant, in the fund's minor units.

    Contributions earmarked for the grant's theme or country are drawn on first (pro rata
    among them, up to what they gave); the rest of the grant is split pro rata over the
    unearmarked money received. When no unearmarked money exists, all money counts."""
    earmarked: dict[int, int] = {}
    general: dict[int, int] = {}
    everything: dict[int, int] = {}
    for c in contributions:
        everything[c.donor_id] = everything.get(c.donor_id, 0) + c.base_amount_minor
        if _matches(c, theme, country):
            earmarked[c.donor_id] = earmarked.get(c.donor_id, 0) + c.base_amount_minor
        elif not (c.earmark_theme or c.earmark_country):
            general[c.donor_id] = general.get(c.donor_id, 0) + c.base_amount_minor
    from_earmarked = min(amount_minor, sum(earmarked.values()))
    shares = _pro_rata(from_earmarked, earmarked)
    rest = amount_minor - from_earmarked
    for donor_id, minor in _pro_rata(rest, general or everything).items():
        shares[donor_id] = shares.get(donor_id, 0) + minor
    return {k: v for k, v in shares.items() if v > 0}


def credit_line(partner: str, donors: Sequence[str], fund: str) -> str:
    if donors:
        return _(
            "Delivered by %(partner)s, with funding from %(donors)s through %(fund)s",
            partner=partner,
            donors=", ".join(donors),
            fund=fund,
        )
    return _("Delivered by %(partner)s, with funding through %(fund)s", partner=partner, fund=fund)
