"""The 360Giving file as a data user and the Data Quality Tool read it: valid, the CSV
unflattens back into the JSON grants, locations at the partner's precision with ISO 3166-2
codes, the funder's identifier, titles that say what was done, and the same words whatever
language the visitor reads."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import flattentool
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.publishing import giving, queries

from .helpers import NOW, SECRET_ORG, Published, pay_first_tranche, published_grant
from .test_opendata import GIVING, giving_validator

ARABIC_NAME = "جمعية نساء بوكوت الغربية"
FRENCH_NAME = "Association des Femmes Bâtisseuses de Ouahigouya"


def codelist(name: str) -> set[str]:
    with (GIVING / "codelists" / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return {row["Code"] for row in csv.DictReader(handle)}


def schema_title(path: tuple[str | int, ...]) -> str:
    """The flattened title of a field, from the schema: each level's `title`, joined."""
    schema = json.loads((GIVING / "360-giving-schema.json").read_text())

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return {**schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], **node}
        return node

    node: dict[str, Any] = schema
    titles = []
    for step in path:
        if isinstance(step, int):
            node = resolved(node["items"])
            continue
        node = resolved(node["properties"][step])
        titles.append(node["title"])
    return ":".join(titles)


def partners(session: Session) -> dict[str, Published]:
    """Four published partners, one per location precision (and a second-level area)."""
    area = published_grant(
        session,
        organisation={"name": ARABIC_NAME, "country": "KE", "area": "KE-47", "org_id": "KE-RCO-47"},
    )
    pay_first_tranche(session, area.world, area.grant)
    attribution.save_organisation_settings(
        session,
        area.partner,
        area.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA, descriptions={"en": "Wells dug."}),
    )
    attribution.change_consent(
        session, area.partner, area.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )

    province = published_grant(
        session,
        organisation={"name": "Yatenga Seed Savers", "country": "BF", "area": "BF-YAT"},
        world=area.world,
    )
    attribution.save_organisation_settings(
        session,
        province.partner,
        province.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA),
    )
    attribution.change_consent(
        session,
        province.partner,
        province.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED),
    )

    country = published_grant(
        session,
        organisation={
            "name": FRENCH_NAME,
            "org_type": "local_government",
            "country": "BF",
            "area": "BF-10",
        },
        world=area.world,
    )
    attribution.save_organisation_settings(
        session,
        country.partner,
        country.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.COUNTRY),
    )
    attribution.change_consent(
        session,
        country.partner,
        country.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED),
    )

    hidden = published_grant(session, organisation=dict(SECRET_ORG), world=area.world)
    attribution.save_organisation_settings(
        session,
        hidden.partner,
        hidden.organisation,
        CreditSettings(Naming.ANONYMISED, LocationPrecision.HIDDEN),
    )
    attribution.change_consent(
        session,
        hidden.partner,
        hidden.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED),
    )
    return {"area": area, "province": province, "country": country, "hidden": hidden}


def package(client: FlaskClient, language: str = "en") -> dict[str, Any]:
    response = client.get("/open-data/360giving.json", headers={"Accept-Language": language})
    assert response.status_code == 200
    return json.loads(response.get_data(as_text=True))


def by_grant(data: dict[str, Any], published: Published) -> dict[str, Any]:
    return next(g for g in data["grants"] if g["id"] == f"360G-grantpool-{published.grant.id}")


def unflatten(csv_text: str, tmp_path: Path) -> list[dict[str, Any]]:
    """What `flattentool unflatten --convert-titles` makes of the CSV, as 360Giving's
    Data Quality Tool runs it."""
    sheets = tmp_path / "csv"
    sheets.mkdir()
    (sheets / "grants.csv").write_text(csv_text, encoding="utf-8")
    output = tmp_path / "unflattened.json"
    flattentool.unflatten(
        str(sheets),
        output_name=str(output),
        input_format="csv",
        schema=str(GIVING / "360-giving-schema.json"),
        root_list_path="grants",
        root_id="",
        id_name="id",
        convert_titles=True,
        main_sheet_name="grants",
        disable_local_refs=False,
    )
    return json.loads(output.read_text(encoding="utf-8"))["grants"]


def test_csv_titles_are_the_schemas_own() -> None:
    for path, title in giving.CSV_COLUMNS:
        assert schema_title(path) == title, path


