"""The one place PDFs get their fonts, styles and right-to-left text.

ReportLab's built-in fonts (Helvetica …) cover Latin-1 only, so Vietnamese, West African
letters (ɛ ɔ ŋ ɲ ƙ ɗ) and Arabic would print as black boxes. Every PDF draws with the
DejaVu Sans faces shipped in `fonts/` (licence beside them), registered once.

ReportLab 5 lays out right-to-left text and joins Arabic letters only with two optional
packages, `rlbidi` (not on PyPI) and `uharfbuzz`. Instead, Arabic is joined into its
presentation forms with `arabic-reshaper` and put in visual order with `python-bidi`,
line by line: a paragraph is broken into lines in logical order first and each line is
then reordered, so a long Arabic text reads from its first word on the first line.
Combining harakat are dropped by the reshaper, as ReportLab cannot place marks.

    from grantpool.platform import pdf

    s = pdf.styles(pdf.direction_of(locale))
    doc = pdf.document(buffer, pagesize=A4, title=title)
    doc.build([pdf.paragraph(title, s.title), pdf.paragraph(partner_words, s.body)])
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi.algorithm import get_display
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, TableStyle

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#52606d")
ACCENT = colors.HexColor("#0b5d5b")
RULE = colors.HexColor("#cbd2d9")

# Languages written right to left (ISO 639-1 and a few 639-3 codes in use locally).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ps", "ur", "yi", "dv", "ckb", "sd", "ug"})


class Direction(StrEnum):
    LTR = "ltr"
    RTL = "rtl"


def direction_of(language: str | None) -> Direction:
    """The writing direction of a locale such as "ar", "fr" or "ar_EG"."""
    base = (language or "").replace("-", "_").split("_")[0].lower()
    return Direction.RTL if base in RTL_LANGUAGES else Direction.LTR


@cache
def register_fonts() -> None:
    """Register the Unicode faces (once per process) and tie bold to regular, so that
    `<b>` in a paragraph finds the bold face."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONTS_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONTS_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )


def document(output: Any, **options: Any) -> SimpleDocTemplate:
    """A document template whose pages start in the Unicode font, so no PDF made here
    embeds or falls back to Helvetica. `options` are SimpleDocTemplate's."""
    register_fonts()
    options.setdefault("initialFontName", FONT)
    options.setdefault("creator", "grantpool")
    return SimpleDocTemplate(output, **options)


def drawing(width: float, height: float, **options: Any) -> Drawing:
    """A vector drawing (chart, QR code) whose text state starts in the Unicode font:
    ReportLab's renderer would otherwise select Helvetica for it."""
    register_fonts()
    result = Drawing(width, height, **options)
    result.initialFontName = FONT
    return result


def table_style(commands: list[tuple[Any, ...]]) -> TableStyle:
    """A TableStyle whose cells are set in the Unicode font (ReportLab's default for a
    table cell is Helvetica), then `commands`."""
    register_fonts()
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


class Style(ParagraphStyle):
    """A paragraph style that knows the direction of the document it belongs to."""

    defaults = {**ParagraphStyle.defaults, "direction": Direction.LTR}


@dataclass(frozen=True)
class Styles:
    direction: Direction
    title: Style
    subtitle: Style
    display: Style
    heading: Style
    body: Style
    label: Style
    small: Style
    centred: Style

    @property
    def start(self) -> int:
        """The alignment of the start of a line: left, or right in an RTL document."""
        return TA_RIGHT if self.direction == Direction.RTL else TA_LEFT


def styles(direction: Direction | str = Direction.LTR) -> Styles:
    """Paragraph styles in the Unicode fonts. Start-aligned styles align right in an RTL
    document; centred ones stay centred. A new set each call: callers may adjust them."""
    register_fonts()
    direction = Direction(direction)
    start = TA_RIGHT if direction == Direction.RTL else TA_LEFT
    base = Style(
        "body",
        fontName=FONT,
        fontSize=10.5,
        leading=15,
        textColor=INK,
        alignment=start,
        direction=direction,
        spaceAfter=4,
    )

    def derived(name: str, **kw: Any) -> Style:
        return Style(name, parent=base, **kw)

    return Styles(
        direction=direction,
        title=derived(
            "title",
            fontName=FONT_BOLD,
            fontSize=24,
            leading=30,
            alignment=TA_CENTER,
            textColor=ACCENT,
            spaceAfter=6,
        ),
        subtitle=derived("subtitle", fontSize=11, leading=15, alignment=TA_CENTER, textColor=MUTED),
        display=derived(
            "display", fontName=FONT_BOLD, fontSize=20, leading=26, alignment=TA_CENTER
        ),
        heading=derived(
            "heading",
            fontName=FONT_BOLD,
            fontSize=12,
            leading=16,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=4,
        ),
        body=base,
        label=derived("label", fontSize=8.5, leading=11, textColor=MUTED, spaceAfter=1),
        small=derived("small", fontSize=8.5, leading=11.5, textColor=MUTED, spaceAfter=2),
        centred=derived("centred", alignment=TA_CENTER),
    )


