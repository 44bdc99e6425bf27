"""State machines: the column type that stores a state, and the one check every move
between two states passes.

A capability declares its states as a `StrEnum`, one transition table (each state to the
states it may become) and the words a person reads for each state. Its models store the
state with `state_enum`, its rules refuse a move with `check_transition`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import Enum

from .errors import InvalidTransition

E = TypeVar("E", bound=StrEnum)

# Builds the refusal from the words for the current and the target state.
Refusal = Callable[[str, str], str]


def _values(states: type[StrEnum]) -> list[str]:
    return [state.value for state in states]


def state_enum(states: type[StrEnum], *, length: int, name: str = "state_known") -> Enum:
    """The column type of a state. The value is stored ("active", never the member name
    "ACTIVE") as VARCHAR(length) on every database, behind a CHECK constraint named after
    `name` through the naming convention (ck_<table>_<name>) that admits exactly the
    states; a value read back is the enum member. A string that is not a state is refused
    before it reaches the database."""
    return Enum(
        states,
        native_enum=False,
        create_constraint=True,
        values_callable=_values,
        length=length,
        name=name,
        validate_strings=True,
    )


def _refusal(current: str, target: str) -> str:
    return _(
        "This is “%(current)s” and cannot become “%(target)s”.", current=current, target=target
    )


def _state(states: type[E], value: str) -> E:
    try:
        return states(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a state of {states.__name__}") from None


def check_transition(
    transitions: Mapping[E, frozenset[E]],
    current: str,
    target: str,
    labels: Mapping[E, str | LazyString],
    refusal: Refusal = _refusal,
) -> None:
    """Raise InvalidTransition unless `transitions` lets `current` become `target`; the
    message names both states in the reader's words (`labels`), through `refusal` when a
    capability words it its own way. A value that is not a state at all is a programming
    error, not a refusal: ValueError."""
    states = type(next(iter(transitions)))
    now, wanted = _state(states, current), _state(states, target)
    if wanted not in transitions[now]:
        raise InvalidTransition(refusal(str(labels[now]), str(labels[wanted])))
