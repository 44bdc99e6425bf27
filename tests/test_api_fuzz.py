"""The API fuzzed from its own OpenAPI description: no request, however hostile, gets a 5xx,
and every answer is one the description promises (its status and its body).

A bounded, seeded (so repeatable) schemathesis run over /api/v1/openapi.json, in process.
Every operation is tried anonymously and with a bearer token of each role, against a fund
with a call, applications, a review assignment, a grant and its tranches: valid requests
reach those real objects, invalid ones (negative mode) probe the parsing of every
parameter and body. Each run is a handful of examples per operation and identity, so the
whole fuzz stays within about a minute per database.
"""

from __future__ import annotations

import os
import time
import traceback
import zlib
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.accounts.services import create_api_token
from grantpool.grants.models import Tranche
from grantpool.reviews.services import assign_reviewer
from tests.factories import make_donor, make_user
from tests.grants.helpers import make_application, make_grant, make_world

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
]
ROLES = [
    Role.ADMIN.value,
    Role.FUND_MANAGER.value,
    Role.FINANCE_OFFICER.value,
    Role.REVIEWER.value,
    Role.DONOR_VIEWER.value,
    Role.APPLICANT.value,
]
# Examples per operation: anonymous, then per role valid requests on real objects and
# invalid requests (26 per operation in all). GRANTPOOL_FUZZ_SCALE=10 fuzzes ten times
# as long, for a deeper look by hand.
SCALE = int(os.environ.get("GRANTPOOL_FUZZ_SCALE", "1"))
ANONYMOUS_EXAMPLES = 2 * SCALE
VALID_EXAMPLES = 2 * SCALE
INVALID_EXAMPLES = 2 * SCALE


def _world(session: Session) -> tuple[dict[str, str], dict[str, Any]]:
    """A bearer token for each role, and the real objects' ids by path parameter name."""
    world = make_world(session)
    grant = make_grant(session, world)
    application = make_application(session, world)
    donor = make_donor(session, world.manager, currency="USD")
    reviewer = make_user(session, (Role.REVIEWER.value, world.fund.id, None))
    assignment = assign_reviewer(session, world.manager, application, reviewer)
    users = {
        Role.ADMIN.value: make_user(session, Role.ADMIN.value),
        Role.FUND_MANAGER.value: world.manager,
        Role.FINANCE_OFFICER.value: world.officer,
        Role.REVIEWER.value: reviewer,
        Role.DONOR_VIEWER.value: make_user(session, (Role.DONOR_VIEWER.value, None, donor.id)),
        Role.APPLICANT.value: world.grantee,
    }
    tokens = {role: create_api_token(session, user, "fuzz")[1] for role, user in users.items()}
    tranche = session.scalars(select(Tranche).where(Tranche.grant_id == grant.id)).first()
    assert tranche is not None
    ids = {
        "fund_id": world.fund.id,
        "donor_id": donor.id,
        "call_id": world.call.id,
        "organisation_id": world.organisation.id,
        "application_id": application.id,
        "reference": application.reference,
        "grant_id": grant.id,
        "tranche_id": tranche.id,
        "assignment_id": assignment.id,
    }
    return tokens, ids


def _runs(operation: Any, tokens: dict[str, str], ids: dict[str, Any]) -> list[tuple]:
    """(who, headers, generation mode, fixed path parameters, examples) for one operation."""
    known = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
    # Schemathesis asks for gzip like a browser, but its WSGI transport hands the checks
    # the body as sent: uncompressed answers, so that they read what a client decodes.
    plain = {"Accept-Encoding": "identity"}
    runs: list[tuple] = [("anonymous", plain, GenerationMode.POSITIVE, None, ANONYMOUS_EXAMPLES)]
    for role in ROLES:
        headers = {**plain, "Authorization": f"Bearer {tokens[role]}"}
        runs.append((role, headers, GenerationMode.POSITIVE, known or None, VALID_EXAMPLES))
        runs.append((role, headers, GenerationMode.NEGATIVE, None, INVALID_EXAMPLES))
    return runs


def _fuzz(client: Any, strategy: Any, headers: dict[str, str], examples: int, name: str) -> int:
    """Send `examples` generated requests; raise on the first that fails a check. Each
    run draws from its own fixed seed (from `name`): the same requests every time, but not
    the same draws for every operation and identity."""
    sent = 0

    @seed(zlib.crc32(name.encode()))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Any) -> None:
        nonlocal sent
        sent += 1
        response = case.call(session=client, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    send()
    return sent


def test_no_request_gets_a_server_error_or_an_undocumented_answer(app: Flask, session: Session):
    tokens, ids = _world(session)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The fixtures' client: each request starts with an empty `g` and sees what the test
    # (and earlier requests) committed, as separate requests would in production.
    client = app.test_client()
    cases = 0
    failures: list[str] = []
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for who, headers, mode, path_parameters, examples in _runs(operation, tokens, ids):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            try:
                name = f"{operation.label} {who} {mode.value}"
                cases += _fuzz(client, strategy, headers, examples, name)
            except Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
            except (Exception, BaseExceptionGroup) as failure:
                report = "".join(traceback.format_exception(failure))
                failures.append(f"{operation.label} as {who} ({mode.value}):\n{report}")
    elapsed = time.monotonic() - started
    print(f"\nAPI fuzz: {cases} requests in {elapsed:.0f} s")
    assert not failures, "\n\n".join(failures)
    assert cases > 1000 * SCALE
