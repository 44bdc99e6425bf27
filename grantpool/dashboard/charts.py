"""Charts drawn on the server as SVG: horizontal bars with their labels and values written
as text, so they read without JavaScript, print, and scale. Each chart on a page sits
beside the table it draws (the text alternative)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 240
VALUE_WIDTH = 110


def _number(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def bar_chart(
    chart_id: str, title: str, points: Sequence[tuple[str, float]], unit: str = ""
) -> str:
    """An accessible SVG bar chart of (label, value) pairs; negative values draw as zero."""
    height = max(1, len(points)) * (BAR_HEIGHT + GAP) + 40
    biggest = max((v for _l, v in points), default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    title_id = f"{chart_id}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-labelledby={quoteattr(title_id)}>',
        f"<title id={quoteattr(title_id)}>{escape(title)}</title>",
        f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}'
        f"{escape(f' ({unit})') if unit else ''}</text>",
    ]
    for i, (label, value) in enumerate(points):
        y = 32 + i * (BAR_HEIGHT + GAP)
        length = max(0.0, value) / biggest * span
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<g><text x="0" y="{y + 16}" font-size="13">{escape(short)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="#1d70b8"><title>{escape(label)}: {escape(_number(value))}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 16}" font-size="13">'
            f"{escape(_number(value))}</text></g>"
        )
    if not points:
        parts.append('<text x="0" y="50" font-size="13">–</text>')
    parts.append("</svg>")
    return "".join(parts)
