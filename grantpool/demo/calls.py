"""The demo's calls and applications: an open call taking applications through every intake
channel (web, API, spreadsheet, ODK), and a closed call whose applications were sent
before it closed; a draft, and an application withdrawn."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from ..accounts.models import User
from ..calls import services as calls
from ..calls.commands import read_call_details, read_questions
from ..funds.models import Fund
from ..intake import services
from ..organisations.models import Organisation
from ..platform.money import Money
from ..platform.time import now_utc

QUESTIONS = [
    {
        "key": "summary",
        "kind": "long_text",
        "label": {
            "en": "What will you do with the grant?",
            "fr": "Que ferez-vous de la subvention ?",
        },
        "help": {"en": "A few sentences are enough.", "fr": "Quelques phrases suffisent."},
        "required": True,
        "word_limit": 250,
        "section": "",
    },
    {
        "key": "people",
        "kind": "number",
        "label": {
            "en": "How many people will take part?",
            "fr": "Combien de personnes participeront ?",
        },
        "required": True,
        "whole": True,
    },
    {
        "key": "has_partner",
        "kind": "yes_no",
        "label": {
            "en": "Will you work with a partner?",
            "fr": "Travaillerez-vous avec un partenaire ?",
        },
        "required": True,
    },
    {
        "key": "partner_name",
        "kind": "short_text",
        "label": {"en": "Partner's name", "fr": "Nom du partenaire"},
        "required": True,
        "show_if": {"has_partner": "yes"},
    },
    {
        "key": "site_photo",
        "kind": "file",
        "label": {
            "en": "A photo of where you work",
            "fr": "Une photo de votre lieu de travail",
        },
        "help": {
            "en": "It helps reviewers picture the project. You can skip it.",
            "fr": "Elle aide les évaluateurs à se représenter le projet. Vous pouvez passer.",
        },
        "required": False,
        "file_kinds": ["photo", "document"],
        "max_bytes": 5 * 1024 * 1024,
    },
    {
        "key": "budget",
        "kind": "budget_table",
        "label": {"en": "Main costs", "fr": "Principales dépenses"},
        "required": False,
    },
]


def seed_calls(
    session: Session,
    manager: User,
    fund: Fund,
    applicants: list[tuple[User, Organisation]],
    now: dt.datetime | None = None,
) -> None:
    now = now or now_utc()
    open_call = calls.create_call(
        session,
        manager,
        fund,
        read_call_details(
            fund,
            {
                "title": {
                    "en": "Community resilience grants 2026",
                    "fr": "Subventions résilience 2026",
                },
                "description": {
                    "en": "Flexible grants for community-led preparedness and recovery.",
                    "fr": "Des subventions souples pour la préparation et le relèvement "
                    "communautaires.",
                },
                "budget": "250000",
                "min_request": "1000",
                "max_request": "25000",
                "opens_at": now - dt.timedelta(days=7),
                "closes_at": now + dt.timedelta(days=45),
                "channels": ["web", "spreadsheet", "odk", "api"],
            },
        ),
    )
    calls.set_questions(session, manager, open_call, read_questions(QUESTIONS))
    calls.open_call(session, manager, open_call, now=now - dt.timedelta(days=7))

    closed_call = calls.create_call(
        session,
        manager,
        fund,
        read_call_details(
            fund,
            {
                "title": {"en": "Flood recovery window", "fr": "Fenêtre relèvement inondations"},
                "description": {"en": "Closed: applications are being reviewed."},
                "budget": "100000",
                "min_request": "500",
                "max_request": "10000",
                "opens_at": now - dt.timedelta(days=90),
                "closes_at": now - dt.timedelta(days=30),
                "channels": ["web", "api"],
            },
        ),
    )
    calls.set_questions(session, manager, closed_call, read_questions(QUESTIONS[:2]))
    calls.open_call(session, manager, closed_call, now=now - dt.timedelta(days=90))

    answers = {"summary": "Seed banks and a water committee.", "people": "120", "has_partner": "no"}
    for n, (user, organisation) in enumerate(applicants):
        # A submitted application in the closed call, sent before it closed (web and API).
        services.submit_application(
            session,
            user,
            closed_call,
            organisation,
            dict(answers),
            Money(400000 + n * 100000, "USD"),
            "api" if n % 2 else "web",
            user.locale or "en",
            now - dt.timedelta(days=40 + n),
        )
    calls.close_call(session, manager, closed_call, now=now - dt.timedelta(days=30))

    _import_demo_spreadsheet(session, manager, open_call, now)

    user, organisation = applicants[0]
    _receive_demo_odk_submission(session, user, organisation, open_call, now)
    services.start_application(session, user, open_call, organisation, language="en", now=now)
    if len(applicants) > 1:
        user, organisation = applicants[1]
        sent = services.submit_application(
            session,
            user,
            open_call,
            organisation,
            dict(answers),
            Money(1500000, "USD"),
            "web",
            "fr",
            now,
        )
        services.withdraw_application(session, user, sent, now)


def _import_demo_spreadsheet(session: Session, manager: User, call: Any, now: dt.datetime) -> None:
    """Applications a field officer gathered on paper and typed into the call's
    spreadsheet, imported as a fund manager would (the spreadsheet channel)."""
    from ..intake.spreadsheet import CellError, import_rows

    common = {"organisation_registered": "no", "language": "en", "has_partner": "no"}
    rows = [
        {
            **common,
            "organisation_name": "Gulu Youth Makers",
            "organisation_country": "UG",
            "organisation_type": "informal_group",
            "contact_email": "",
            "requested_amount": "3000",
            "people": "80",
            "summary": "Repair the borehole and train two caretakers.",
        },
        {
            **common,
            "organisation_name": "Mama Lishe Group",
            "organisation_country": "KE",
            "organisation_type": "community_based",
            "contact_email": "",
            "requested_amount": "4500",
            "people": "150",
            "has_partner": "yes",
            "partner_name": "Ward health office",
            "summary": "Cooking demonstrations and kitchen gardens for mothers.",
        },
    ]
    result = import_rows(session, manager, call, rows, locale="en", now=now)
    if result and isinstance(result[0], CellError):
        raise RuntimeError(f"demo spreadsheet rows refused: {result}")


def _receive_demo_odk_submission(
    session: Session, user: User, organisation: Organisation, call: Any, now: dt.datetime
) -> None:
    """An application filled in offline on a phone with ODK Collect and sent once back in
    signal, read as the OpenRosa submission endpoint reads it (the ODK channel)."""
    from ..intake.odk import parse_submission, receive_submission
    from ..intake.xform import xform_for

    form = xform_for(call)
    instance = (
        f'<?xml version="1.0"?><data id="{form.form_id}" version="{form.version}" '
        'xmlns:orx="http://openrosa.org/xforms">'
        "<requested_amount>2500</requested_amount>"
        "<summary>Rain gauges and an SMS alert tree, so three villages get a day's warning "
        "before the river rises.</summary>"
        "<people>300</people><has_partner>yes</has_partner>"
        "<partner_name>District disaster office</partner_name>"
        "<budget><line>Rain gauges</line><amount>900</amount></budget>"
        "<budget><line>Phones and airtime</line><amount>1600</amount></budget>"
        f"<orx:meta><orx:instanceID>uuid:{uuid.uuid4()}</orx:instanceID></orx:meta></data>"
    )
    receive_submission(
        session,
        user,
        organisation,
        parse_submission(instance.encode()),
        {},
        languages=["en"],
        now=now - dt.timedelta(days=2),
    )
