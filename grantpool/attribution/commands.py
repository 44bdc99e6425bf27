"""What a partner or a fund manager asks the attribution services to do, as typed values.

The HTML forms (forms.py) and the API schemas (schemas.py) read what was typed or sent
with the parsers below; the services take the resulting frozen dataclasses and check only
the rules of the domain (who may change what, which consent changes are possible, a
reason for every safety flag).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import IO, Any

from flask import current_app, has_app_context
from flask_babel import gettext as _

from ..platform.cells import typed_text
from ..platform.errors import ValidationFailed
from .rules import ConsentScope, ConsentState, LocationPrecision, Naming

TEXT_MAX = 4000
THEME_MAX = 100
_EMPTY: Mapping[str, str] = MappingProxyType({})


def languages() -> tuple[str, ...]:
    """The languages a partner writes its words in: the interface languages."""
    configured: Any = current_app.config.get("LANGUAGES") if has_app_context() else None
    if isinstance(configured, str):
        configured = configured.split(",")
    codes = tuple(dict.fromkeys(c.strip() for c in configured or ("en",) if c.strip()))
    return codes or ("en",)


@dataclass(frozen=True)
class Logo:
    stream: IO[bytes]


@dataclass(frozen=True)
class CreditSettings:
    """How the partner wants to be credited. `descriptions` and `anonymised_descriptions`
    hold the non-empty words per language code, for the interface languages only."""

    naming: Naming
    location_precision: LocationPrecision
    descriptions: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    anonymised_descriptions: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    remove_logo: bool = False


@dataclass(frozen=True)
class ConsentChange:
    """Consent given (named or anonymised, perhaps not before a date) or withdrawn."""

    state: ConsentState
    scope: ConsentScope | None = None
    embargo_until: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True)
class SafetyFlag:
    """Hide the partner everywhere (flag) or lift the flag; the reason is the fund's."""

    flag: bool
    reason: str = ""


@dataclass(frozen=True)
class RecordDetails:
    """What the fund adds to a grant's record."""

    theme: str | None
    humanitarian: bool
    capacity_provided: str | None


def _words(
    kind: str, texts: Mapping[str, object] | None, errors: dict[str, str]
) -> Mapping[str, str]:
    kept: dict[str, str] = {}
    for language in languages():
        value = typed_text((texts or {}).get(language))
        if len(value) > TEXT_MAX:
            errors[f"{kind}_{language}"] = _("Use at most %(n)s characters.", n=TEXT_MAX)
        elif value:
            kept[language] = value
    return MappingProxyType(kept)


def credit_settings(
    *,
    naming: object,
    location_precision: object,
    descriptions: Mapping[str, object] | None = None,
    anonymised_descriptions: Mapping[str, object] | None = None,
    remove_logo: object = False,
) -> CreditSettings:
    """Settings as typed or sent, or ValidationFailed naming every field that cannot be
    read (a description is named `description_<language>`, as on the form)."""
    errors: dict[str, str] = {}
    if not isinstance(naming, str) or naming not in {n.value for n in Naming}:
        errors["naming"] = _("Choose how you want to be named.")
    if not isinstance(location_precision, str) or location_precision not in {
        p.value for p in LocationPrecision
    }:
        errors["location_precision"] = _("Choose how precisely to show where you work.")
    own = _words("description", descriptions, errors)
    anonymised = _words("anonymised_description", anonymised_descriptions, errors)
    if errors:
        raise ValidationFailed(errors)
    return CreditSettings(
        naming=Naming(str(naming)),
        location_precision=LocationPrecision(str(location_precision)),
        descriptions=own,
        anonymised_descriptions=anonymised,
        remove_logo=bool(remove_logo),
    )


def _embargo(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    text = typed_text(value)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single(
            "embargo_until", _("Enter the embargo date as YYYY-MM-DD.")
        ) from None


def consent_change(
    *, state: object, scope: object = None, embargo_until: object = None, note: object = None
) -> ConsentChange:
    """A change of consent as typed or sent: consent given needs its scope; a withdrawal
    carries neither scope nor embargo."""
    if not isinstance(state, str) or state not in (ConsentState.GIVEN, ConsentState.WITHDRAWN):
        raise ValidationFailed.single("state", _("Choose to give or withdraw consent."))
    clean_note = typed_text(note) or None
    if clean_note and len(clean_note) > TEXT_MAX:
        raise ValidationFailed.single("note", _("Use at most %(n)s characters.", n=TEXT_MAX))
    if state == ConsentState.WITHDRAWN:
        return ConsentChange(ConsentState.WITHDRAWN, note=clean_note)
    errors: dict[str, str] = {}
    if not isinstance(scope, str) or scope not in {s.value for s in ConsentScope}:
        errors["scope"] = _("Choose named or anonymised.")
    until: dt.date | None = None
    try:
        until = _embargo(embargo_until)
    except ValidationFailed as failure:
        errors.update({k: v[0] for k, v in failure.errors.items()})
    if errors:
        raise ValidationFailed(errors)
    return ConsentChange(ConsentState.GIVEN, ConsentScope(str(scope)), until, clean_note)


def safety_flag(*, flag: object, reason: object = "") -> SafetyFlag:
    clean = typed_text(reason)
    if len(clean) > TEXT_MAX:
        raise ValidationFailed.single("reason", _("Use at most %(n)s characters.", n=TEXT_MAX))
    return SafetyFlag(bool(flag), clean)


def record_details(
    *, theme: object, humanitarian: object, capacity_provided: object
) -> RecordDetails:
    errors: dict[str, str] = {}
    clean_theme = typed_text(theme)
    if len(clean_theme) > THEME_MAX:
        errors["theme"] = _("Use at most %(n)s characters.", n=THEME_MAX)
    capacity = typed_text(capacity_provided)
    if len(capacity) > TEXT_MAX:
        errors["capacity_provided"] = _("Use at most %(n)s characters.", n=TEXT_MAX)
    if errors:
        raise ValidationFailed(errors)
    return RecordDetails(clean_theme or None, bool(humanitarian), capacity or None)
