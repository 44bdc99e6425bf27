"""A data-protection officer's test: change partners' choices step by step and, after each
step, search every public and donor output for every identifying string the partner has
not consented to publish.

Two organisations, four grants in two funds. Each step is one of: the organisation's
settings (naming, precision, words for anonymised publication), a grant's own settings,
consent given (named or anonymised, with or without an embargo still running), consent
withdrawn, a safety flag on a grant or on the organisation, set or lifted. A small model
says what each output may carry; the outputs are read as their readers get them (pages,
certificates' text, 360Giving JSON and CSV, IATI XML, the transparency page, the donor
dashboard, its credit exports and its PDF report), normalised so that case, accents,
spacing and punctuation do not hide a match.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.attribution import services
from grantpool.attribution.commands import ConsentChange, CreditSettings, SafetyFlag
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.ledger.models import Contribution
from grantpool.organisations.rules import area_name
from tests.conftest import signed_in_client
from tests.factories import make_user
from tests.grants.helpers import make_grant, make_world
from tests.publishing.helpers import published_grant

ORGANISATIONS = [
    {
        "name": "Zawadi Mothers Collective",
        "short_name": "ZAWAMOCO",
        "org_type": "community_based",
        "country": "KE",
        "area": "KE-47",
        "locality": "Chepareria Ward",
        "org_id": "KE-RCO-ZAWADI4471",
        "women_led": True,
        "contact_email": "zawadi@mothers.example.org",
        "contact_phone": "+254 722 404 717",
    },
    {
        "name": "Coopérative Nyota Élan",
        "short_name": "NYOTELAN",
        "org_type": "informal_group",
        "country": "SN",
        "area": "SN-TH",
        "locality": "Quartier Mbourokh",
        "org_id": "SN-NIN-NYOTA9920",
        "youth_led": True,
        "contact_email": "contact@nyota-elan.example.org",
        "contact_phone": "+221 77 555 01 02",
    },
]
OWN_WORDS = ["Zawadi mothers dug the Kapenguria wells", "Nyota Élan a replanté la mangrove"]
ANONYMISED_WORDS = ["A mothers' group dug village wells", "Un groupe de jeunes a replanté"]
# Which organisation each of the four grants belongs to; grant 1 is in the second fund.
GRANT_ORGS = [0, 0, 1, 1]
NEVER = ("short_name", "locality", "contact_email", "contact_phone")
NAMINGS = ("own_name", "anonymised", "not_published")
PRECISIONS = ("area", "country", "hidden")


def normalised(text: str) -> str:
    """Case, accents, spaces and punctuation removed: 'Coopérative  Nyota-Élan' and
    'cooperativenyotaelan' match."""
    text = unicodedata.normalize("NFKD", html.unescape(text).casefold())
    return "".join(c for c in text if c.isalnum())


@dataclass
class Model:
    """What the partners chose and the fund decided, as the test believes it."""

    naming: list[str] = field(default_factory=lambda: ["anonymised", "anonymised"])
    precision: list[str] = field(default_factory=lambda: ["country", "country"])
    anonymised_words: list[bool] = field(default_factory=lambda: [False, False])
    override: list[tuple[str, str] | None] = field(default_factory=lambda: [None] * 4)
    consent: list[str | None] = field(default_factory=lambda: [None] * 4)  # scope or None
    embargoed: list[bool] = field(default_factory=lambda: [False] * 4)
    flagged: list[bool] = field(default_factory=lambda: [False] * 4)
    organisation_flagged: list[bool] = field(default_factory=lambda: [False, False])

    def effective(self, grant: int) -> tuple[str, str]:
        org = GRANT_ORGS[grant]
        return self.override[grant] or (self.naming[org], self.precision[org])

    def hidden(self, org: int) -> bool:
        grants = [g for g, o in enumerate(GRANT_ORGS) if o == org]
        return self.organisation_flagged[org] or any(self.flagged[g] for g in grants)

    def published(self, grant: int) -> bool:
        naming, _precision = self.effective(grant)
        return (
            self.consent[grant] is not None
            and not self.embargoed[grant]
            and not self.hidden(GRANT_ORGS[grant])
            and naming != "not_published"
        )

    def named(self, grant: int) -> bool:
        return (
            self.published(grant)
            and self.effective(grant)[0] == "own_name"
            and self.consent[grant] == "named"
        )

    def allowed(self, org: int) -> set[str]:
        grants = [g for g, o in enumerate(GRANT_ORGS) if o == org and self.published(g)]
        allowed: set[str] = set()
        if any(self.named(g) for g in grants):
            allowed |= {"name", "org_id", "own_words"}
        if any(self.effective(g)[1] == "area" for g in grants):
            allowed.add("area")
        if any(not self.named(g) for g in grants) and self.anonymised_words[org]:
            allowed.add("anonymised_words")
        return allowed


def identifying(org: int) -> dict[str, str]:
    data = ORGANISATIONS[org]
    strings = {key: str(data[key]) for key in (*NEVER, "name", "org_id")}
    strings["area"] = area_name(str(data["area"]))
    strings["own_words"] = OWN_WORDS[org]
    strings["anonymised_words"] = ANONYMISED_WORDS[org]
    return strings


@dataclass
class Setting:
    world: Any
    second_world: Any
    members: list[Any]
    organisations: list[Any]
    grants: list[Any]
    donor_client: FlaskClient


def _set_up(app: Flask, session: Session) -> Setting:
    first = published_grant(session, organisation=ORGANISATIONS[0])
    world = first.world
    second = published_grant(session, organisation=ORGANISATIONS[1], world=world)
    other_world = make_world(session)
    other_world.organisation = first.organisation
    world.organisation = second.organisation
    grants = [
        first.grant,
        make_grant(session, other_world, 400_000),
        second.grant,
        make_grant(session, world, 300_000),
    ]
    donor_id = session.scalars(
        select(Contribution.donor_id).where(Contribution.fund_id == world.fund.id)
    ).first()
    viewer = make_user(session, (Role.DONOR_VIEWER.value, None, donor_id))
    session.commit()
    return Setting(
        world,
        other_world,
        [first.partner, second.partner],
        [first.organisation, second.organisation],
        grants,
        signed_in_client(app, viewer),
    )


def _settings_data(model: Model, org: int, naming: str, precision: str) -> CreditSettings:
    anonymised = {"en": ANONYMISED_WORDS[org]} if model.anonymised_words[org] else {}
    return CreditSettings(
        Naming(naming),
        LocationPrecision(precision),
        descriptions={"en": OWN_WORDS[org]},
        anonymised_descriptions=anonymised,
    )


def apply(step: tuple[Any, ...], model: Model, s: Setting, session: Session) -> None:
    kind, *args = step
    now = dt.datetime.now(dt.UTC)
    if kind == "settings":
        org, naming, precision, words = args
        model.naming[org], model.precision[org], model.anonymised_words[org] = (
            naming,
            precision,
            words,
        )
        services.save_organisation_settings(
            session,
            s.members[org],
            s.organisations[org],
            _settings_data(model, org, naming, precision),
        )
    elif kind == "override":
        grant, naming, precision = args
        org = GRANT_ORGS[grant]
        model.override[grant] = (naming, precision)
        services.save_grant_settings(
            session,
            s.members[org],
            s.grants[grant],
            _settings_data(model, org, naming, precision),
        )
    elif kind == "no_override":
        (grant,) = args
        model.override[grant] = None
        services.remove_grant_settings(session, s.members[GRANT_ORGS[grant]], s.grants[grant])
    elif kind == "consent":
        grant, scope, embargoed = args
        model.consent[grant], model.embargoed[grant] = scope, embargoed
        embargo = (now + dt.timedelta(days=30)).date() if embargoed else None
        services.change_consent(
            session,
            s.members[GRANT_ORGS[grant]],
            s.grants[grant],
            ConsentChange(ConsentState.GIVEN, ConsentScope(scope), embargo_until=embargo),
        )
    elif kind == "withdraw":
        (grant,) = args
        if model.consent[grant] is not None:
            model.consent[grant], model.embargoed[grant] = None, False
            services.change_consent(
                session,
                s.members[GRANT_ORGS[grant]],
                s.grants[grant],
                ConsentChange(ConsentState.WITHDRAWN),
            )
    elif kind == "flag":
        grant, on = args
        model.flagged[grant] = on
        manager = s.second_world.manager if grant == 1 else s.world.manager
        services.set_safety_flag(
            session, manager, s.grants[grant], SafetyFlag(on, "At risk" if on else "")
        )
    elif kind == "organisation_flag":
        org, on = args
        model.organisation_flagged[org] = on
        services.set_organisation_safety_flag(
            session, s.world.manager, s.organisations[org], SafetyFlag(on, "At risk" if on else "")
        )
    session.commit()


def outputs(client: FlaskClient, s: Setting) -> dict[str, str]:
    texts: dict[str, str] = {}
    for url in (
        "/published/",
        "/open-data/360giving.json",
        "/open-data/360giving.csv",
        "/open-data/iati-activities.xml",
        f"/transparency/funds/{s.world.fund.id}",
        f"/transparency/funds/{s.second_world.fund.id}",
    ):
        texts[url] = client.get(url).get_data(as_text=True)
    for grant in s.grants:
        texts[f"record {grant.id}"] = client.get(f"/published/{grant.id}").get_data(as_text=True)
        pdf = client.get(f"/published/{grant.id}/certificate.pdf")
        if pdf.status_code == 200:
            texts[f"certificate {grant.id}"] = "\n".join(
                page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.data)).pages
            )
    fund = s.world.fund.id
    donor = s.donor_client
    texts["donor dashboard"] = donor.get(f"/dashboard/funds/{fund}").get_data(as_text=True)
    texts["donor credits.csv"] = donor.get(f"/dashboard/funds/{fund}/export/credits.csv").get_data(
        as_text=True
    )
    book = load_workbook(
        io.BytesIO(donor.get(f"/dashboard/funds/{fund}/export/credits.xlsx").data),
        read_only=True,
    )
    texts["donor credits.xlsx"] = "\n".join(
        " ".join(str(c) for c in row if c is not None)
        for row in book.active.iter_rows(values_only=True)
    )
    report = donor.get(f"/dashboard/funds/{fund}/report.pdf")
    assert report.status_code == 200
    texts["donor report.pdf"] = "\n".join(
        page.extract_text() or "" for page in PdfReader(io.BytesIO(report.data)).pages
    )
    return texts


def check(model: Model, s: Setting, client: FlaskClient, step: Any) -> None:
    texts = {name: normalised(text) for name, text in outputs(client, s).items()}
    for org in (0, 1):
        allowed = model.allowed(org)
        for what, value in identifying(org).items():
            if what in allowed:
                continue
            needle = normalised(value)
            leaks = [name for name, text in texts.items() if needle in text]
            assert not leaks, (step, ORGANISATIONS[org]["name"], what, leaks, model)
    # And what may be published is: a named, published grant's page names its partner.
    for grant, record in enumerate(s.grants):
        text = texts[f"record {record.id}"]
        org = GRANT_ORGS[grant]
        if model.named(grant):
            assert normalised(ORGANISATIONS[org]["name"]) in text, (step, grant, model)
        if not model.published(grant):
            assert f"certificate {record.id}" not in texts, (step, grant, model)


ORG = st.integers(0, 1)
GRANT = st.integers(0, 3)
STEPS = st.one_of(
    st.tuples(
        st.just("settings"),
        ORG,
        st.sampled_from(NAMINGS),
        st.sampled_from(PRECISIONS),
        st.booleans(),
    ),
    st.tuples(st.just("override"), GRANT, st.sampled_from(NAMINGS), st.sampled_from(PRECISIONS)),
    st.tuples(st.just("no_override"), GRANT),
    st.tuples(st.just("consent"), GRANT, st.sampled_from(("named", "anonymised")), st.booleans()),
    st.tuples(st.just("withdraw"), GRANT),
    st.tuples(st.just("flag"), GRANT, st.booleans()),
    st.tuples(st.just("organisation_flag"), ORG, st.booleans()),
)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"PUBLIC_DASHBOARD": True, "DASHBOARD_CACHE_SECONDS": 0}


def _reset(model: Model, s: Setting, session: Session) -> Model:
    """Back to the start: consent withdrawn, no flags, the safe default settings."""
    for step in [
        *(("withdraw", g) for g in range(4)),
        *(("no_override", g) for g in range(4)),
        *(("flag", g, False) for g in range(4) if model.flagged[g]),
        *(("organisation_flag", o, False) for o in (0, 1) if model.organisation_flagged[o]),
        *(("settings", o, "anonymised", "country", False) for o in (0, 1)),
    ]:
        apply(step, model, s, session)
    return Model()


def test_every_output_holds_each_partners_choices_after_every_step(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    s = _set_up(app, session)
    state = {"model": Model()}

    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(STEPS, min_size=1, max_size=6))
    # The paths a reviewer would try first, always run before the random ones.
    @example([("consent", 0, "anonymised", False)])
    @example(
        [
            ("settings", 0, "own_name", "area", True),
            ("consent", 0, "named", False),
            ("consent", 1, "named", False),
            ("flag", 1, True),
            ("flag", 1, False),
        ]
    )
    @example(
        [
            ("settings", 1, "own_name", "hidden", True),
            ("consent", 2, "named", False),
            ("organisation_flag", 1, True),
            ("organisation_flag", 1, False),
        ]
    )
    @example(
        [
            ("settings", 0, "own_name", "country", False),
            ("consent", 0, "named", True),
            ("consent", 1, "named", False),
        ]
    )
    @example(
        [
            ("settings", 1, "own_name", "area", False),
            ("override", 2, "not_published", "area"),
            ("consent", 2, "named", False),
            ("consent", 3, "anonymised", False),
            ("withdraw", 3),
        ]
    )
    @example(
        [
            ("settings", 0, "anonymised", "area", True),
            ("consent", 0, "anonymised", False),
            ("settings", 0, "anonymised", "country", True),
        ]
    )
    def run(steps: list[tuple[Any, ...]]) -> None:
        model = state["model"] = _reset(state["model"], s, session)
        check(model, s, client, "start")
        for step in steps:
            apply(step, model, s, session)
            check(model, s, client, step)

    run()


def test_a_partner_that_names_itself_is_found_where_it_consented(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """The search can find what it looks for: a named partner is in every output."""
    s = _set_up(app, session)
    model = Model()
    for step in [
        ("settings", 0, "own_name", "area", True),
        ("consent", 0, "named", False),
        ("consent", 1, "named", False),
    ]:
        apply(step, model, s, session)
    check(model, s, client, "named")
    texts = {name: normalised(text) for name, text in outputs(client, s).items()}
    name = normalised(ORGANISATIONS[0]["name"])
    for output in (
        "/published/",
        "/open-data/360giving.json",
        "/open-data/360giving.csv",
        "/open-data/iati-activities.xml",
        f"record {s.grants[0].id}",
        f"certificate {s.grants[0].id}",
        "donor credits.csv",
        "donor credits.xlsx",
    ):
        assert name in texts[output], output
    assert normalised(area_name("KE-47")) in texts[f"record {s.grants[0].id}"]
