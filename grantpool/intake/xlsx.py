"""Spreadsheet intake in Excel format (XLSX), beside CSV: a template with drop-down lists
of allowed values, and a careful reader that hands the same rows to the same all-or-nothing
import as CSV.

An XLSX file is a zip archive. Before openpyxl opens it, the archive's directory is read
to refuse zip bombs: too many entries, or more uncompressed bytes than a real template
filled with the largest allowed number of rows could have. Python's zipfile never
inflates an entry past the size its directory declares, so the declared sizes bound the
work done.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import force_locale, format_number
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.worksheet.datavalidation import DataValidation

from ..calls.models import Call
from ..calls.rules import QuestionKind, all_questions, text_in
from ..organisations.rules import (
    OrganisationType,
    area_choices,
    country_choices,
)
from .spreadsheet import (
    MAX_BYTES,
    MAX_ROWS,
    BadSpreadsheet,
    SheetRows,
    _check_columns,
    _template,
    yes_no_words,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ENTRIES = 200
MAX_UNCOMPRESSED = 100 * 1024 * 1024
_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
# Reading stops, and the file is refused, at the first of: a cell beyond this column, this
# many empty rows in a row (Excel can save a million formatted, empty rows), or this many
# cells in all. So a small file that declares or holds an enormous sheet costs little.
MAX_COLUMNS = 500
MAX_EMPTY_RUN = 1000
MAX_CELLS = (MAX_ROWS + 2) * 100


def is_xlsx(data: bytes) -> bool:
    return data[:4] == _ZIP_SIGNATURE


def _yes_no_values(call: Call) -> list[str]:
    """Yes and no in each of the call's languages: "oui", "non" for a call in French."""
    words = [word for language in call.languages or ["en"] for word in yes_no_words(language)]
    return list(dict.fromkeys(words))


def _area_values(call: Call) -> list[str]:
    """The areas a row may name, as "KE-30 Nairobi City (County)" (the import reads the
    code before the first space): those of the countries the call is open to, or of
    every country; only the call's own areas when it names some."""
    rules = call.eligibility or {}
    countries = rules.get("countries") or None
    areas = set(rules.get("areas") or [])
    return [
        f"{code} {label}"
        for country in country_choices(only=countries)
        for code, label in area_choices(country.code)
        if not areas or code in areas
    ]


def _allowed_values(call: Call) -> dict[str, list[str]]:
    """For each column with a closed list of values, the values."""
    yes_no = _yes_no_values(call)
    lists: dict[str, list[str]] = {
        "organisation_type": [t.value for t in OrganisationType],
        "organisation_registered": yes_no,
        "organisation_country": [code for code, _name in country_choices()],
        "organisation_area": _area_values(call),
        "language": list(call.languages),
    }
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        if kind == QuestionKind.SINGLE_CHOICE:
            lists[key] = list(question["choices"])
        elif kind == QuestionKind.YES_NO:
            lists[key] = yes_no
        elif kind == QuestionKind.LOCATION:
            lists[f"{key}.country"] = lists["organisation_country"]
            lists[f"{key}.area"] = lists["organisation_area"]
    return lists


def _whole_number_columns(call: Call) -> set[str]:
    return {
        q["key"]
        for q in all_questions(call.questions)
        if q["kind"] == QuestionKind.NUMBER and q.get("whole")
    }


def _question_notes(call: Call, main: str) -> dict[str, str]:
    """For each question's column, the question and its help in the call's main language:
    the words the person filling the sheet answers."""
    notes = {}
    for question in all_questions(call.questions):
        text = text_in(question.get("label"), main, main)
        help_ = text_in(question.get("help"), main, main)
        if question["kind"] == QuestionKind.LOCATION:
            for column in (f"{question['key']}.country", f"{question['key']}.area"):
                notes[column] = text
        elif text:
            notes[question["key"]] = f"{text}\n\n{help_}" if help_ else text
    return notes


def template_xlsx(call: Call) -> bytes:
    """The template: a header row, a row of hints, and drop-down lists (kept on a hidden
    sheet) on every column that has a closed list of values. Its words are in the call's
    main language, as the values its lists offer (the stored choices) are."""
    main = call.languages[0] if call.languages else "en"
    with force_locale(main):
        columns, hints = _template(call)
        return _template_book(call, main, columns, hints)


