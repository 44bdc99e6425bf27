"""Text that people typed, made safe for spreadsheets and for reading.

Every CSV or XLSX cell the service writes goes through `spreadsheet_cell`: a text that a
spreadsheet program would run as a formula (it begins with = + - @, a tab or a carriage
return) is written with a leading apostrophe, the usual guard (OWASP "CSV injection").
Names are checked where they are typed (`clean_name`): they may not begin like a formula,
and characters that reorder or hide text (bidi overrides, zero-width spaces, other
control characters) are removed, so a name reads as what it is.
"""

from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), marks that hide
# text, and the byte-order mark. Zero-width (non-)joiners stay: Persian and Indic
# scripts need them.
_HIDDEN = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200e\u200f\u2060\ufeff"
)


def spreadsheet_cell(value: Any) -> Any:
    """A cell as a spreadsheet must receive it: text that would start a formula is
    quoted; numbers, dates and everything else pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def without_hidden_characters(text: str) -> str:
    return "".join(
        c for c in text if c not in _HIDDEN and (unicodedata.category(c) != "Cc" or c in "\n")
    )


def clean_name(text: str | None) -> tuple[str, str | None]:
    """The name as it will be stored (hidden characters removed, spaces trimmed) and,
    when it cannot be used, why (in the user's language)."""
    from flask_babel import gettext as _

    name = " ".join(without_hidden_characters(text or "").split())
    if name.startswith(("=", "+", "-", "@")):
        return name, _("A name cannot begin with =, +, - or @.")
    return name, None


def typed_text(value: object) -> str:
    """What was typed or sent into a text field, trimmed: anything that is not text (a
    missing field, a number in JSON) reads as nothing, for the parser to refuse or skip."""
    return value.strip() if isinstance(value, str) else ""
