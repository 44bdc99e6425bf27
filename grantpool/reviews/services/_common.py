"""What the review operations share: the application states a review may start from, the
longest note kept, and the audited move of an application to another state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ...accounts.models import User
from ...intake.models import Application
from ...intake.rules import ApplicationState, check_application_transition
from ...platform.audit import record_event

REVIEWABLE_STATES = (
    ApplicationState.SUBMITTED.value,
    ApplicationState.IN_REVIEW.value,
    ApplicationState.MORE_INFO_REQUESTED.value,
)
NOTE_MAX = 5000


def set_application_state(
    session: Session, actor: User | None, application: Application, target: str, now: dt.datetime
) -> None:
    """Move the application (the transition table of intake decides) and audit it."""
    before = application.state
    check_application_transition(before, target)
    application.state = ApplicationState(target)
    session.flush()
    record_event(
        session,
        actor,
        "application.state",
        application,
        before={"state": before},
        after={"state": target},
        at=now,
    )
