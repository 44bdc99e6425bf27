"""Spreadsheet intake (CSV): a template per call, and an all-or-nothing import that names
every bad cell by row and column. Field officers type paper forms into it."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..calls.models import Call
from ..calls.rules import Channel, QuestionKind, all_questions, text_in, validate_answers
from ..organisations.commands import organisation_details
from ..organisations.models import Organisation
from ..organisations.rules import LocationInvalid, area_code_in, check_location
from ..organisations.services import create_organisation, organisation_visible_to
from ..platform.errors import DomainError, ValidationFailed
from ..platform.time import now_utc
from . import services
from .models import Application
from .rules import ApplicationState

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
ORGANISATION_COLUMNS = [
    "organisation_name",
    "organisation_country",
    "organisation_area",
    "organisation_type",
    "organisation_registered",
    "contact_email",
]
FIXED_COLUMNS = [*ORGANISATION_COLUMNS, "requested_amount", "language"]
# Columns a file made from an older template may lack; read as empty.
OPTIONAL_COLUMNS = frozenset({"organisation_area"})
_FORMULA_START = ("=", "+", "-", "@")
_COLUMN_OF_FIELD = {
    "name": "organisation_name",
    "country": "organisation_country",
    "area": "organisation_area",
    "org_type": "organisation_type",
    "contact_email": "contact_email",
    "requested": "requested_amount",
}

# Yes and no as people type them in each language a call may be in; compared without
# case or accents ("Sí", "si", "OUI" all read). The app's own translation of "Yes" and
# "No" is accepted too, so a language added to the catalogues is read without a change.
YES_NO_WORDS: dict[str, tuple[str, str]] = {
    "en": ("yes", "no"),
    "fr": ("oui", "non"),
    "es": ("sí", "no"),
    "pt": ("sim", "não"),
    "ar": ("نعم", "لا"),
    "sw": ("ndiyo", "hapana"),
}
_YES_NO_ANY_LANGUAGE = {"y": True, "n": False, "true": True, "false": False, "1": True, "0": False}


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def yes_no_words(language: str) -> tuple[str, str]:
    """The words for yes and no in `language`, as a template offers them."""
    if language in YES_NO_WORDS:
        return YES_NO_WORDS[language]
    with force_locale(language):
        return _("Yes").lower(), _("No").lower()


@functools.lru_cache(maxsize=64)
def _yes_no_readings(languages: tuple[str, ...]) -> dict[str, bool]:
    readings = dict(_YES_NO_ANY_LANGUAGE)
    for language in ("en", *languages):
        yes, no = yes_no_words(language)
        with force_locale(language):
            translated_yes, translated_no = _("Yes"), _("No")
        for word in (yes, translated_yes):
            readings[_folded(word)] = True
        for word in (no, translated_no):
            readings[_folded(word)] = False
    return readings


def read_yes_no(text: str, languages: tuple[str, ...] | list[str]) -> bool | None:
    """True or False for a yes or a no in English or one of `languages` (also y/n,
    true/false, 1/0), None for an empty cell; ValueError for anything else, which is
    never read as "no"."""
    if not (text or "").strip():
        return None
    reading = _yes_no_readings(tuple(languages)).get(_folded(text))
    if reading is None:
        words = ", ".join(" / ".join(yes_no_words(lang)) for lang in dict.fromkeys(languages))
        raise ValueError(_("Write yes or no (%(words)s).", words=words or "yes / no"))
    return reading


@dataclass(frozen=True)
class CellError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    message: str


class SheetRows(list[dict[str, str]]):
    """The rows of a file, each with the number a spreadsheet program shows beside it (the
    header is row 1; a kept hints row or an empty line still counts)."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[int] = []

    def add(self, number: int, row: dict[str, str]) -> None:
        self.append(row)
        self.numbers.append(number)


