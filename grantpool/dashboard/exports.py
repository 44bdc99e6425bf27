"""Every dashboard table as CSV or XLSX (openpyxl): money in major units of its currency,
with the currency in the column heading's row, shares as fractions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from ..platform.cells import spreadsheet_cell
from ..platform.money import Money
from .tables import Share, Table, Withheld


def _plain(value: Any) -> Any:
    """A cell as a spreadsheet reads it: numbers stay numbers."""
    if isinstance(value, Money):
        return value.to_decimal()
    if isinstance(value, Share):
        return None if value.value is None else round(value.value, 4)
    if isinstance(value, Withheld):
        return str(value)
    return spreadsheet_cell(value)


def _header(table: Table) -> list[str]:
    """Column names; a money column whose cells share one currency names it."""
    currencies: dict[int, set[str]] = {}
    for row in table.rows:
        for i, cell in enumerate(row):
            if isinstance(cell, Money):
                currencies.setdefault(i, set()).add(cell.currency)
    return [
        spreadsheet_cell(
            f"{name} ({next(iter(currencies[i]))})" if len(currencies.get(i, ())) == 1 else name
        )
        for i, name in enumerate(table.columns)
    ]


def _rows(table: Table) -> list[list[Any]]:
    return [_header(table), *([_plain(c) for c in row] for row in table.rows)]


def _csv_line(row: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(
        ["" if c is None else (f"{c:f}" if isinstance(c, Decimal) else c) for c in row]
    )
    return out.getvalue()


def table_csv(table: Table) -> bytes:
    return b"".join(stream_csv(_header(table), [table.rows]))


def stream_csv(header: list[str], batches: Iterable[list[list[Any]]]) -> Iterator[bytes]:
    """CSV a batch of rows at a time, for lists too long to hold (every credited partner).
    A byte-order mark first, so spreadsheet programs read accents right."""
    yield ("\ufeff" + _csv_line(header)).encode("utf-8")
    for rows in batches:
        yield "".join(_csv_line([_plain(c) for c in row]) for row in rows).encode("utf-8")


def table_xlsx(table: Table) -> bytes:
    return stream_xlsx(table.key, _header(table), [table.rows], table.note)


def stream_xlsx(
    key: str, header: list[str], batches: Iterable[list[list[Any]]], note: str = ""
) -> bytes:
    """A workbook written row by row (openpyxl's write-only mode keeps rows on disk)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(key[:31] or "table")
    sheet.append(header)
    for rows in batches:
        for row in rows:
            sheet.append([_plain(c) for c in row])  # Decimal stays exact: a number
    if note:
        sheet.append([])
        sheet.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
