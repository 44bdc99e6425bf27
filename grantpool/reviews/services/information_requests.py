"""Asking the applicant for more information, and the applicant's answer (a draft at
every save; sending returns the application to review)."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ...accounts.models import User
from ...intake.models import Application
from ...intake.rules import ApplicationState
from ...platform.audit import record_event
from ...platform.errors import InvalidTransition, NotPermitted, ValidationFailed
from ...platform.time import now_utc
from ..commands import InfoAnswer, MoreInfoRequest
from ..models import InfoRequest
from ..queries import open_decision
from ..rules import DecisionState
from ._common import NOTE_MAX, set_application_state
from .notifications import notify_applicant


def request_more_info(
    session: Session,
    actor: User,
    application: Application,
    request: MoreInfoRequest,
    now: dt.datetime | None = None,
) -> InfoRequest:
    """Ask the applicant a question: the application waits for the answer, and no
    decision may be pending meanwhile."""
    now = now or now_utc()
    question = request.question.strip()
    if not question:
        raise ValidationFailed.single("question", _("Write what the applicant should tell you."))
    if len(question) > NOTE_MAX:
        raise ValidationFailed.single("question", _("This text is too long."))
    decision = open_decision(session, application)
    if decision is not None and decision.state == DecisionState.PROPOSED:
        raise InvalidTransition(_("A decision is proposed: confirm or reject it first."))
    set_application_state(
        session, actor, application, ApplicationState.MORE_INFO_REQUESTED.value, now
    )
    info = InfoRequest(
        application_id=application.id,
        requested_by_id=actor.id,
        question=question,
        requested_at=now,
        answer_draft="",
    )
    session.add(info)
    session.flush()
    record_event(
        session,
        actor,
        "application.more_info",
        info,
        object_type="info_request",
        after={"application_id": application.id, "question": question},
        at=now,
    )
    notify_applicant(session, application, info_request=info)
    return info


def answer_info_request(
    session: Session,
    actor: User,
    info: InfoRequest,
    answer: InfoAnswer,
    *,
    now: dt.datetime | None = None,
) -> InfoRequest:
    """The applicant's answer: kept as a draft at every save; sending returns the
    application to review."""
    now = now or now_utc()
    application = session.get(Application, info.application_id)
    assert application is not None
    if not actor.belongs_to(application.organisation_id):
        raise NotPermitted()
    if info.answered_at is not None:
        raise InvalidTransition(_("You have already answered this question."))
    text = answer.text.strip()
    if len(text) > 20_000:
        raise ValidationFailed.single("answer", _("This answer is too long."))
    info.answer_draft = text
    session.flush()
    if not answer.send:
        return info
    if not text:
        raise ValidationFailed.single("answer", _("Write your answer before sending it."))
    info.answer = text
    info.answered_at = now
    info.answered_by_id = actor.id
    set_application_state(session, actor, application, ApplicationState.IN_REVIEW.value, now)
    record_event(
        session,
        actor,
        "application.more_info_answered",
        info,
        object_type="info_request",
        after={"application_id": application.id},
        at=now,
    )
    return info
