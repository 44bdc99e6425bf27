"""Telling the applicant of a status change, by mail in its language."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...intake.models import Application
from ...intake.rules import state_label
from ...platform.i18n import mail_locale
from ...platform.mail import queue_mail
from ...platform.money import format_money
from ..models import Decision, InfoRequest


def applicant_address(session: Session, application: Application) -> str | None:
    if application.created_by_id is not None:
        user = session.get(User, application.created_by_id)
        if user is not None and user.active:
            return user.email
    return application.organisation.contact_email


def notify_applicant(
    session: Session,
    application: Application,
    *,
    decision: Decision | None = None,
    info_request: InfoRequest | None = None,
) -> None:
    """Tell the applicant of a status change: in the language saved on the account of the
    person who applied, else the one the application was made in."""
    to = applicant_address(session, application)
    if not to:
        return
    person = session.get(User, application.created_by_id) if application.created_by_id else None
    language = mail_locale(person.locale if person is not None else None, application.language)
    with force_locale(language):
        status = state_label(application.state)
    queue_mail(
        session,
        to,
        "application_status",
        language,
        reference=application.reference,
        call_title=application.call.title_in(language),
        status=status,
        state=application.state,
        amount=format_money(decision.amount, language) if decision and decision.amount else None,
        feedback=decision.feedback if decision else None,
        question=info_request.question if info_request else None,
    )