def test_package_is_valid_and_locations_follow_the_partners_precision(
    client: FlaskClient, session: Session
) -> None:
    p = partners(session)
    data = package(client)
    errors = sorted(giving_validator().iter_errors(data), key=str)
    assert errors == [], [e.message for e in errors]

    area = by_grant(data, p["area"])
    assert area["beneficiaryLocation"] == [
        {
            "name": "West Pokot",
            "countryCode": "KE",
            "geoCode": "KE-47",
            "description": "County in Kenya",
        }
    ]
    assert area["locationScope"] == "GLS040"
    assert area["recipientOrganization"] == [
        {"id": "KE-RCO-47", "name": ARABIC_NAME, "organisationType": "Partner Country based NGO"}
    ]
    assert area["description"] == "Wells dug."
    call = p["area"].world.call.title["en"]
    assert area["title"] == f"{call}: {ARABIC_NAME} in West Pokot, Kenya"
    assert area["grantProgramme"] == [{"title": call}]
    assert area["dateModified"].endswith("+00:00")

    # A province inside a region is a second-level area: a local authority's scope.
    province = by_grant(data, p["province"])
    assert province["beneficiaryLocation"][0]["geoCode"] == "BF-YAT"
    assert province["beneficiaryLocation"][0]["name"] == "Yatenga"
    assert province["beneficiaryLocation"][0]["description"] == "Province in Burkina Faso"
    assert province["locationScope"] == "GLS050"

    country = by_grant(data, p["country"])
    assert country["beneficiaryLocation"] == [{"name": "Burkina Faso", "countryCode": "BF"}]
    assert country["locationScope"] == "GLS030"
    assert country["recipientOrganization"][0]["organisationType"] == "Local Government"
    assert country["title"] == f"{call}: {FRENCH_NAME} in Burkina Faso"
    # Without words of its own, a sentence built from the record.
    assert country["description"].startswith(f"Delivered by {FRENCH_NAME}, with funding")
    assert "Nord" not in json.dumps(country)

    hidden = by_grant(data, p["hidden"])
    assert "beneficiaryLocation" not in hidden
    assert hidden["locationScope"] == "GLS099"
    assert hidden["recipientOrganization"][0]["organisationType"] == "Partner Country based NGO"
    assert hidden["title"] == f"{call}: a women-led community organisation"
    assert "Kenya" not in json.dumps(hidden) and "KE-30" not in json.dumps(hidden)

    scopes, geo_types = codelist("locationScope"), codelist("geoCodeType")
    regrants, countries = codelist("regrantType"), codelist("countryCode")
    for grant in data["grants"]:
        assert not re.search(r"grant G-\d+", grant["title"]), grant["title"]
        # What the Data Quality Tool's usefulness checks ask of a grant.
        assert len(grant["title"]) <= 140 and grant["title"] != grant["description"]
        assert grant["dataSource"].startswith("http://localhost/open-data/")
        assert grant.get("locationScope", "GLS099") in scopes
        assert grant.get("regrantType", "FRG040") in regrants
        for location in grant.get("beneficiaryLocation", []):
            assert location["countryCode"] in countries
            # ISO 3166-2 has no code in the (UK-only) geoCodeType codelist: none is claimed.
            assert location.get("geoCodeType", "WD") in geo_types
            assert "geoCodeType" not in location


def test_csv_unflattens_into_the_json_grants(
    client: FlaskClient, session: Session, tmp_path: Path
) -> None:
    partners(session)
    grants = package(client)["grants"]
    csv_text = client.get("/open-data/360giving.csv").get_data(as_text=True)
    assert next(csv.reader(io.StringIO(csv_text))) == [t for _p, t in giving.CSV_COLUMNS]
    assert unflatten(csv_text, tmp_path) == grants
    # Contributions, the four partners' grants: every field of them survived.
    assert sum("beneficiaryLocation" in g for g in grants) == 3
    assert any(g.get("regrantType") == "FRG040" for g in grants)


@pytest.mark.parametrize("org_id", ["GB-CHC-1234567", None])
def test_funder_is_the_configured_org_id_or_the_documented_fallback(
    app: Flask, client: FlaskClient, session: Session, org_id: str | None
) -> None:
    app.config["GIVING_FUNDER_ORG_ID"] = org_id
    p = partners(session)
    fund = p["area"].world.fund
    expected = org_id or f"360G-grantpool-FUND-{fund.id}"
    data = package(client)
    grant = by_grant(data, p["area"])
    assert grant["fundingOrganization"] == [{"id": expected, "name": fund.name}]
    contributions = [g for g in data["grants"] if g.get("regrantType") == "FRG040"]
    assert contributions
    # The pooled money goes to the organisation that regrants it: the chain links up.
    assert {g["recipientOrganization"][0]["id"] for g in contributions} == {expected}
    rows = list(csv.DictReader(io.StringIO(client.get("/open-data/360giving.csv").text)))
    partner_row = next(r for r in rows if r["Identifier"] == grant["id"])
    assert partner_row["Funding Org:Identifier"] == expected


def test_names_and_words_do_not_follow_the_visitors_language(
    client: FlaskClient, session: Session
) -> None:
    p = partners(session)
    english, french, arabic = (package(client, lang) for lang in ("en", "fr", "ar"))
    # The page itself does follow the visitor: French is really being asked for.
    page = client.get("/published/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="fr"' in page
    for data in (french, arabic):
        assert data["grants"] == english["grants"]
    assert by_grant(french, p["area"])["recipientOrganization"][0]["name"] == ARABIC_NAME
    assert by_grant(arabic, p["country"])["recipientOrganization"][0]["name"] == FRENCH_NAME
    assert by_grant(french, p["hidden"])["recipientOrganization"][0]["name"].startswith(
        "a women-led community organisation"
    )


def test_a_long_title_is_shortened_to_what_the_quality_tool_recommends(
    client: FlaskClient, session: Session
) -> None:
    p = partners(session)
    record = queries.public_record(session, p["area"].grant.id, NOW)
    assert record is not None
    long_call = dataclasses.replace(record, call_titles={"fr": "Appel " * 40})
    title = giving.grant_title(long_call)
    assert len(title) == 140 and title.endswith("…") and title.startswith("Appel Appel")
    assert giving.grant_title(record) == (
        f"{p['area'].world.call.title['en']}: {ARABIC_NAME} in West Pokot, Kenya"
    )