def _numbered(rows: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    numbers = getattr(rows, "numbers", None)
    if numbers is None or len(numbers) != len(rows):
        numbers = range(2, len(rows) + 2)  # rows given by hand: counted from the header
    return list(zip(numbers, rows, strict=True))


class BadSpreadsheet(DomainError):
    status_code = 422
    code = "bad_spreadsheet"


@dataclass(frozen=True)
class DuplicateRow:
    """A row that looks like an application already made, and why."""

    row: int  # numbered as CellError numbers rows
    organisation: str
    reason: str


class OnDuplicates(StrEnum):
    """What an import does with rows that look like duplicates."""

    ASK = "ask"  # write nothing; return the duplicate rows, so a person can choose
    SKIP = "skip"  # import the other rows
    IMPORT_ALL = "import_all"  # import every row anyway


def row_fingerprint(row: dict[str, str]) -> str:
    """A digest of a row as a person would compare it: the same cells, whatever the case,
    spacing or Unicode form, give the same fingerprint."""
    normalised = {
        column: " ".join(unicodedata.normalize("NFKC", value).casefold().split())
        for column, value in row.items()
    }
    text = json.dumps(normalised, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"spreadsheet-row:v1:{text}".encode()).hexdigest()


def _question_columns(call: Call) -> list[str]:
    columns: list[str] = []
    for question in all_questions(call.questions):
        if question["kind"] == QuestionKind.FILE:
            continue  # files come by the web form, ODK or the API
        if question["kind"] == QuestionKind.LOCATION:
            columns += [f"{question['key']}.country", f"{question['key']}.area"]
        else:
            columns.append(question["key"])
    return columns


def template_csv(call: Call) -> str:
    """The header row, then a row of hints: allowed values and formats."""
    columns, hints = _template(call)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow(["# " + hints.get(columns[0], "")] + [hints.get(c, "") for c in columns[1:]])
    return out.getvalue()


def _template(call: Call) -> tuple[list[str], dict[str, str]]:
    """The template's columns and a hint for each: allowed values and formats."""
    main = call.languages[0] if call.languages else "en"
    reader = str(get_locale() or main)
    yes_no = " / ".join(yes_no_words(main))
    hints = {
        "organisation_name": _("Name"),
        "organisation_country": _("Two-letter code, e.g. KE"),
        "organisation_area": _("Area code in that country, e.g. KE-30 (optional)"),
        "organisation_type": _("e.g. community_based, local_ngo, informal_group"),
        "organisation_registered": yes_no,
        "contact_email": _("optional"),
        "requested_amount": f"{call.min_request.to_decimal()}–{call.max_request.to_decimal()} "
        f"{call.currency}",
        "language": ", ".join(call.languages),
    }
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            hints[key] = " | ".join(question["choices"]) + (
                _(" (several: separate with ;)") if kind == QuestionKind.MULTIPLE_CHOICE else ""
            )
        elif kind == QuestionKind.YES_NO:
            hints[key] = yes_no
        elif kind == QuestionKind.DATE:
            hints[key] = "YYYY-MM-DD"
        elif kind == QuestionKind.BUDGET_TABLE:
            hints[key] = _("line | amount; line | amount")
        elif kind == QuestionKind.LOCATION:
            hints[f"{key}.country"] = _("Two-letter code")
            hints[f"{key}.area"] = _("Area code in that country, e.g. KE-30 (optional)")
        # The question itself, in the reader's language where the call has it, so the
        # row of notes says what each column asks (the header keeps the stable keys).
        label = text_in(question.get("label") or {}, reader, main)
        required = _(" (required)") if question.get("required") else ""
        for column in (
            (f"{key}.country", f"{key}.area") if kind == QuestionKind.LOCATION else (key,)
        ):
            note = hints.get(column, "")
            hints[column] = (f"{label}: {note}" if note else label) + required
    return FIXED_COLUMNS + _question_columns(call), hints


def read_csv(call: Call, data: bytes) -> SheetRows:
    """The rows of an uploaded file, or BadSpreadsheet saying plainly what is wrong."""
    if not data.strip():
        raise BadSpreadsheet(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise BadSpreadsheet(_("The file is larger than 5 MB. Split it into smaller files."))
    if data[:4] == b"PK\x03\x04" or b"\x00" in data[:4096]:
        raise BadSpreadsheet(_("This is not a CSV file. Save the spreadsheet as CSV (UTF-8)."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadSpreadsheet(
            _("The file is not in UTF-8. Save it as “CSV UTF-8” and upload it again.")
        ) from None
    # csv.reader, not DictReader: it keeps blank lines, so each row keeps the number a
    # spreadsheet program shows beside it.
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    _check_columns(call, header)
    rows = SheetRows()
    for number, cells in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            raise BadSpreadsheet(_("A file may have at most %(n)s rows.", n=MAX_ROWS))
        values = {
            column: (cells[i] if i < len(cells) else "").strip() for i, column in enumerate(header)
        }
        if any(cell.strip() for cell in cells[len(header) :]):
            raise BadSpreadsheet(
                _(
                    "Row %(row)s has more cells than there are columns. Move or delete the "
                    "cells to the right of the template's columns and upload again.",
                    row=number,
                )
            )
        if values.get("organisation_name", "").startswith("#") or not any(values.values()):
            continue  # the hints row, or an empty line
        rows.add(number, values)
    if not rows:
        raise BadSpreadsheet(_("The file has no rows to import."))
    return rows


def _check_columns(call: Call, header: list[str]) -> None:
    expected = FIXED_COLUMNS + _question_columns(call)
    missing = [c for c in expected if c not in header and c not in OPTIONAL_COLUMNS]
    unknown = [c for c in header if c not in expected]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(_("missing columns: %(cols)s", cols=", ".join(missing)))
        if unknown:
            parts.append(_("unknown columns: %(cols)s", cols=", ".join(unknown)))
        raise BadSpreadsheet(
            _(
                "The columns do not match this call's template (%(details)s). Download the "
                "template again.",
                details="; ".join(parts),
            )
        )


def _answers(call: Call, row: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        if kind == QuestionKind.LOCATION:
            answers[key] = {
                "country": row.get(f"{key}.country", ""),
                "area": area_code_in(row.get(f"{key}.area", "")),
            }
        elif kind == QuestionKind.YES_NO:
            try:
                reading = read_yes_no(row.get(key, ""), call.languages)
            except ValueError:
                reading = None  # refused beside its cell by _cell_problems
            answers[key] = "" if reading is None else ("yes" if reading else "no")
        elif kind == QuestionKind.MULTIPLE_CHOICE:
            answers[key] = [v.strip() for v in row.get(key, "").split(";") if v.strip()]
        elif kind == QuestionKind.BUDGET_TABLE:
            answers[key] = "\n".join(p for p in row.get(key, "").split(";") if p.strip())
        elif kind != QuestionKind.FILE:
            answers[key] = row.get(key, "")
    return answers


class _Organisations:
    """Organisations matched by name and country (case-insensitive), or created: those a
    file names are read in one statement, each new one created once.

    Only organisations the importer may see are matched. A name that matches only an
    organisation working with other funds is refused: importing it would hand this
    fund's staff that organisation's details, and a second organisation of the same name
    would split its history."""

    def __init__(
        self, session: Session, actor: User, rows: list[dict[str, str]], languages: list[str]
    ) -> None:
        self.session, self.actor, self.languages = session, actor, languages
        self.known: dict[tuple[str, str], Organisation] = {}
        self.elsewhere: set[tuple[str, str]] = set()
        names = sorted({(r.get("organisation_name") or "").lower() for r in rows} - {""})
        visible = organisation_visible_to(actor).label("visible")
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            for found, may_see in session.execute(
                select(Organisation, visible)
                .where(func.lower(Organisation.name).in_(chunk))
                .order_by(Organisation.id)
            ):
                key = (found.name.lower(), found.country)
                if may_see:
                    self.known.setdefault(key, found)
                else:
                    self.elsewhere.add(key)

    def get(self, row: dict[str, str]) -> Organisation:
        name, country = row["organisation_name"], row["organisation_country"].upper()
        key = (name.lower(), country)
        if key not in self.known and key in self.elsewhere:
            raise ValidationFailed.single(
                "organisation_name",
                _(
                    "An organisation of this name in this country works with another "
                    "fund. It can apply itself, or an administrator can import this row."
                ),
            )
        if key not in self.known:
            self.known[key] = create_organisation(
                self.session,
                self.actor,
                organisation_details(
                    name=name,
                    country=country,
                    area=area_code_in(row.get("organisation_area", "")),
                    org_type=row["organisation_type"],
                    registered=_registered(row, self.languages),
                    contact_email=row.get("contact_email"),
                ),
            )
        return self.known[key]


def _registered(row: dict[str, str], languages: list[str]) -> bool:
    try:
        return bool(read_yes_no(row.get("organisation_registered", ""), languages))
    except ValueError:
        return False  # refused beside its cell by _cell_problems


def _cell_problems(call: Call, number: int, row: dict[str, str]) -> list[CellError]:
    """The yes/no and area cells of a row that cannot be read, each beside its column."""
    problems: list[CellError] = []
    yes_no_columns = ["organisation_registered"]
    places = [("organisation_country", "organisation_area")]
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        if kind == QuestionKind.YES_NO:
            yes_no_columns.append(key)
        elif kind == QuestionKind.LOCATION:
            places.append((f"{key}.country", f"{key}.area"))
    for column in yes_no_columns:
        try:
            read_yes_no(row.get(column, ""), call.languages)
        except ValueError as refusal:
            problems.append(CellError(number, column, str(refusal)))
    for country_column, area_column in places:
        country, area = row.get(country_column, ""), row.get(area_column, "")
        if not area.strip() or not country.strip():
            continue  # a missing country is refused where the country is required
        try:
            check_location(country, area_code_in(area))
        except LocationInvalid as refusal:
            column = area_column if refusal.field == "area" else country_column
            problems.append(CellError(number, column, refusal.message))
    return problems


def import_rows(
    session: Session,
    actor: User,
    call: Call,
    rows: list[dict[str, str]],
    *,
    locale: str,
    now: dt.datetime | None = None,
    on_duplicates: OnDuplicates = OnDuplicates.ASK,
) -> list[Application] | list[CellError] | list[DuplicateRow]:
    """Check every row by the rules of submit_application (services.check_submission),
    then write them all with services.submit_many, in one savepoint: either every row is
    written, or none is and every problem is returned.

    Rows that look like applications already made (see find_duplicates) are, as
    `on_duplicates` says, returned with nothing written (ASK), left out (SKIP), or
    imported like the others (IMPORT_ALL)."""
    now = now or now_utc()
    problems: list[CellError] = []
    checked: list[services.Checked] = []
    numbers: list[int] = []
    savepoint = session.begin_nested()
    organisations = _Organisations(session, actor, rows, call.languages)
    for number, row in _numbered(rows):
        for column, value in row.items():
            if value.startswith(_FORMULA_START) and not _is_number(value):
                problems.append(
                    CellError(number, column, _("Formulas are not accepted; type the value."))
                )
        if any(p.row == number for p in problems):
            continue
        cell_problems = _cell_problems(call, number, row)
        problems.extend(cell_problems)
        # A cell refused above is not refused again, in other words, by the checks below
        # (they name a location question "place" where the cell is "place.area").
        refused = {p.column for p in cell_problems} | {
            p.column.split(".")[0] for p in cell_problems
        }
        try:
            try:
                with session.begin_nested():  # a refused new organisation leaves nothing
                    organisation = organisations.get(row)
            except ValidationFailed as failure:
                # Still check the rest of the row, so every problem is listed at once.
                _cleaned, answer_errors = validate_answers(
                    call.questions,
                    _answers(call, row),
                    currency=call.currency,
                    locale=locale,
                )
                raise ValidationFailed({**failure.errors, **answer_errors}) from None
            language = row.get("language") or call.languages[0]
            requested = services.requested_from_text(call, row["requested_amount"], locale)
            cleaned = services.check_submission(
                call,
                organisation,
                _answers(call, row),
                requested,
                Channel.SPREADSHEET.value,
                language,
                now,
            )
            checked.append(
                services.Checked(
                    organisation,
                    cleaned,
                    requested,
                    language,
                    notify=organisation.contact_email or "",
                    # Kept with the application (which has no idempotency key), so the
                    # same row imported again is recognised.
                    fingerprint=row_fingerprint(row),
                )
            )
            numbers.append(number)
        except ValidationFailed as failure:
            for field, messages in failure.errors.items():
                column = _COLUMN_OF_FIELD.get(field, field) or _("(row)")
                if column in refused:
                    continue
                problems.extend(CellError(number, column, str(m)) for m in messages)
        except DomainError as error:
            problems.append(CellError(number, _("(row)"), str(error.message)))
            break  # the call itself refuses (closed, channel off): no point going on
    if problems:
        savepoint.rollback()
        return problems
    duplicates = find_duplicates(session, call, list(zip(numbers, checked, strict=True)))
    if duplicates and on_duplicates == OnDuplicates.ASK:
        savepoint.rollback()  # the organisations the file would have created, too
        return [d for _i, d in duplicates]
    if duplicates and on_duplicates == OnDuplicates.SKIP:
        left_out = {i for i, _d in duplicates}
        checked = [c for i, c in enumerate(checked) if i not in left_out]
    created = services.submit_many(session, actor, call, checked, Channel.SPREADSHEET.value, now)
    savepoint.commit()
    return created


_NOT_COUNTED = (ApplicationState.DRAFT.value, ApplicationState.WITHDRAWN.value)
_CHUNK = 1000


def find_duplicates(
    session: Session, call: Call, rows: list[tuple[int, services.Checked]]
) -> list[tuple[int, DuplicateRow]]:
    """The rows (by position in `rows`) that look like an application already made: the
    same row as one imported before into this call (its fingerprint), the same
    organisation as an application to this call (neither a draft nor withdrawn), or the
    same organisation as an earlier row of the file. Reads in a few statements."""
    fingerprints = sorted({c.fingerprint for _n, c in rows if c.fingerprint})
    imported: dict[str, str] = {}
    for start in range(0, len(fingerprints), _CHUNK):
        imported.update(
            (str(fingerprint), reference or "")
            for fingerprint, reference in session.execute(
                select(Application.request_fingerprint, Application.reference).where(
                    Application.call_id == call.id,
                    Application.channel == Channel.SPREADSHEET.value,
                    Application.idempotency_key.is_(None),
                    Application.request_fingerprint.in_(fingerprints[start : start + _CHUNK]),
                )
            )
        )
    organisation_ids = sorted({c.organisation.id for _n, c in rows})
    applied: dict[int, str] = {}
    for start in range(0, len(organisation_ids), _CHUNK):
        for organisation_id, reference in session.execute(
            select(Application.organisation_id, Application.reference)
            .where(
                Application.call_id == call.id,
                Application.organisation_id.in_(organisation_ids[start : start + _CHUNK]),
                Application.state.notin_(_NOT_COUNTED),
            )
            .order_by(Application.id)
        ):
            applied.setdefault(organisation_id, reference or "")
    first_row: dict[int, int] = {}
    found: list[tuple[int, DuplicateRow]] = []
    for position, (number, item) in enumerate(rows):
        organisation = item.organisation
        reason = None
        if item.fingerprint in imported:
            reason = _(
                "This row was imported before (%(reference)s).",
                reference=imported[item.fingerprint],
            )
        elif organisation.id in applied:
            reason = _(
                "%(organisation)s has already applied to this call (%(reference)s).",
                organisation=organisation.name,
                reference=applied[organisation.id],
            )
        elif organisation.id in first_row:
            reason = _(
                "The same organisation as row %(row)s of this file.",
                row=first_row[organisation.id],
            )
        first_row.setdefault(organisation.id, number)
        if reason is not None:
            found.append((position, DuplicateRow(number, organisation.name, str(reason))))
    return found


def _is_number(value: str) -> bool:
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True
