"""Realistic data at scale, written with bulk inserts (the services would take hours).

Everything here is what the services would have produced: the same tables, states and
invariants, so the pages and exports read it as they would read real data. `generate`
runs the generators in order: funds, donors, organisations, their applicants and calls
with their applications here, then grants, money, reviews and attribution
(bench.money), each reading what the ones before wrote.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from bench.money import generate_money
from bench.rows import Generated, Scale, ids_of, insert_rows
from grantpool.organisations.rules import OrganisationType
from grantpool.platform.time import now_utc

__all__ = ["Generated", "Scale", "generate"]
COUNTRIES = {
    "KE": ["KE-30", "KE-47", "KE-13"],
    "UG": ["UG-N", "UG-C"],
    "CI": ["CI-VB", "CI-AB"],
    "BF": ["BF-01", "BF-02"],
    "PK": ["PK-SD", "PK-PB"],
    "SN": ["SN-DK"],
    "CD": ["CD-NK", "CD-SK"],
    "HT": ["HT-OU"],
}
LOCAL_TYPES = [
    t.value
    for t in (
        OrganisationType.COMMUNITY_BASED,
        OrganisationType.LOCAL_NGO,
        OrganisationType.NATIONAL_NGO,
        OrganisationType.INFORMAL_GROUP,
        OrganisationType.LOCAL_GOVERNMENT,
    )
]
THEMES = ["water", "food", "health", "education", "livelihoods"]
QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "summary",
        "kind": "long_text",
        "label": {"en": "What will you do?", "fr": "Que ferez-vous ?"},
        "help": {"en": "A few sentences."},
        "required": True,
        "word_limit": 200,
        "choices": [],
        "show_if": None,
        "section": "",
    },
    {
        "key": "people",
        "kind": "number",
        "label": {"en": "How many people will take part?"},
        "help": {},
        "required": True,
        "choices": [],
        "show_if": None,
        "section": "",
    },
    {
        "key": "theme",
        "kind": "single_choice",
        "label": {"en": "Theme"},
        "help": {},
        "required": True,
        "choices": THEMES,
        "show_if": None,
        "section": "",
    },
    {
        "key": "capacity_strengthening",
        "kind": "long_text",
        "label": {"en": "What support would help your organisation grow stronger? (optional)"},
        "help": {},
        "required": False,
        "word_limit": 200,
        "choices": [],
        "show_if": None,
        "section": "",
    },
]


def generate(engine: Engine, scale: Scale, seed: int = 7) -> Generated:
    """Every generator, in order, from one random source (the same seed, the same data)."""
    rng = random.Random(seed)
    generated = generate_applications(engine, rng, scale)
    generated.counts.update(generate_money(engine, rng, generated, scale))
    return generated


def generate_applications(engine: Engine, rng: random.Random, scale: Scale) -> Generated:
    """The fund, its donors, the organisations with one applicant each (the first with an
    API token), the calls (the last one open) and their applications."""
    from grantpool.accounts.services import API_TOKEN_PREFIX, token_hash

    now = now_utc()
    counts: dict[str, int] = {}

    counts["funds"] = insert_rows(
        engine,
        "funds",
        iter(
            [
                {
                    "name": "Bench Pooled Fund",
                    "description": "Benchmark data",
                    "base_currency": "USD",
                    "timezone": "Africa/Nairobi",
                    "created_at": now - dt.timedelta(days=900),
                }
            ]
        ),
    )
    fund_id = ids_of(engine, "funds")[0]
    counts["donors"] = insert_rows(
        engine,
        "donors",
        (
            {
                "name": f"Donor {i:03d}",
                "donor_type": rng.choice(
                    ["government", "foundation", "multilateral", "private_sector"]
                ),
                "country": rng.choice(["NO", "GB", "FR", "DE", "SE", "NL", "US", "CA"]),
                "org_id": None,
                "currency": rng.choice(["USD", "EUR"]),
                "created_at": now,
            }
            for i in range(scale.donors)
        ),
    )

    def organisations() -> Iterator[dict[str, Any]]:
        for i in range(scale.organisations):
            country = rng.choice(list(COUNTRIES))
            yield {
                "name": f"Community Organisation {i:05d}",
                "short_name": None,
                "org_type": rng.choice(LOCAL_TYPES),
                "country": country,
                "area": rng.choice(COUNTRIES[country]),
                "locality": None,
                "registered": rng.random() < 0.7,
                "registration_number": None,
                "org_id": None,
                "women_led": rng.random() < 0.4,
                "youth_led": rng.random() < 0.3,
                "refugee_migrant_led": rng.random() < 0.1,
                "disability_led": rng.random() < 0.05,
                "contact_email": f"org{i}@bench.example.org",
                "contact_phone": None,
                "created_at": now,
                "updated_at": now,
            }

    counts["organisations"] = insert_rows(engine, "organisations", organisations())
    organisation_ids = ids_of(engine, "organisations")

    counts["users"] = insert_rows(
        engine,
        "users",
        (
            {
                "email": f"applicant{i}@bench.example.org",
                "name": f"Applicant {i}",
                "password_hash": None,
                "locale": "en",
                "timezone": None,
                "active": True,
                "created_at": now,
                "last_login_at": None,
                "password_changed_at": None,
            }
            for i in range(len(organisation_ids))
        ),
    )
    user_ids = ids_of(engine, "users")
    counts["memberships"] = insert_rows(
        engine,
        "memberships",
        (
            {"user_id": u, "organisation_id": o, "created_at": now}
            for u, o in zip(user_ids, organisation_ids, strict=True)
        ),
    )
    secret = API_TOKEN_PREFIX + "bench-" + "x" * 30
    insert_rows(
        engine,
        "api_tokens",
        iter(
            [
                {
                    "user_id": user_ids[0],
                    "name": "bench",
                    "prefix": secret[:10],
                    "token_hash": token_hash(secret),
                    "created_at": now,
                    "last_used_at": now,
                    "revoked_at": None,
                }
            ]
        ),
    )

    def calls() -> Iterator[dict[str, Any]]:
        for i in range(scale.calls):
            is_open = i == scale.calls - 1
            opens = now - dt.timedelta(days=30 * (scale.calls - i) + 40)
            closes = now + dt.timedelta(days=30) if is_open else opens + dt.timedelta(days=40)
            yield {
                "fund_id": fund_id,
                "title": {
                    "en": f"Call {i + 1}: community action",
                    "fr": f"Appel {i + 1} : action locale",
                },
                "description": {"en": "Small, flexible grants for local organisations."},
                "currency": "USD",
                "exchange_rate": None,
                "budget_minor": 500_000_000,
                "min_request_minor": 100_000,
                "max_request_minor": 5_000_000,
                "opens_at": opens,
                "closes_at": closes,
                "eligibility": {},
                "channels": ["web", "api", "spreadsheet"],
                "questions": QUESTIONS,
                "tranche_template": None,
                "state": "open" if is_open else "closed",
                "created_at": opens,
                "opened_at": opens,
                "closed_at": None if is_open else closes,
            }

    counts["calls"] = insert_rows(engine, "calls", calls())
    call_ids = ids_of(engine, "calls")

    states = (
        ["submitted"] * 5 + ["in_review"] * 3 + ["declined"] * 6 + ["withdrawn"] + ["awarded"] * 5
    )

    def applications() -> Iterator[dict[str, Any]]:
        for i in range(scale.applications):
            call_index = i % len(call_ids)
            organisation_index = rng.randrange(len(organisation_ids))
            submitted = now - dt.timedelta(
                days=30 * (len(call_ids) - call_index), minutes=rng.randrange(60 * 24 * 20)
            )
            state = rng.choice(states)
            yield {
                "call_id": call_ids[call_index],
                "organisation_id": organisation_ids[organisation_index],
                "created_by_id": user_ids[organisation_index],
                "answers": {
                    "summary": "We will repair wells and train a committee.",
                    "people": str(rng.randrange(20, 2000)),
                    "theme": rng.choice(THEMES),
                },
                "requested_minor": rng.randrange(100_000, 5_000_000, 100),
                "currency": "USD",
                "channel": rng.choice(["web", "web", "api", "spreadsheet", "odk"]),
                "language": rng.choice(["en", "fr"]),
                "state": state,
                "reference": f"GP-{submitted.year}-{i + 1:05d}",
                "created_at": submitted,
                "updated_at": submitted,
                "submitted_at": submitted,
                "withdrawn_at": submitted if state == "withdrawn" else None,
                "idempotency_key": None,
                "request_fingerprint": None,
            }

    counts["applications"] = insert_rows(engine, "applications", applications())
    return Generated(
        fund_id=fund_id,
        open_call_id=call_ids[-1],
        applicant_token=secret,
        applicant_organisation_id=organisation_ids[0],
        counts=counts,
    )
