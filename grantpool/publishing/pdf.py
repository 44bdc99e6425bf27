"""The certificate of attribution, in the partner's language.

It is built from the public record alone (and the logo `queries.public_logo` allows), so
it says nothing the open data does not. Its footer carries a verification address and
its QR code: that page shows the record as it stands when someone checks, so a
certificate printed before consent was withdrawn does not outlive the consent.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable
from typing import Any

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image as PILImage
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    HRFlowable,
    Image,
    Spacer,
    Table,
)
from sqlalchemy.orm import Session

from ..platform import pdf
from ..platform.money import Money, format_money
from ..platform.storage import get_storage
from .queries import PublicRecord, public_logo

log = logging.getLogger(__name__)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 24 * mm
FOOTER_HEIGHT = 40 * mm
QR_SIZE = 30 * mm
LOGO_BOX = (60 * mm, 28 * mm)
# A logo is a small picture: anything larger is refused before it is decoded.
LOGO_MAX_BYTES = 5 * 1024 * 1024
LOGO_MAX_PIXELS = 25_000_000
LOGO_FORMATS = frozenset({"PNG", "JPEG"})


def certificate_logo(session: Session, grant_id: int, now: dt.datetime) -> bytes | None:
    """The logo's bytes, only when the record is published under the partner's name;
    None when there is none or storage cannot give it (the certificate goes without)."""
    found = public_logo(session, grant_id, now)
    if found is None:
        return None
    key, _content_type = found
    try:
        with get_storage().open(key) as handle:
            data: bytes = handle.read(LOGO_MAX_BYTES + 1)
    except Exception:  # a missing or unreadable file must not stop the certificate
        log.warning("logo %s of grant %s could not be read", key, grant_id, exc_info=True)
        return None
    return data if len(data) <= LOGO_MAX_BYTES else None


def logo_flowable(data: bytes | None, box: tuple[float, float] = LOGO_BOX) -> Image | None:
    """A PNG or JPEG logo scaled to fit `box`, keeping its proportions, or None for
    anything else (another format, a truncated or oversized file)."""
    if not data:
        return None
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            if image.format not in LOGO_FORMATS:
                return None
            width, height = image.size
            if not width or not height or width * height > LOGO_MAX_PIXELS:
                return None
            image.load()
            # Flatten transparency onto white: the page is white, and every PDF viewer
            # then shows the same thing.
            rgba = image.convert("RGBA")
            flat = PILImage.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
    except Exception:  # PIL raises many kinds for a bad file; all mean "leave it out"
        log.info("a logo could not be decoded; the certificate goes without it", exc_info=True)
        return None
    flat.thumbnail((800, 800))
    png = io.BytesIO()
    flat.save(png, format="PNG")
    png.seek(0)
    scale = min(box[0] / flat.width, box[1] / flat.height)
    return Image(png, width=flat.width * scale, height=flat.height * scale)


def qr_drawing(value: str, size: float = QR_SIZE) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = pdf.drawing(
        size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0]
    )
    drawing.add(widget)
    return drawing


def _donor_name(donor: Any) -> str:
    return str(_("Individual donors")) if donor.donor_type == "individual" else donor.name


def _credit_line(record: PublicRecord) -> str:
    # Built here rather than with record.credit_line(): individual donors are never
    # named, on a certificate least of all.
    donors = list(
        dict.fromkeys(
            str(_("individual donors")) if d.donor_type == "individual" else d.name
            for d in record.donors
        )
    )
    if donors:
        return _(
            "Delivered by %(partner)s, with funding from %(donors)s through %(fund)s",
            partner=record.partner,
            donors=", ".join(donors),
            fund=record.fund_name,
        )
    return _(
        "Delivered by %(partner)s, with funding through %(fund)s",
        partner=record.partner,
        fund=record.fund_name,
    )


def _facts_table(rows: list[tuple[str, list[str]]], s: pdf.Styles, width: float) -> Table:
    """Label and value side by side; in a right-to-left document the label is on the
    right. The label column is as wide as its longest label (within reason)."""
    label_width = min(
        max(pdf.text_width(label, s.label) for label, _v in rows) + 8 * mm, width * 0.4
    )
    data = []
    for label, values in rows:
        label_cell = pdf.paragraph(label, s.label)
        value_cell = [pdf.paragraph(v, s.body) for v in values]
        data.append([label_cell, value_cell])
    widths = [label_width, width - label_width]
    if s.direction == pdf.Direction.RTL:
        data = [list(reversed(row)) for row in data]
        widths.reverse()
    table = Table(data, colWidths=widths, hAlign="CENTER")
    table.setStyle(
        pdf.table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, pdf.RULE),
            ]
        )
    )
    return table


def _page_decoration(
    s: pdf.Styles, footer_lines: list[str], verify_url: str
) -> Callable[[Canvas, Any], None]:
    """The border and the footer (verification text and QR code) on every page."""

    def decorate(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setStrokeColor(pdf.ACCENT)
        canvas.setLineWidth(1.6)
        canvas.rect(10 * mm, 10 * mm, PAGE_WIDTH - 20 * mm, PAGE_HEIGHT - 20 * mm)
        canvas.setLineWidth(0.5)
        canvas.rect(12.5 * mm, 12.5 * mm, PAGE_WIDTH - 25 * mm, PAGE_HEIGHT - 25 * mm)

        bottom = 17 * mm
        text_width = PAGE_WIDTH - 2 * MARGIN - QR_SIZE - 6 * mm
        rtl = s.direction == pdf.Direction.RTL
        qr_x = MARGIN if rtl else PAGE_WIDTH - MARGIN - QR_SIZE
        text_x = MARGIN + QR_SIZE + 6 * mm if rtl else MARGIN
        renderPDF.draw(qr_drawing(verify_url), canvas, qr_x, bottom)
        canvas.setStrokeColor(pdf.RULE)
        canvas.line(
            MARGIN, bottom + QR_SIZE + 3 * mm, PAGE_WIDTH - MARGIN, bottom + QR_SIZE + 3 * mm
        )
        y = bottom + QR_SIZE
        for line in footer_lines:
            flowable = pdf.paragraph(line, s.small)
            _w, height = flowable.wrapOn(canvas, text_width, FOOTER_HEIGHT)
            y -= height + 1
            flowable.drawOn(canvas, text_x, y)
        canvas.restoreState()

    return decorate


def certificate_pdf(
    record: PublicRecord,
    *,
    verify_url: str,
    issued_on: dt.date,
    logo: bytes | None = None,
) -> bytes:
    """The certificate for a published record. `logo` is shown only when the record
    is published under the partner's name."""
    locale = record.language or "en"
    buffer = io.BytesIO()
    with force_locale(locale):
        s = pdf.styles(pdf.direction_of(locale))
        frame_width = PAGE_WIDTH - 2 * MARGIN

        def money(minor: int) -> str:
            return format_money(Money(minor, record.currency), locale)

        def long_date(day: dt.date) -> str:
            return str(format_date(day, "long", locale=locale))

        story: list[Any] = [
            Spacer(1, 4 * mm),
            pdf.paragraph(_("Certificate of attribution"), s.title),
            pdf.paragraph(
                _("This certifies that the work described below was carried out by"),
                s.subtitle,
            ),
            Spacer(1, 7 * mm),
        ]
        image = logo_flowable(logo) if record.named and record.has_logo else None
        if image is not None:
            image.hAlign = "CENTER"
            story += [image, Spacer(1, 5 * mm)]
        story.append(pdf.paragraph(record.partner, s.display))
        if record.place:
            story.append(pdf.paragraph(record.place, s.subtitle))
        story += [
            Spacer(1, 5 * mm),
            HRFlowable(width="40%", thickness=1, color=pdf.ACCENT, spaceAfter=4 * mm),
        ]

        description = record.description_in(locale)
        if description:
            # A heading never ends a page; long words flow on to the next one.
            story += [
                CondPageBreak(30 * mm),
                pdf.paragraph(_("The work, in the partner's words"), s.heading),
                pdf.paragraph(description, s.body),
            ]
        if record.capacity_provided:
            story += [
                CondPageBreak(30 * mm),
                pdf.paragraph(_("Capacity strengthening provided"), s.heading),
                pdf.paragraph(record.capacity_provided, s.body),
            ]

        rows: list[tuple[str, list[str]]] = [
            (_("Pooled fund"), [record.fund_name]),
            (
                _("Funding chain"),
                [
                    _("%(donor)s: %(amount)s", donor=_donor_name(d), amount=money(d.share_minor))
                    for d in record.donors
                ]
                or [record.fund_name],
            ),
            (_("Amount awarded"), [money(record.amount_awarded_minor)]),
            (_("Amount that reached the partner"), [money(record.amount_received_minor)]),
            (
                _("Period of the work"),
                [f"{long_date(record.start_on)} – {long_date(record.end_on)}"],
            ),
        ]
        if record.theme:
            rows.append((_("Theme"), [record.theme]))
        rows.append((_("Reference"), [record.reference]))
        story += [
            CondPageBreak(45 * mm),
            pdf.paragraph(_("The grant"), s.heading),
            _facts_table(rows, s, frame_width),
            Spacer(1, 6 * mm),
            pdf.paragraph(_credit_line(record), s.centred),
        ]

        footer = [
            _("Issued on %(date)s", date=long_date(issued_on)),
            _("Check this certificate at %(url)s", url=verify_url),
            _(
                "That page shows the record as it is published today, "
                "which may have changed since this certificate was issued."
            ),
        ]
        doc = pdf.document(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=17 * mm + QR_SIZE + 8 * mm,
            title=_("Certificate of attribution %(ref)s", ref=record.reference),
            author=record.fund_name,
            subject=record.partner,
            lang=locale,
        )
        decorate = _page_decoration(s, footer, verify_url)
        doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
