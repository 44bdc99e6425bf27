"""Every dashboard table as CSV or XLSX (openpyxl): money in major units of its currency,
with the currency in the column heading's row, shares as fractions."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from ..platform.money import Money
from .tables import Share, Table


def _plain(value: Any) -> Any:
    """A cell as a spreadsheet reads it: numbers stay numbers."""
    if isinstance(value, Money):
        return value.to_decimal()
    if isinstance(value, Share):
        return None if value.value is None else round(value.value, 4)
    return value


def _rows(table: Table) -> list[list[Any]]:
    currency_columns = {
        i: cell.currency
        for row in table.rows
        for i, cell in enumerate(row)
        if isinstance(cell, Money)
    }
    header = [
        f"{name} ({currency_columns[i]})" if i in currency_columns else name
        for i, name in enumerate(table.columns)
    ]
    return [header, *([_plain(c) for c in row] for row in table.rows)]


def table_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _rows(table):
        writer.writerow(
            ["" if c is None else (f"{c:f}" if isinstance(c, Decimal) else c) for c in row]
        )
    # A byte-order mark so spreadsheet programs read accents right.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table_xlsx(table: Table) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.key[:31]
    for row in _rows(table):
        sheet.append(row)  # Decimal stays exact: openpyxl writes it as a number
    if table.note:
        sheet.append([])
        sheet.append([table.note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
