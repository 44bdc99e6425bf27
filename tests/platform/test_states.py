"""State machines: one check names the states in words, and the database stores a state
as its value and refuses anything else."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, inspect, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from grantpool.attribution import rules as attribution
from grantpool.calls import rules as calls
from grantpool.calls.models import Call
from grantpool.grants.rules import states as grants
from grantpool.intake import rules as intake
from grantpool.models import metadata
from grantpool.platform.audit import snapshot
from grantpool.platform.errors import InvalidTransition
from grantpool.platform.states import check_transition, state_enum
from grantpool.reviews import rules as reviews
from tests.factories import make_call


class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"
    LOCKED = "locked"


DOOR_TRANSITIONS = {
    Door.OPEN: frozenset({Door.SHUT}),
    Door.SHUT: frozenset({Door.OPEN, Door.LOCKED}),
    Door.LOCKED: frozenset({Door.SHUT}),
}
DOOR_LABELS = {Door.OPEN: _l("Wide open"), Door.SHUT: _l("Shut"), Door.LOCKED: _l("Locked")}


def test_a_refusal_names_both_states_in_words(babel_app: Flask) -> None:
    check_transition(DOOR_TRANSITIONS, "shut", "locked", DOOR_LABELS)
    check_transition(DOOR_TRANSITIONS, Door.LOCKED, Door.SHUT, DOOR_LABELS)
    with pytest.raises(InvalidTransition) as refused:
        check_transition(DOOR_TRANSITIONS, Door.OPEN, "locked", DOOR_LABELS)
    assert refused.value.message == "This is “Wide open” and cannot become “Locked”."


def test_a_capability_may_word_its_refusal_its_own_way(babel_app: Flask) -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_transition(
            DOOR_TRANSITIONS,
            "locked",
            "open",
            DOOR_LABELS,
            lambda current, target: f"{current} → {target}?",
        )
    assert refused.value.message == "Locked → Wide open?"


@pytest.mark.parametrize(
    ("current", "target"), [("ajar", "shut"), ("open", "ajar"), ("OPEN", "shut")]
)
def test_a_value_that_is_no_state_is_a_programming_error(
    babel_app: Flask, current: str, target: str
) -> None:
    with pytest.raises(ValueError, match="is not a state of Door"):
        check_transition(DOOR_TRANSITIONS, current, target, DOOR_LABELS)


MACHINES = [
    (grants.GrantState, grants.GRANT_TRANSITIONS, grants.GRANT_STATE_LABELS),
    (grants.TrancheState, grants.TRANCHE_TRANSITIONS, grants.TRANCHE_STATE_LABELS),
    (grants.DisbursementState, grants.DISBURSEMENT_TRANSITIONS, grants.DISBURSEMENT_STATE_LABELS),
    (grants.ReportState, grants.REPORT_TRANSITIONS, grants.REPORT_STATE_LABELS),
    (calls.CallState, calls.CALL_TRANSITIONS, calls.CALL_STATE_LABELS),
    (intake.ApplicationState, intake.APPLICATION_TRANSITIONS, intake.STATE_LABELS),
    (reviews.AssignmentState, reviews.ASSIGNMENT_TRANSITIONS, reviews.ASSIGNMENT_LABELS),
    (attribution.ConsentState, attribution.CONSENT_TRANSITIONS, attribution.CONSENT_LABELS),
]


@pytest.mark.parametrize(("states", "transitions", "labels"), MACHINES)
def test_every_state_has_its_moves_and_its_words(
    babel_app: Flask, states: type[StrEnum], transitions: dict, labels: dict
) -> None:
    assert set(transitions) == set(states)
    assert set(labels) == set(states)
    assert all(str(label).strip() for label in labels.values())


def test_each_capability_refuses_in_words(babel_app: Flask) -> None:
    refusals = [
        (lambda: grants.check_grant_transition("closed", "active"), "“Closed”", "“Active”"),
        (lambda: grants.check_tranche_transition("paid", "scheduled"), "“Paid”", "“Scheduled”"),
        (
            lambda: grants.check_disbursement_transition("rejected", "paid"),
            "“Release refused”",
            "“Paid”",
        ),
        (lambda: calls.check_call_transition("archived", "open"), "Archived", "Open"),
        (lambda: attribution.check_consent_transition("not_given", "withdrawn"), "Not given", ""),
        (lambda: intake.check_application_transition("awarded", "withdrawn"), "“Awarded”", ""),
    ]
    for refuse, current, target in refusals:
        with pytest.raises(InvalidTransition) as refused:
            refuse()
        message = str(refused.value.message)
        assert current in message and target in message, message
        assert "_" not in message, message  # no stored value such as "not_given"


def test_a_state_column_stores_the_value_and_reads_back_the_member(session: Session) -> None:
    call = make_call(session)
    session.flush()
    stored = session.scalar(text("SELECT state FROM calls WHERE id = :id"), {"id": call.id})
    assert stored == "draft"
    session.expire(call)
    assert call.state is calls.CallState.DRAFT
    assert json.dumps({"state": call.state}) == '{"state": "draft"}'
    assert snapshot(call, ["state"]) == {"state": "draft"}
    assert type(snapshot(call, ["state"])["state"]) is str
    assert session.scalar(select(Call.id).where(Call.state == "draft", Call.id == call.id))


def test_the_database_refuses_a_state_that_does_not_exist(session: Session) -> None:
    call = make_call(session)
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            text("UPDATE calls SET state = 'half_open' WHERE id = :id"), {"id": call.id}
        )
    # The member's name is not its value either.
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text("UPDATE calls SET state = 'OPEN' WHERE id = :id"), {"id": call.id})
    with pytest.raises(StatementError), session.begin_nested():
        session.execute(update(Call).where(Call.id == call.id).values(state="half_open"))
    session.refresh(call)
    assert call.state == calls.CallState.DRAFT


def _check_constraints_of_models() -> dict[str, set[str]]:
    return {
        table.name: {
            str(c.name) for c in table.constraints if isinstance(c, CheckConstraint) and c.name
        }
        for table in metadata.sorted_tables
    }


def test_the_migrated_database_has_the_check_constraints_the_models_declare(
    session: Session,
) -> None:
    """alembic check does not compare CHECK constraints: this does, by name, on the
    database the migrations built."""
    inspector = inspect(session.connection())
    in_database = {
        table: {str(c["name"]) for c in inspector.get_check_constraints(table) if c["name"]}
        for table in _check_constraints_of_models()
    }
    assert in_database == _check_constraints_of_models()


def test_a_state_constraint_admits_exactly_the_states() -> None:
    """The constraint the migrations created (0005) is the one the model declares."""
    ddl = str(CreateTable(metadata.tables["grants"]).compile(dialect=sqlite.dialect()))
    assert (
        "CONSTRAINT ck_grants_state_known CHECK "
        "(state IN ('active', 'suspended', 'closing', 'closed', 'terminated'))"
    ) in ddl
    assert "VARCHAR(16)" in ddl.split("\n\tstate ")[1].split(",")[0]
    assert state_enum(grants.GrantState, length=16).enums == [s.value for s in grants.GrantState]
