"""What a reviewer reads: the application as its reviewer may see it (with a blind call,
nothing that names or reaches the applicant), its attachments by number, and whether the
other reviews show yet. Reads only."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..intake.models import Application
from ..platform.money import Money, format_money
from .models import InfoRequest, ReviewAssignment, ReviewSettings
from .rules import AssignmentState, redact


def others_visible(settings: ReviewSettings, assignment: ReviewAssignment) -> bool:
    """Whether the reviewer may read the other reviews: always, unless the call hides them
    until one's own review is sent."""
    return not settings.hide_other_reviews or assignment.state == AssignmentState.SUBMITTED


def identifying_strings(application: Application) -> list[str]:
    """Everything that names or reaches the applicant organisation or its people."""
    organisation = application.organisation
    values = [
        organisation.name,
        organisation.short_name,
        organisation.registration_number,
        organisation.org_id,
        organisation.contact_email,
        organisation.contact_phone,
        organisation.locality,
        application.reference,
    ]
    return [v for v in values if v]


def reviewer_view(
    session: Session, assignment: ReviewAssignment, settings: ReviewSettings, locale: str
) -> dict[str, Any]:
    """The application as its reviewer sees it: with a blind call, no organisation name,
    contacts, identifiers, reference or file names, and those words struck from answers."""
    from ..calls.rules import QuestionKind, all_questions, is_shown, text_in
    from ..organisations.rules import country_name

    application = assignment.application
    call = application.call
    blind = settings.blind
    secrets = identifying_strings(application) if blind else []
    answers: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    for question in all_questions(call.questions):
        key = question["key"]
        value = application.answers.get(key)
        if value in (None, "", [], {}) or not is_shown(question, application.answers):
            continue
        label = text_in(question["label"], locale)
        kind = question["kind"]
        if kind == QuestionKind.FILE:
            number = len(attachments) + 1
            attachments.append(
                {
                    "number": number,
                    "question": label,
                    "name": _("Attachment %(n)s", n=number) if blind else value.get("name"),
                    "content_type": value.get("content_type"),
                    "size": value.get("size"),
                }
            )
            text_value = str(attachments[-1]["name"])
        elif kind == QuestionKind.MONEY:
            text_value = format_money(Money(int(value), application.currency), locale)
        elif kind == QuestionKind.BUDGET_TABLE:
            text_value = "\n".join(
                f"{row['line']}: {format_money(Money(int(row['amount_minor']), application.currency), locale)}"  # noqa: E501
                for row in value
            )
        elif kind == QuestionKind.LOCATION:
            text_value = country_name(value.get("country") or "") + (
                f" ({value['area']})" if value.get("area") else ""
            )
        elif isinstance(value, list):
            text_value = ", ".join(str(v) for v in value)
        else:
            text_value = str(value)
        answers.append({"key": key, "question": label, "answer": redact(text_value, secrets)})
    organisation = application.organisation
    return {
        "assignment_id": assignment.id,
        "blind": blind,
        "reference": None if blind else application.reference,
        "organisation": None if blind else organisation.name,
        "country": organisation.country,
        "org_type": organisation.org_type,
        "call_title": call.title_in(locale),
        "requested": application.requested,
        "language": application.language,
        "answers": answers,
        "attachments": attachments,
        "info_requests": [
            {"question": redact(i.question, secrets), "answer": redact(i.answer, secrets)}
            for i in session.scalars(
                select(InfoRequest)
                .where(
                    InfoRequest.application_id == application.id,
                    InfoRequest.answered_at.is_not(None),
                )
                .order_by(InfoRequest.id)
            )
        ],
    }


def attachment_of(assignment: ReviewAssignment, number: int) -> dict[str, Any] | None:
    """The stored file behind a reviewer's attachment number (1-based), if any."""
    from ..calls.rules import QuestionKind, all_questions

    application = assignment.application
    files = [
        application.answers[q["key"]]
        for q in all_questions(application.call.questions)
        if q["kind"] == QuestionKind.FILE and application.answers.get(q["key"])
    ]
    if not 1 <= number <= len(files):
        return None
    found: dict[str, Any] = files[number - 1]
    return found
