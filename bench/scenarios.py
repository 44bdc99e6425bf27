"""Every page `make bench` loads, in one list: the minimal route first (each page's ratio
is to it), then the applicant's pages, the reviewer queue and the dashboard signed in as
the people who use them (staff made by bench.money), and the 360Giving export of every
published grant, whose workers' peak memory is measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bench import browser
from bench.rows import Generated


@dataclass
class Scenario:
    name: str
    path: str
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    target: float | None = None  # required ratio to the minimal route
    max_statements: int | None = None
    # Report the workers' peak resident memory while this page is served (an export).
    measure_memory: bool = False
    connections: int | None = None  # fewer for long responses


@dataclass(frozen=True)
class SignedIn:
    """The session cookies of the browsers the pages are loaded in, and the applicant's
    draft (made by bench.run.sign_in)."""

    applicant: str
    reviewer: str
    manager: str
    draft_id: int


def scenarios(generated: Generated, signed_in: SignedIn) -> list[Scenario]:
    body = json.dumps(
        {
            "organisation_id": generated.applicant_organisation_id,
            "answers": {"summary": "We will repair two wells.", "people": "120", "theme": "water"},
            "requested_minor": 250_000,
            "currency": "USD",
            "language": "en",
        }
    )
    return [
        Scenario("minimal route (/healthz)", "/healthz"),
        # What signing in alone costs (one statement, a small JSON answer): the ceiling of
        # any page a signed-in browser asks for.
        Scenario(
            "signed in, nothing more (/api/v1/me)",
            "/api/v1/me",
            headers=browser.headers(signed_in.applicant),
        ),
        Scenario("public call page", f"/calls/{generated.open_call_id}"),
        Scenario(
            "application form page",
            f"/applications/{signed_in.draft_id}/page/1",
            headers=browser.headers(signed_in.applicant),
            target=0.40,
            max_statements=8,
        ),
        Scenario(
            "application submission (API)",
            f"/api/v1/calls/{generated.open_call_id}/applications",
            method="POST",
            body=body,
            headers={
                "Authorization": f"Bearer {generated.applicant_token}",
                "Content-Type": "application/json",
            },
            target=0.25,
            max_statements=12,
        ),
        Scenario("reviewer queue", "/reviews", headers=browser.headers(signed_in.reviewer)),
        Scenario(
            f"dashboard ({generated.counts.get('grants', 0):,} grants)",
            f"/dashboard/funds/{generated.fund_id}",
            headers=browser.headers(signed_in.manager),
            target=0.10,
            max_statements=20,
        ),
        Scenario(
            f"360Giving export ({generated.counts.get('attribution_records', 0):,} records)",
            "/open-data/360giving.json",
            measure_memory=True,
            connections=2,
        ),
    ]
