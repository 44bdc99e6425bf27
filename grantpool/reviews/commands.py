"""What a person asks the review operations to do. A form (forms.py) or an API schema
(schemas.py) parses the request into one of these; the service then checks only the
domain's rules (the rubric, the call's bounds and envelope, the states).

Amounts are integer minor units in the call's currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from .rules import DecisionKind


class Keep(Enum):
    """A setting the change leaves as it is, where None is itself a value (no due date)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class SettingsChange:
    """A change to a call's review settings; a field left None keeps its saved value.
    `criteria` and `decline_reasons` are as typed, cleaned by the rules on saving."""

    criteria: tuple[Mapping[str, Any], ...] | None = None
    staff_weight: int | None = None
    panel_weight: int | None = None
    blind: bool | None = None
    hide_other_reviews: bool | None = None
    spread_threshold: int | None = None  # basis points
    decline_reasons: tuple[Mapping[str, Any], ...] | None = None
    due_at: dt.datetime | Literal[Keep.KEEP] | None = KEEP


@dataclass(frozen=True)
class AutoAssignment:
    """Bring every sent application of a call up to this many reviewers."""

    per_application: int
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConflictAnswer:
    """A reviewer's answer, before seeing the application, to "do you have a conflict?"."""

    has_conflict: bool
    nature: str = ""


@dataclass(frozen=True)
class ScoreSheet:
    """A reviewer's scores (criterion key to the chosen option), recommendation and
    comment; `submit` sends the review, otherwise it is kept as a draft."""

    scores: Mapping[str, str]
    recommendation: str | None = None
    comment: str = ""
    submit: bool = False


@dataclass(frozen=True)
class DecisionProposal:
    """To award an amount, or to decline with reasons (keys of the call's decline reasons)
    and feedback in the applicant's language."""

    kind: DecisionKind
    amount_minor: int | None = None
    reason: str = ""
    reason_keys: tuple[str, ...] = ()
    feedback_text: str = ""


@dataclass(frozen=True)
class DecisionRejection:
    """The second fund manager sends a proposal back, saying why."""

    note: str


@dataclass(frozen=True)
class MoreInfoRequest:
    """What the fund manager asks the applicant."""

    question: str


@dataclass(frozen=True)
class InfoAnswer:
    """The applicant's answer; `send` returns the application to review, otherwise the
    answer is kept as a draft."""

    text: str
    send: bool = False
