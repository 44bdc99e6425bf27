"""Pure rules of an application: its states and its reference."""

from __future__ import annotations

import re
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..platform.states import check_transition


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    MORE_INFO_REQUESTED = "more_info_requested"
    AWARDED = "awarded"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


S = ApplicationState
APPLICATION_TRANSITIONS: dict[ApplicationState, frozenset[ApplicationState]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.MORE_INFO_REQUESTED, S.AWARDED, S.DECLINED, S.WITHDRAWN}),
    S.MORE_INFO_REQUESTED: frozenset({S.IN_REVIEW}),
    S.AWARDED: frozenset(),
    S.DECLINED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

STATE_LABELS = {
    S.DRAFT: _l("Draft – not sent yet"),
    S.SUBMITTED: _l("Received"),
    S.IN_REVIEW: _l("Being reviewed"),
    S.MORE_INFO_REQUESTED: _l("More information requested"),
    S.AWARDED: _l("Awarded"),
    S.DECLINED: _l("Not funded"),
    S.WITHDRAWN: _l("Withdrawn"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS[ApplicationState(state)])


def _application_refusal(current: str, _target: str) -> str:
    return _("This application is “%(state)s” and cannot change that way.", state=current)


def check_application_transition(current: str, target: str) -> None:
    check_transition(APPLICATION_TRANSITIONS, current, target, STATE_LABELS, _application_refusal)


def can_withdraw(state: str) -> bool:
    return S.WITHDRAWN in APPLICATION_TRANSITIONS[ApplicationState(state)]


_REFERENCE = re.compile(r"^GP-\d{4}-\d{5,}$")


def format_reference(year: int, number: int) -> str:
    """A short reference people can read over the phone: GP-2026-00042."""
    return f"GP-{year:04d}-{number:05d}"


def is_reference(text: str) -> bool:
    return bool(_REFERENCE.fullmatch(text or ""))
