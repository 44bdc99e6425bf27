"""The donor report: the dashboard's tables and charts as a PDF (reportlab), the charts
drawn with reportlab graphics from the same figures as the page's SVG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from ..platform.money import Money
from .tables import Table, cell_text, chart_points

WIDTH = 170 * mm


def bar_drawing(title: str, points: Sequence[tuple[str, float]]) -> Drawing:
    """Horizontal bars, labels and values as text: the PDF twin of charts.bar_chart."""
    bar, gap, label_width, value_width = 12, 5, 62 * mm, 28 * mm
    height = max(1, len(points)) * (bar + gap) + 22
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 12, title, fontName="Helvetica-Bold", fontSize=10))
    biggest = max((v for _l, v in points), default=0.0) or 1.0
    span = WIDTH - label_width - value_width
    for i, (label, value) in enumerate(points):
        y = height - 22 - (i + 1) * (bar + gap) + gap
        length = max(0.0, value) / biggest * span
        short = label if len(label) <= 40 else label[:39] + "…"
        drawing.add(String(0, y + 3, short, fontName="Helvetica", fontSize=8))
        drawing.add(
            Rect(
                label_width, y, length, bar, fillColor=colors.HexColor("#1d70b8"), strokeColor=None
            )
        )
        drawing.add(
            String(
                label_width + length + 4, y + 3, f"{value:,.0f}", fontName="Helvetica", fontSize=8
            )
        )
    return drawing


def _cell(value: object) -> str:
    if isinstance(value, Money):
        return f"{value.to_decimal():,f} {value.currency}"
    return cell_text(value)


def donor_report(fund_name: str, period: str, tables: Sequence[Table]) -> bytes:
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_("Donor report: %(fund)s", fund=fund_name),
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    story: list = [
        Paragraph(escape(_("Donor report: %(fund)s", fund=fund_name)), styles["Title"]),
        Paragraph(escape(period), styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    for table in tables:
        block: list = [Paragraph(escape(table.title), styles["Heading2"])]
        points = chart_points(table)
        if points:
            block.append(bar_drawing(table.title, points))
            block.append(Spacer(1, 3 * mm))
        data = [table.columns] + [[_cell(c) for c in row] for row in table.rows]
        if len(data) == 1:
            data.append(["–"] + [""] * (len(table.columns) - 1))
        wrapped = [[Paragraph(escape(str(c)), styles["BodyText"]) for c in row] for row in data]
        grid = PdfTable(
            wrapped, colWidths=[WIDTH / len(table.columns)] * len(table.columns), repeatRows=1
        )
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(KeepTogether(block))
        story.append(grid)
        if table.note:
            story.append(Paragraph(escape(table.note), styles["Italic"]))
        story.append(Spacer(1, 5 * mm))
    document.build(story)
    return out.getvalue()
