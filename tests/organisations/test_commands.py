"""One path in: the form, the API and the intake channels read an organisation with one
parser into OrganisationDetails; the services take nothing else."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.accounts.services import create_api_token
from grantpool.organisations.commands import OrganisationDetails, organisation_details
from grantpool.organisations.forms import OrganisationForm
from grantpool.organisations.models import Organisation
from grantpool.platform.errors import ValidationFailed
from grantpool.platform.money import Money
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_organisation, make_user


def test_what_was_typed_becomes_typed_values(app: Flask) -> None:
    details = organisation_details(
        name="  Kibera Water  ",
        org_type="local_ngo",
        country="ke",
        area="ke-30",
        locality=" ",
        registered="y",
        org_id="KE-NGB-1234",
        annual_budget="12,500.50",
        annual_budget_currency="kes",
        contact_email=" Office@Example.ORG ",
    )
    assert details == OrganisationDetails(
        name="Kibera Water",
        org_type="local_ngo",
        country="KE",
        area="KE-30",
        registered=True,
        org_id="KE-NGB-1234",
        annual_budget=Money(1_250_050, "KES"),
        contact_email="office@example.org",
    )


def test_every_field_that_cannot_be_read_is_named_at_once(app: Flask) -> None:
    with pytest.raises(ValidationFailed) as failure:
        organisation_details(
            name="",
            org_type="club",
            country="XX",
            org_id="not an id",
            annual_budget="lots",
            annual_budget_currency="USD",
            contact_email="nobody",
        )
    assert set(failure.value.errors) == {
        "name",
        "org_type",
        "country",
        "org_id",
        "annual_budget",
        "contact_email",
    }


def test_the_form_reads_its_fields_with_the_same_parser(app: Flask) -> None:
    data = {"name": "Gulu Youth", "org_type": "informal_group", "country": "UG", "youth_led": "y"}
    with app.test_request_context(method="POST", data=data):
        details = OrganisationForm().command()
    assert details == organisation_details(
        name="Gulu Youth", org_type="informal_group", country="UG", youth_led=True
    )


def test_the_edit_form_refuses_an_identifier_another_organisation_has(
    client: FlaskClient, session: Session
) -> None:
    make_organisation(session, org_id="KE-NGB-1234")
    organisation = make_organisation(session)
    admin = make_user(session, Role.ADMIN.value)
    session.commit()
    login(client, admin.email, PASSWORD)
    response = client.post(
        f"/organisations/{organisation.id}/edit",
        data={
            "csrf_token": csrf_token(client),
            "name": organisation.name,
            "org_type": organisation.org_type,
            "country": organisation.country,
            "org_id": "KE-NGB-1234",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#org_id"' in page and "Another organisation already has this identifier" in page
    session.expire_all()
    assert session.get(Organisation, organisation.id).org_id is None


def test_the_api_builds_the_command_on_load(client: FlaskClient, session: Session) -> None:
    manager = make_user(session, Role.FUND_MANAGER.value)
    _token, secret = create_api_token(session, manager, "script")
    auth = {"Authorization": f"Bearer {secret}"}
    body = {
        "name": "Bouaké Youth",
        "org_type": "local_ngo",
        "country": "CI",
        "annual_budget_minor": 5_000_000,
        "annual_budget_currency": "xof",
    }
    created = client.post("/api/v1/organisations", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    found = session.scalar(select(Organisation).where(Organisation.name == "Bouaké Youth"))
    assert found is not None
    assert (found.annual_budget_minor, found.annual_budget_currency) == (5_000_000, "XOF")
    refused = client.post(
        "/api/v1/organisations",
        json={**body, "name": "Other", "annual_budget_currency": None},
        headers=auth,
    )
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"annual_budget_currency"}