_STRONG_RTL = frozenset({"R", "AL"})
_RESHAPER = arabic_reshaper.ArabicReshaper()


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in _STRONG_RTL for c in text)


def text_direction(text: str) -> Direction | None:
    """The direction of the first strong character (Unicode's rule P2), if any."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in _STRONG_RTL:
            return Direction.RTL
        if kind == "L":
            return Direction.LTR
    return None


def paragraph(text: str, style: ParagraphStyle, direction: Direction | str | None = None) -> Any:
    """A flowable for plain `text` (escaped: never markup). Text with right-to-left
    letters is shaped and reordered; its base direction is `direction`, else that of its
    first strong letter, else the style's. A right-to-left paragraph that would start
    on the left is aligned right instead."""
    register_fonts()
    text = unicodedata.normalize("NFC", text or "")
    if not has_rtl(text):
        return Paragraph(escape(text), style)
    style_direction: str = getattr(style, "direction", None) or Direction.LTR
    chosen = Direction(direction or text_direction(text) or style_direction)
    if chosen == Direction.RTL and style.alignment in (TA_LEFT, TA_JUSTIFY):
        style = style.__class__(f"{style.name}-rtl", parent=style, alignment=TA_RIGHT)
    elif chosen == Direction.LTR and style.alignment == TA_JUSTIFY:
        style = style.__class__(f"{style.name}-ltr", parent=style, alignment=TA_LEFT)
    return BidiParagraph(text, style, chosen)


def shape(text: str, direction: Direction | str = Direction.LTR) -> str:
    """One line of text in visual order with Arabic letters joined, for drawing
    directly on a canvas (`canvas.drawString`)."""
    text = unicodedata.normalize("NFC", text or "")
    if not has_rtl(text):
        return text
    base_dir = "R" if Direction(direction) == Direction.RTL else "L"
    return str(get_display(_RESHAPER.reshape(text), base_dir=base_dir))


def text_width(text: str, style: ParagraphStyle) -> float:
    """How wide `text` is drawn in `style`, for sizing table columns to their content."""
    register_fonts()
    return float(pdfmetrics.stringWidth(shape(text), style.fontName, style.fontSize))


def break_lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking in logical order, measuring the glyphs that will be drawn.
    A word longer than the line stands on a line of its own."""
    lines: list[str] = []
    for hard_line in text.splitlines() or [""]:
        words = hard_line.split()
        current = ""
        for word in words:
            candidate = f"{current} {word}" if current else word
            if current and pdfmetrics.stringWidth(candidate, font, size) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


class BidiParagraph(Flowable):
    """A paragraph holding right-to-left text. It breaks the reshaped text into lines
    at the width it is given, reorders each line for display and hands the lines to an
    ordinary Paragraph, which draws (and splits across pages) as usual."""

    def __init__(self, text: str, style: ParagraphStyle, direction: Direction) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.direction = direction
        self._shaped = _RESHAPER.reshape(text)
        self._inner: Paragraph | None = None

    def _layout(self, avail_width: float) -> Paragraph:
        style = self.style
        # A little slack so the inner Paragraph never breaks a line we measured as fitting.
        width = avail_width - style.leftIndent - style.rightIndent - 1
        base_dir = "R" if self.direction == Direction.RTL else "L"
        lines = break_lines(self._shaped, style.fontName, style.fontSize, width)
        visual = [escape(str(get_display(line, base_dir=base_dir))) for line in lines]
        self._inner = Paragraph("<br/>".join(visual), style)
        return self._inner

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        inner = self._layout(availWidth)
        self.width, self.height = inner.wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Any]:
        return list(self._layout(availWidth).split(availWidth, availHeight))

    def draw(self) -> None:
        assert self._inner is not None, "wrap() comes before draw()"
        self._inner.drawOn(self.canv, 0, 0)

    def getSpaceBefore(self) -> float:
        return float(self.style.spaceBefore)

    def getSpaceAfter(self) -> float:
        return float(self.style.spaceAfter)

    def __repr__(self) -> str:
        return f"BidiParagraph({self.text[:30]!r}, {self.direction})"
