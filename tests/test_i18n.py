"""Every text a person reads exists in French too."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [
    ("grantpool/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"templates/**": {"extensions": "jinja2.ext.do"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_french_catalogue_covers_every_message():
    with (ROOT / "translations/fr/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalogue
        # A plural message is translated when every one of its forms is.
        if m.id and m.string and not m.fuzzy and (isinstance(m.string, str) or all(m.string))
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, (
        "untranslated texts (run `make messages`, then translate in "
        f"translations/fr/LC_MESSAGES/messages.po): {missing[:20]}"
    )


def test_placeholders_survive_translation():
    import re

    with (ROOT / "translations/fr/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in catalogue:
        if message.id and message.string and isinstance(message.id, str):
            assert sorted(pattern.findall(message.id)) == sorted(pattern.findall(message.string)), (
                message.id
            )
