"""The ranking as CSV and XLSX, for fund managers who work in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from ..calls.models import Call
from ..platform.cells import spreadsheet_cell
from .queries import RankedApplication

COLUMNS = [
    "rank",
    "reference",
    "organisation",
    "country",
    "org_type",
    "leadership",
    "state",
    "requested",
    "currency",
    "reviews",
    "score",
    "staff_score",
    "panel_score",
    "spread",
    "disputed",
    "running_total",
    "within_envelope",
    "decision",
    "decision_state",
    "decision_amount",
]


def _cell(value: Any) -> Any:
    # Text typed by applicants must not run as a formula in the manager's spreadsheet.
    return spreadsheet_cell(value)


def _rows(rows: Sequence[RankedApplication]) -> list[list[Any]]:
    return [
        [
            rank,
            r.reference,
            r.organisation,
            r.country,
            r.org_type,
            " ".join(r.leadership),
            r.state,
            r.requested.to_decimal(),
            r.requested.currency,
            r.reviews,
            r.score,
            r.staff_score,
            r.panel_score,
            r.spread,
            r.disputed,
            r.running_total.to_decimal(),
            r.within_envelope,
            r.decision_kind or "",
            r.decision_state or "",
            r.decision_amount.to_decimal() if r.decision_amount else None,
        ]
        for rank, r in enumerate(rows, start=1)
    ]


def ranking_csv(rows: Sequence[RankedApplication]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in _rows(rows):
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return out.getvalue()


def ranking_xlsx(rows: Sequence[RankedApplication], call: Call) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"call {call.id}"[:31]
    sheet.append(COLUMNS)
    for row in _rows(rows):
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