def _template_book(call: Call, main: str, columns: list[str], hints: dict[str, str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Applications")[:31]
    sheet.append(columns)
    sheet.append(["# " + hints.get(columns[0], "")] + [hints.get(c, "") for c in columns[1:]])
    notes = _question_notes(call, main)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        if notes.get(str(cell.value)):
            cell.comment = Comment(notes[str(cell.value)], "grantpool")
    sheet.freeze_panes = "A3"
    lists_sheet = book.create_sheet("lists")
    lists_sheet.sheet_state = "hidden"
    last_row = MAX_ROWS + 2
    lists = _allowed_values(call)
    whole_numbers = _whole_number_columns(call)
    list_count = 0
    for position, column in enumerate(columns, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(14, min(40, len(column) + 4))
        values = lists.get(column)
        if values:
            list_count += 1
            list_letter = get_column_letter(list_count)
            lists_sheet[f"{list_letter}1"] = column
            for row, value in enumerate(values, start=2):
                lists_sheet[f"{list_letter}{row}"] = value
            validation = DataValidation(
                type="list",
                formula1=f"=lists!${list_letter}$2:${list_letter}${len(values) + 1}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("Not allowed"),
                error=_("Choose a value from the list."),
            )
            if column == "organisation_area" or column.endswith(".area"):
                # An area code typed alone ("KE-30") is read too: warned of, not refused.
                validation.errorStyle = "warning"
        elif column == "requested_amount":
            validation = DataValidation(
                type="decimal",
                operator="between",
                formula1=str(call.min_request.to_decimal()),
                formula2=str(call.max_request.to_decimal()),
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("Not allowed"),
                error=_("Ask for an amount within the call's bounds."),
            )
        elif column in whole_numbers:
            validation = DataValidation(
                type="whole",
                operator="between",
                formula1="-999999999999",
                formula2="999999999999",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("Not allowed"),
                error=_("Enter a whole number, such as 25."),
            )
        else:
            continue
        sheet.add_data_validation(validation)
        validation.add(f"{letter}3:{letter}{last_row}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BadSpreadsheet(_("This is not a spreadsheet the service can read.")) from None
    if len(entries) > MAX_ENTRIES:
        raise BadSpreadsheet(_("This file has too many parts to be a spreadsheet template."))
    if sum(e.file_size for e in entries) > MAX_UNCOMPRESSED:
        raise BadSpreadsheet(
            _("This file unpacks to far more data than a spreadsheet of applications can hold.")
        )
    if "xl/workbook.xml" not in {e.filename for e in entries}:
        raise BadSpreadsheet(_("This is not an Excel workbook. Save the file as .xlsx."))


def _text(value: Any, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        # Written as the person's locale writes numbers, as the import reads them.
        return format_decimal(Decimal(str(value)), format="0.##########", locale=locale)
    return str(value).strip()


@dataclass
class ReadStats:
    """How much of a sheet was read: the work is bounded by these, whatever the file
    declares (tests check it without a clock)."""

    rows_read: int = 0
    cells_read: int = 0


def read_xlsx(
    call: Call, data: bytes, *, locale: str = "en", stats: ReadStats | None = None
) -> SheetRows:
    """The rows of an uploaded workbook's first sheet, as read_csv gives them, or
    BadSpreadsheet saying plainly what is wrong."""
    if not data.strip():
        raise BadSpreadsheet(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise BadSpreadsheet(_("The file is larger than 5 MB. Split it into smaller files."))
    if data[:8] == _OLE_SIGNATURE:
        raise BadSpreadsheet(
            _("Old Excel files (.xls) are not accepted. Save the file as .xlsx or CSV.")
        )
    if not is_xlsx(data):
        raise BadSpreadsheet(_("This is not an Excel (.xlsx) file."))
    _check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise BadSpreadsheet(_("This spreadsheet is damaged and cannot be read.")) from None
    try:
        return _rows(call, _sheet_rows(book), locale, stats or ReadStats())
    finally:
        book.close()


def _sheet_rows(book: Any) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The first sheet's <row> elements as they are in the file: (row number, cells).

    Not ReadOnlyWorksheet.iter_rows: it trusts the sheet's declared <dimension> (a sheet
    declaring A1:M5 yields five rows whatever it holds; one declaring A1:XFD1048576 pads
    every row to 16,384 cells and invents a million rows), and it silently skips a row
    whose number repeats. Here every row element is read once, and nothing is invented.
    """
    sheet = book.worksheets[0]
    source = sheet._get_source()
    parser = WorkSheetParser(
        source,
        sheet._shared_strings,
        data_only=False,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a date serial out of range: an error cell
            try:
                yield from parser.parse()
            except (ValueError, KeyError, IndexError, SyntaxError):
                raise BadSpreadsheet(_("This spreadsheet is damaged and cannot be read.")) from None
    finally:
        source.close()


def _inconsistent(row: int) -> BadSpreadsheet:
    return BadSpreadsheet(
        _(
            "This file contradicts itself near row %(row)s (its rows or cells are numbered "
            "out of order). Open it in a spreadsheet program, save it again as .xlsx, and "
            "upload it again.",
            row=row,
        )
    )


def _rows(
    call: Call,
    sheet_rows: Iterator[tuple[int, list[dict[str, Any]]]],
    locale: str,
    stats: ReadStats,
) -> SheetRows:
    header: list[str] | None = None
    rows = SheetRows()
    formulas: list[str] = []
    previous = 0
    empty_run = 0
    for number, cells in sheet_rows:
        stats.rows_read += 1
        stats.cells_read += len(cells)
        if number <= previous or any(c["row"] != number for c in cells):
            raise _inconsistent(number)
        previous = number
        columns = [c["column"] for c in cells]
        if columns != sorted(set(columns)):
            raise _inconsistent(number)
        if columns and columns[-1] > MAX_COLUMNS:
            raise BadSpreadsheet(
                _(
                    "Row %(row)s goes beyond column %(column)s. Delete the columns to the "
                    "right of the template's and upload again.",
                    row=number,
                    column=get_column_letter(MAX_COLUMNS),
                )
            )
        if stats.cells_read > MAX_CELLS:
            raise BadSpreadsheet(
                _(
                    "This sheet holds more cells than a file of %(n)s applications could. "
                    "Delete what is not part of the template and upload again.",
                    n=format_number(MAX_ROWS),
                )
            )
        by_column = {c["column"]: c for c in cells if c["value"] not in (None, "")}
        if header is None:
            if number != 1:
                raise BadSpreadsheet(_("Row 1 must hold the column names, as in the template."))
            width = max(by_column, default=0)
            header = [
                _text(by_column[i]["value"], locale) if i in by_column else ""
                for i in range(1, width + 1)
            ]
            if not header:
                raise BadSpreadsheet(_("The file is empty."))
            _check_columns(call, header)
            continue
        beyond = [i for i in by_column if i > len(header)]
        if beyond:
            cell_name = get_column_letter(min(beyond)) + str(number)
            raise BadSpreadsheet(
                _(
                    "Cell %(cell)s holds a value outside the template's columns. Move or "
                    "delete it and upload again.",
                    cell=cell_name,
                )
            )
        values: dict[str, str] = {}
        for position, column in enumerate(header, start=1):
            cell = by_column.get(position)
            if cell is None:
                values[column] = ""
                continue
            if cell["data_type"] == "f":
                formulas.append(f"{get_column_letter(position)}{number}")
            values[column] = _text(cell["value"], locale)
        if not any(values.values()):
            empty_run += 1
            if empty_run > MAX_EMPTY_RUN:
                raise BadSpreadsheet(
                    _(
                        "After row %(row)s the sheet has more than %(n)s empty rows. Delete "
                        "the empty rows below your applications and upload again.",
                        row=number - empty_run,
                        n=format_number(MAX_EMPTY_RUN),
                    )
                )
            continue
        empty_run = 0
        if values.get("organisation_name", "").startswith("#"):
            continue  # the hints row
        if len(rows) >= MAX_ROWS:
            raise BadSpreadsheet(_("A file may have at most %(n)s rows.", n=MAX_ROWS))
        rows.add(number, values)
    if header is None:
        raise BadSpreadsheet(_("The file is empty."))
    if formulas:
        raise BadSpreadsheet(
            _(
                "Formulas are not accepted (cells %(cells)s). Copy the cells and paste "
                "them as values, then upload again.",
                cells=", ".join(formulas[:10]) + (" …" if len(formulas) > 10 else ""),
            )
        )
    if not rows:
        raise BadSpreadsheet(_("The file has no rows to import."))
    return rows
