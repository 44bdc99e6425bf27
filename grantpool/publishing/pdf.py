"""The certificate of attribution (reportlab), in the partner's language. It is built
from the public record alone, so it says nothing the open data does not."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from ..platform.money import Money, format_money
from .queries import PublicRecord


def certificate_pdf(record: PublicRecord) -> bytes:
    locale = record.language or "en"
    buffer = io.BytesIO()
    with force_locale(locale):
        styles = getSampleStyleSheet()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            title=_("Certificate of attribution %(ref)s", ref=record.reference),
        )

        def p(text: str, style: Any = styles["BodyText"]) -> Paragraph:
            return Paragraph(escape(text), style)

        def money(minor: int) -> str:
            return format_money(Money(minor, record.currency), locale)

        story: list[Any] = [
            p(_("Certificate of attribution"), styles["Title"]),
            p(record.reference),
            Spacer(1, 6 * mm),
            p(record.credit_line(), styles["Heading2"]),
            Spacer(1, 4 * mm),
            p(_("Who did the work: %(who)s", who=record.partner)),
        ]
        if record.place:
            story.append(p(_("Where: %(place)s", place=record.place)))
        story += [
            p(
                _(
                    "When: from %(start)s to %(end)s",
                    start=format_date(record.start_on, "d MMMM y", locale=locale),
                    end=format_date(record.end_on, "d MMMM y", locale=locale),
                )
            ),
            p(_("Amount awarded: %(amount)s", amount=money(record.amount_awarded_minor))),
            p(
                _(
                    "Amount that reached the partner: %(amount)s",
                    amount=money(record.amount_received_minor),
                )
            ),
        ]
        description = record.description_in(locale)
        if description:
            story += [
                Spacer(1, 4 * mm),
                p(_("The work, in the partner's words"), styles["Heading3"]),
            ]
            story.append(p(description))
        if record.capacity_provided:
            story += [
                p(_("Capacity strengthening provided"), styles["Heading3"]),
                p(record.capacity_provided),
            ]
        story += [Spacer(1, 4 * mm), p(_("Funding chain"), styles["Heading3"])]
        for donor in record.donors:
            story.append(
                p(
                    _(
                        "%(donor)s: %(amount)s",
                        donor=donor.name
                        if donor.donor_type != "individual"
                        else _("Individual donors"),
                        amount=money(donor.share_minor),
                    )
                )
            )
        story.append(
            p(_("through %(fund)s, to %(partner)s", fund=record.fund_name, partner=record.partner))
        )
        doc.build(story)
    return buffer.getvalue()
