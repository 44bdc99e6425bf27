"""The grant agreement as a PDF (reportlab), in the grant's language."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..platform.money import format_money
from . import rules
from .models import Amendment, Grant, Tranche
from .rules import ReportKind, TrancheState


def _reporting_schedule(tranches: Sequence[Tranche]) -> list[tuple[str, str]]:
    """Which reports are due before which tranche, read from the tranches' conditions."""
    rows: list[tuple[str, str]] = []
    for tranche in tranches:
        for leaf in rules.iter_leaves(tranche.conditions):
            if leaf.get("type") != "report_accepted":
                continue
            kind = (
                _("Financial report")
                if leaf["kind"] == ReportKind.FINANCIAL
                else _("Narrative report")
            )
            rows.append(
                (
                    _("%(kind)s on tranche %(n)s", kind=kind, n=leaf["tranche"]),
                    _("before tranche %(n)s is released", n=tranche.number),
                )
            )
    rows.append((_("Final narrative and financial reports"), _("before the grant closes")))
    return rows


def agreement_pdf(
    grant: Grant,
    tranches: Sequence[Tranche],
    *,
    version: int = 1,
    amendments: Sequence[Amendment] = (),
) -> bytes:
    locale = grant.language or "en"
    buffer = io.BytesIO()
    with force_locale(locale):
        styles = getSampleStyleSheet()
        small = styles["BodyText"]
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            title=_("Grant agreement %(ref)s", ref=grant.reference),
        )

        def p(text: str, style: Any = small) -> Paragraph:
            return Paragraph(escape(text), style)

        def day(value: Any) -> str:
            return format_date(value, "d MMMM y", locale=locale)

        story: list[Any] = [
            p(_("Grant agreement %(ref)s", ref=grant.reference), styles["Title"]),
            p(_("Version %(v)s", v=version)),
            Spacer(1, 4 * mm),
            p(_("Parties"), styles["Heading2"]),
            p(_("The fund: %(name)s", name=grant.fund.name)),
            p(_("The partner: %(name)s", name=grant.organisation.name)),
            Spacer(1, 4 * mm),
            p(_("Grant"), styles["Heading2"]),
            p(_("Amount: %(amount)s", amount=format_money(grant.amount, locale))),
            p(_("From %(start)s to %(end)s", start=day(grant.start_on), end=day(grant.end_on))),
            Spacer(1, 4 * mm),
            p(_("Tranches"), styles["Heading2"]),
        ]
        rows: list[list[Any]] = [
            [p(_("Tranche")), p(_("Amount")), p(_("Not before")), p(_("Conditions"))]
        ]
        for tranche in tranches:
            if tranche.state == TrancheState.CANCELLED:
                continue
            rows.append(
                [
                    p(str(tranche.number)),
                    p(format_money(tranche.amount, locale)),
                    p(day(tranche.due_on)),
                    p(rules.describe_conditions(tranche.conditions, locale)),
                ]
            )
        table = Table(rows, colWidths=[18 * mm, 35 * mm, 32 * mm, 89 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ]
            )
        )
        story += [table, Spacer(1, 4 * mm), p(_("Reporting schedule"), styles["Heading2"])]
        for what, when in _reporting_schedule(tranches):
            story.append(p(f"{what}: {when}"))
        story.append(
            p(
                _(
                    "Reports may be written, photographed, spoken as a voice note, or given "
                    "as a simple table of amounts spent."
                )
            )
        )
        if amendments:
            story += [Spacer(1, 4 * mm), p(_("Amendments"), styles["Heading2"])]
            for amendment in amendments:
                story.append(
                    p(
                        _(
                            "Amendment %(n)s of %(date)s: %(reason)s",
                            n=amendment.number,
                            date=day(amendment.amended_at.date()),
                            reason=amendment.reason,
                        )
                    )
                )
        story += [Spacer(1, 10 * mm), p(_("Signatures"), styles["Heading2"])]
        signatures = Table(
            [
                [p(_("For the fund")), p(_("For the partner"))],
                [p(grant.fund.name), p(grant.organisation.name)],
                [p(_("Name:")), p(_("Name:"))],
                [p(_("Signature:")), p(_("Signature:"))],
                [p(_("Date:")), p(_("Date:"))],
            ],
            colWidths=[87 * mm, 87 * mm],
            rowHeights=[None, None, 12 * mm, 16 * mm, 12 * mm],
        )
        signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(signatures)
        doc.build(story)
    return buffer.getvalue()
