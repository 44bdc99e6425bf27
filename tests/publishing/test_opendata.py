"""The open-data files against the official schemas, the consent lifecycle in every
output, nothing identifying about an anonymised partner anywhere, bounded exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tracemalloc
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from pypdf import PdfReader
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings, SafetyFlag
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.publishing import giving, iati, queries

from .helpers import IDENTIFYING, NOW, SECRET_ORG, pay_first_tranche, published_grant

STANDARDS = Path(__file__).resolve().parent.parent / "data" / "standards"
GIVING = STANDARDS / "360giving"
IATI = STANDARDS / "iati"


def giving_validator() -> Draft202012Validator:
    grant_schema = json.loads((GIVING / "360-giving-schema.json").read_text())
    package_schema = json.loads((GIVING / "360-giving-package-schema.json").read_text())
    resource = DRAFT202012.create_resource(grant_schema)
    registry = Registry().with_resources(
        [
            (
                "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/"
                "360-giving-schema.json",
                resource,
            ),
            (grant_schema["$id"], resource),
        ]
    )
    return Draft202012Validator(package_schema, registry=registry, format_checker=FormatChecker())


def iati_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(IATI / "iati-activities-schema.xsd")))


def codes(name: str) -> set[str]:
    tree = etree.parse(str(IATI / "codelists" / f"{name}.xml"))
    return {c.text for c in tree.iter("code")}


def fetch_all(client: FlaskClient, grant_id: int) -> dict[str, str]:
    """Every public output, as text."""
    outputs = {
        "list": client.get("/published/").get_data(as_text=True),
        "json": client.get("/open-data/360giving.json").get_data(as_text=True),
        "csv": client.get("/open-data/360giving.csv").get_data(as_text=True),
        "xml": client.get("/open-data/iati-activities.xml").get_data(as_text=True),
    }
    page = client.get(f"/published/{grant_id}")
    outputs["page"] = page.get_data(as_text=True) if page.status_code == 200 else ""
    pdf = client.get(f"/published/{grant_id}/certificate.pdf")
    outputs["pdf"] = (
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
        if pdf.status_code == 200
        else ""
    )
    return outputs


def published_in(outputs: dict[str, str], grant_id: int, marker: str) -> dict[str, bool]:
    giving_id = f"360G-grantpool-{grant_id}"
    return {
        "list": f'/published/{grant_id}"' in outputs["list"],
        "json": giving_id in outputs["json"],
        "csv": giving_id in outputs["csv"],
        "xml": f"G-{grant_id:05d}</iati-identifier>" in outputs["xml"],
        "page": marker in outputs["page"],
        "pdf": marker in outputs["pdf"],
    }


def test_open_data_files_are_valid_against_the_official_schemas(
    client: FlaskClient, session: Session
) -> None:
    named = published_grant(
        session, organisation={"name": "Named Water Group", "org_id": "KE-RCO-77"}
    )
    pay_first_tranche(session, named.world, named.grant)
    attribution.save_organisation_settings(
        session,
        named.partner,
        named.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA, descriptions={"en": "Wells dug."}),
    )
    attribution.change_consent(
        session, named.partner, named.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    anonymous = published_grant(session, organisation=dict(SECRET_ORG), world=named.world)
    attribution.change_consent(
        session,
        anonymous.partner,
        anonymous.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED),
    )

    package = json.loads(client.get("/open-data/360giving.json").get_data(as_text=True))
    errors = sorted(giving_validator().iter_errors(package), key=str)
    assert errors == [], [e.message for e in errors]
    grants = {g["id"]: g for g in package["grants"]}
    grant = grants[f"360G-grantpool-{named.grant.id}"]
    assert grant["recipientOrganization"][0] == {
        "id": "KE-RCO-77",
        "name": "Named Water Group",
        "organisationType": "Partner Country based NGO",
    }
    assert grant["amountAwarded"] == 10000 and grant["amountDisbursed"] > 0
    assert grant["plannedDates"][0]["startDate"] == named.grant.start_on.isoformat()
    assert grant["beneficiaryLocation"][0]["countryCode"] == "KE"
    assert any(g.get("regrantType") == "FRG040" for g in package["grants"])
    anon = grants[f"360G-grantpool-{anonymous.grant.id}"]
    assert anon["recipientOrganization"][0]["id"] == f"360G-grantpool-ANON-{anonymous.grant.id}"
    assert anon["recipientOrganization"][0]["name"].startswith("a women-led community")

    rows = list(
        csv.DictReader(io.StringIO(client.get("/open-data/360giving.csv").get_data(as_text=True)))
    )
    assert {r["Identifier"] for r in rows} == set(grants)

    xml = client.get("/open-data/iati-activities.xml").data
    document = etree.fromstring(xml)
    schema = iati_schema()
    assert schema.validate(document), schema.error_log
    roles, types = codes("OrganisationRole"), codes("OrganisationType")
    for org in document.iter("participating-org"):
        assert org.get("role") in roles and org.get("type") in types
    assert {t.get("code") for t in document.iter("transaction-type")} <= codes("TransactionType")
    # Incoming funds (1) in the fund's activity; commitments (2) and disbursements (3).
    assert {t.get("code") for t in document.iter("transaction-type")} == {"1", "2", "3"}
    assert {s.get("code") for s in document.iter("activity-status")} <= codes("ActivityStatus")
    assert {d.get("type") for d in document.iter("activity-date")} <= codes("ActivityDateType")
    assert {a.get("default-currency") for a in document.iter("iati-activity")} <= codes("Currency")
    activity = next(
        a
        for a in document.iter("iati-activity")
        if a.findtext("iati-identifier").endswith(f"G-{named.grant.id:05d}")
    )
    assert activity.get("humanitarian") == "1"
    partner = activity.find("participating-org[@role='4']")
    assert partner.get("ref") == "KE-RCO-77" and partner.get("type") == "24"
    funders = activity.findall("participating-org[@role='1']")
    assert "Earmark Foundation" in [f.findtext("narrative") for f in funders]
    anon_activity = next(
        a
        for a in document.iter("iati-activity")
        if a.findtext("iati-identifier").endswith(f"G-{anonymous.grant.id:05d}")
    )
    anon_partner = anon_activity.find("participating-org[@role='4']")
    assert anon_partner.get("ref") is None


def test_consent_lifecycle_in_every_output(client: FlaskClient, session: Session) -> None:
    p = published_grant(session, organisation={"name": "Lifecycle Collective"})
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY),
    )
    marker = "Lifecycle Collective"

    def state() -> dict[str, bool]:
        return published_in(fetch_all(client, p.grant.id), p.grant.id, marker)

    # Not given: nowhere.
    assert not any(state().values())
    # Given: everywhere.
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    assert all(state().values()), state()
    # Embargoed until next year: nowhere.
    attribution.change_consent(
        session,
        p.partner,
        p.grant,
        ConsentChange(
            ConsentState.GIVEN,
            ConsentScope.NAMED,
            embargo_until=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30),
        ),
    )
    assert not any(state().values())
    # Embargo over: everywhere again.
    attribution.change_consent(
        session,
        p.partner,
        p.grant,
        ConsentChange(
            ConsentState.GIVEN,
            ConsentScope.NAMED,
            embargo_until=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1),
        ),
    )
    assert all(state().values())
    # Safety flag: nowhere, on the next request.
    attribution.set_safety_flag(
        session, p.world.manager, p.grant, SafetyFlag(True, "Threats reported")
    )
    assert not any(state().values())
    attribution.set_safety_flag(session, p.world.manager, p.grant, SafetyFlag(False))
    assert all(state().values())
    # Withdrawn: nowhere, on the next request.
    attribution.change_consent(session, p.partner, p.grant, ConsentChange(ConsentState.WITHDRAWN))
    assert not any(state().values())
    history = attribution.consent_history(session, attribution.record_of(session, p.grant))
    assert [e.state for e in history] == ["given", "given", "given", "withdrawn"]
    assert all(e.actor_id == p.partner.id for e in history)


def test_an_anonymised_partner_leaks_nothing_anywhere(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation=dict(SECRET_ORG))
    pay_first_tranche(session, p.world, p.grant)
    # It chose its own name and the area, and gave a logo, but consented only to being
    # anonymised: the most protective choice wins.
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA),
        logo=attribution.Logo(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)),
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED)
    )
    outputs = fetch_all(client, p.grant.id)
    assert "a women-led community organisation in Nairobi" in outputs["page"]
    assert "a women-led community organisation" in outputs["pdf"]
    for name, text in outputs.items():
        for secret in IDENTIFYING:
            assert secret.lower() not in text.lower(), (name, secret)
    assert client.get(f"/published/{p.grant.id}/logo").status_code == 404
    assert "/logo" not in outputs["page"]


def test_certificate_reads_back_in_the_partners_language(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Groupe Lecture"})
    p.grant.language = "fr"
    attribution.save_organisation_settings(
        session,
        p.partner,
        p.organisation,
        CreditSettings(
            Naming.OWN_NAME,
            LocationPrecision.COUNTRY,
            descriptions={"en": "Reading clubs.", "fr": "Des clubs de lecture."},
        ),
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    response = client.get(f"/published/{p.grant.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Groupe Lecture" in text
    assert "Des clubs de lecture." in text
    assert "Earmark Foundation" in text
    assert "Delivered by Groupe Lecture" in text or "Groupe Lecture" in text


def _bulk(session: Session, world: Any, n: int, start: int) -> None:
    """n published grants, inserted directly (the export, not the award, is under test)."""
    from grantpool.attribution.models import AttributionRecord
    from grantpool.grants.models import Grant
    from grantpool.intake.models import Application

    app_rows, grant_rows, records = [], [], []
    for i in range(start, start + n):
        app_rows.append(
            {
                "id": i,
                "call_id": world.call.id,
                "organisation_id": world.organisation.id,
                "answers": {},
                "currency": "USD",
                "channel": "web",
                "language": "en",
                "state": "awarded",
                "reference": f"GP-T-{i}",
                "requested_minor": 1000,
                "submitted_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            }
        )
        grant_rows.append(
            {
                "id": i,
                "fund_id": world.fund.id,
                "organisation_id": world.organisation.id,
                "application_id": i,
                "amount_minor": 100_000,
                "currency": "USD",
                "start_on": dt.date(2026, 1, 1),
                "end_on": dt.date(2026, 12, 31),
                "risk_level": "low",
                "language": "en",
                "state": "active",
                "awarded_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "version": 1,
            }
        )
        records.append(
            {
                "grant_id": i,
                "consent_state": "given",
                "consent_scope": "anonymised",
                "safety_flag": False,
                "humanitarian": False,
                "version": 1,
            }
        )
    session.execute(Application.__table__.insert(), app_rows)
    session.execute(Grant.__table__.insert(), grant_rows)
    session.execute(AttributionRecord.__table__.insert(), records)


def _peak_while_streaming(session: Session) -> int:
    tracemalloc.start()
    try:
        records = queries.iter_public_records(session, NOW, batch=200)
        publisher = iati.Publisher("XI-IATI-T", "90")
        now = dt.datetime.now(dt.UTC)
        for chunk in iati.iati_xml(session, records, publisher, "http://x", now):
            assert chunk
        for chunk in giving.giving_json(
            session,
            queries.iter_public_records(session, NOW, batch=200),
            "360G-t",
            "http://x",
            dt.datetime.now(dt.UTC),
        ):
            assert chunk
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_exports_stream_in_bounded_memory_and_statements(
    app: Any, client: FlaskClient, session: Session
) -> None:
    from sqlalchemy import event

    p = published_grant(session)
    _bulk(session, p.world, 300, 100_000)
    small = _peak_while_streaming(session)
    _bulk(session, p.world, 2700, 200_000)
    large = _peak_while_streaming(session)
    # Ten times the grants, nowhere near ten times the memory.
    assert large < small * 2, (small, large)

    engine = app.extensions["grantpool.db"]
    statements: list[str] = []

    def count(*_args: Any, **_kwargs: Any) -> None:
        statements.append("x")

    session.commit()
    event.listen(engine, "before_cursor_execute", count)
    try:
        body = client.get("/open-data/iati-activities.xml").data
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Every published grant, and one activity for their fund.
    assert body.count(b"<iati-activity ") == 3000 + 1
    # ~3 000 grants in batches of 500: a few statements per batch, never one per grant.
    assert len(statements) < 60, len(statements)
    assert re.search(rb"</iati-activities>\s*$", body)
