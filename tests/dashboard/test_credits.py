"""The dashboard's credit list reads the attribution records as published (consent,
embargo, safety flag and chosen naming apply), lists every one in its downloads, and the
rendered figures are kept until something is recorded."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings, SafetyFlag
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.dashboard import queries
from grantpool.platform.sqlcount import HEADER
from tests.conftest import signed_in_client, without_csrf
from tests.factories import make_organisation, make_user
from tests.grants.helpers import make_grant
from tests.publishing.helpers import IDENTIFYING, SECRET_ORG, published_grant


@pytest.fixture
def app_config():
    return {"SQL_COUNT_HEADER": True}


def _credited_grant(session: Session, world, name: str, scope: str = "named"):
    organisation = make_organisation(session, name=name, country="UG")
    world.organisation = organisation
    partner = make_user(session, "applicant", organisations=[organisation])
    grant = make_grant(session, world, 200_000, risk_level="low")
    attribution.save_organisation_settings(
        session, partner, organisation, CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY)
    )
    attribution.change_consent(
        session, partner, grant, ConsentChange(ConsentState.GIVEN, ConsentScope(scope))
    )
    return grant, partner


def test_the_credit_list_follows_consent(app, session: Session) -> None:
    p = published_grant(session, organisation=dict(SECRET_ORG))
    world = p.world
    # The secret partner agreed only to an anonymised description.
    attribution.save_organisation_settings(
        session, p.partner, p.organisation, CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA)
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED)
    )
    _credited_grant(session, world, "Riverbank Youth Collective")
    # One that never answered, one embargoed, one under a safety flag: none listed.
    silent = make_organisation(session, name="Silent Partners Union")
    world.organisation = silent
    make_grant(session, world, 150_000, risk_level="low")
    embargoed, embargoed_partner = _credited_grant(session, world, "Embargoed Makers Guild")
    attribution.change_consent(
        session,
        embargoed_partner,
        embargoed,
        ConsentChange(
            ConsentState.GIVEN,
            ConsentScope.NAMED,
            embargo_until=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30),
        ),
    )
    flagged, _ = _credited_grant(session, world, "Flagged Defenders Network")
    attribution.set_safety_flag(
        session, world.manager, flagged, SafetyFlag(True, "Threats reported")
    )

    client = signed_in_client(app, world.manager)
    page = client.get(f"/dashboard/funds/{world.fund.id}").get_data(as_text=True)
    assert "Partners credited" in page
    assert "Riverbank Youth Collective" in page and "Uganda" in page
    assert "a women-led community organisation in Nairobi" in page
    assert "Delivered by Riverbank Youth Collective, with funding" in page
    for absent in [
        "Silent Partners Union",
        "Embargoed Makers Guild",
        "Flagged Defenders Network",
        *IDENTIFYING,
    ]:
        assert absent.lower() not in page.lower(), absent

    report = client.get(f"/dashboard/funds/{world.fund.id}/report.pdf")
    text = "\n".join(pg.extract_text() for pg in PdfReader(io.BytesIO(report.data)).pages)
    assert "Riverbank Youth" in " ".join(text.split())  # cells wrap
    assert "Silent Partners Union" not in text and "Secret Sisters" not in text

    # Narrowed to another country, the Ugandan partner is not listed.
    kenya = client.get(f"/dashboard/funds/{world.fund.id}?country=KE").get_data(as_text=True)
    assert "Riverbank Youth Collective" not in kenya
    assert "a women-led community organisation in Nairobi" in kenya


def test_the_downloads_list_every_credited_partner(
    app, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "CREDITED_ON_PAGE", 2)
    p = published_grant(session, organisation={"name": "First Credited Group"})
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY),
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    names = ["First Credited Group"] + [f"Credited Group {i}" for i in range(4)]
    for name in names[1:]:
        _credited_grant(session, p.world, name)
    client = signed_in_client(app, p.world.manager)
    fund_id = p.world.fund.id
    page = client.get(f"/dashboard/funds/{fund_id}").get_data(as_text=True)
    listed = [n for n in names if n in page]
    assert listed == names[:2]
    assert "The first 2 partners in order of award" in page

    response = client.get(f"/dashboard/funds/{fund_id}/export/credits.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Partner", "Where", "Awarded", "Currency", "Credit line"]
    assert [r[0] for r in rows[1:]] == names
    assert rows[2][1:4] == ["Uganda", "2000.00", "USD"]

    workbook = load_workbook(
        io.BytesIO(client.get(f"/dashboard/funds/{fund_id}/export/credits.xlsx").data)
    )
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert [v[0] for v in values[1:]] == names
    assert float(values[2][2]) == 2000.0


def test_the_rendered_figures_are_kept_until_something_is_recorded(app, session: Session) -> None:
    p = published_grant(session, organisation={"name": "Cache Test Collective"})
    client = signed_in_client(app, p.world.manager)
    path = f"/dashboard/funds/{p.world.fund.id}"
    first = client.get(path)
    again = client.get(path)
    assert without_csrf(again) == without_csrf(first)
    # The second answer came from the kept fragment: only the sign-in, the fund and the
    # data version were read (plus the savepoint pair of the test's outer transaction).
    assert int(again.headers[HEADER]) < int(first.headers[HEADER])
    assert int(again.headers[HEADER]) <= 3 + 2
    assert "Cache Test Collective" not in again.get_data(as_text=True)
    # Consent is recorded (an audit event): the next request sees it.
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY),
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    assert "Cache Test Collective" in client.get(path).get_data(as_text=True)
    # Another language, other filters, another reader's donors: rendered separately.
    french = client.get(path, headers={"Accept-Language": "fr"})
    assert "Cache Test Collective" in french.get_data(as_text=True)
