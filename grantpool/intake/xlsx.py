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
import zipfile
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..calls.models import Call
from ..calls.rules import QuestionKind, all_questions
from ..organisations.rules import OrganisationType, country_choices
from .spreadsheet import MAX_BYTES, MAX_ROWS, BadSpreadsheet, _check_columns, _template

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ENTRIES = 200
MAX_UNCOMPRESSED = 100 * 1024 * 1024
_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
_YES_NO = ["yes", "no"]


def is_xlsx(data: bytes) -> bool:
    return data[:4] == _ZIP_SIGNATURE


def _allowed_values(call: Call) -> dict[str, list[str]]:
    """For each column with a closed list of values, the values."""
    lists: dict[str, list[str]] = {
        "organisation_type": [t.value for t in OrganisationType],
        "organisation_registered": _YES_NO,
        "organisation_country": [code for code, _name in country_choices()],
        "language": list(call.languages),
    }
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        if kind == QuestionKind.SINGLE_CHOICE:
            lists[key] = list(question["choices"])
        elif kind == QuestionKind.YES_NO:
            lists[key] = _YES_NO
        elif kind == QuestionKind.LOCATION:
            lists[f"{key}.country"] = lists["organisation_country"]
    return lists


def template_xlsx(call: Call) -> bytes:
    """The template: a header row, a row of hints, and drop-down lists (kept on a hidden
    sheet) on every column that has a closed list of values."""
    columns, hints = _template(call)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Applications")[:31]
    sheet.append(columns)
    sheet.append(["# " + hints.get(columns[0], "")] + [hints.get(c, "") for c in columns[1:]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    lists_sheet = book.create_sheet("lists")
    lists_sheet.sheet_state = "hidden"
    last_row = MAX_ROWS + 2
    lists = _allowed_values(call)
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


def read_xlsx(call: Call, data: bytes, *, locale: str = "en") -> list[dict[str, str]]:
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
        return _rows(call, book.worksheets[0], locale)
    finally:
        book.close()


def _rows(call: Call, sheet: Any, locale: str) -> list[dict[str, str]]:
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    formulas: list[str] = []
    for cells in sheet.iter_rows():
        if header is None:
            header = [_text(c.value, locale) for c in cells]
            while header and not header[-1]:
                header.pop()
            if not header:
                raise BadSpreadsheet(_("The file is empty."))
            _check_columns(call, header)
            continue
        values: dict[str, str] = {}
        for column, cell in zip(header, cells, strict=False):
            if getattr(cell, "data_type", None) == "f":
                formulas.append(f"{get_column_letter(cell.column)}{cell.row}")
            values[column] = _text(cell.value, locale)
        if values.get("organisation_name", "").startswith("#") or not any(values.values()):
            continue  # the hints row, or an empty line
        if len(rows) >= MAX_ROWS:
            raise BadSpreadsheet(_("A file may have at most %(n)s rows.", n=MAX_ROWS))
        rows.append({c: values.get(c, "") for c in header})
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
