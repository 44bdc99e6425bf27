"""A PDF receipt of a submitted application, in the applicant's language (reportlab)."""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from ..calls.rules import QuestionKind, all_questions, text_in
from ..organisations.rules import area_name, country_name
from ..platform.money import Money, format_money
from .models import Application


def answer_as_text(question: dict[str, Any], value: Any, currency: str, locale: str) -> str:
    """A checked answer as a person reads it."""
    kind = question["kind"]
    if value in (None, "", []):
        return "—"
    if kind == QuestionKind.MONEY:
        return format_money(Money(int(value), currency), locale)
    if kind == QuestionKind.YES_NO:
        return _("Yes") if value == "yes" else _("No")
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return ", ".join(value)
    if kind == QuestionKind.LOCATION:
        place = country_name(value.get("country", ""))
        return f"{place}, {area_name(value['area'])}" if value.get("area") else place
    if kind == QuestionKind.FILE:
        return str(value.get("name") or _("File"))
    if kind == QuestionKind.BUDGET_TABLE:
        return "; ".join(
            f"{row['line']}: {format_money(Money(row['amount_minor'], currency), locale)}"
            for row in value
        )
    return str(value)


def receipt_pdf(application: Application) -> bytes:
    locale = application.language
    call = application.call
    buffer = io.BytesIO()
    with force_locale(locale):
        styles = getSampleStyleSheet()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            title=_("Application %(reference)s", reference=application.reference),
        )
        story: list[Any] = [
            Paragraph(
                escape(_("Application %(reference)s", reference=application.reference)),
                styles["Title"],
            ),
            Paragraph(escape(call.title_in(locale)), styles["Heading2"]),
        ]
        facts = [
            (_("Organisation"), application.organisation.name),
            (
                _("Amount requested"),
                format_money(application.requested, locale) if application.requested else "—",
            ),
            (
                _("Sent"),
                application.submitted_at.isoformat(timespec="minutes")
                if application.submitted_at
                else "—",
            ),
            (_("Channel"), application.channel),
        ]
        for label, value in facts:
            story.append(Paragraph(f"<b>{escape(label)}</b>: {escape(value)}", styles["Normal"]))
        story.append(Spacer(1, 6 * mm))
        for question in all_questions(call.questions):
            if question["key"] not in application.answers:
                continue
            story.append(Paragraph(escape(text_in(question["label"], locale)), styles["Heading4"]))
            text = answer_as_text(
                question, application.answers[question["key"]], application.currency, locale
            )
            story.append(Paragraph(escape(text).replace("\n", "<br/>"), styles["Normal"]))
        doc.build(story)
    return buffer.getvalue()
