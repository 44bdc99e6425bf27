from __future__ import annotations

import pytest

from grantpool.organisations import services
from grantpool.organisations.commands import organisation_details
from grantpool.organisations.rules import IATI_ORGANISATION_TYPE, OrganisationType
from grantpool.platform.errors import ValidationFailed
from tests.factories import make_organisation, make_user


def test_unregistered_community_group_without_identifier(session):
    group = services.create_organisation(
        session,
        None,
        organisation_details(
            name="Mathare Mothers' Circle",
            org_type="informal_group",
            country="ke",
            area="KE-30",
            women_led=True,
        ),
    )
    assert group.registered is False and group.org_id is None
    assert group.country == "KE" and group.area == "KE-30"
    assert [lead.value for lead in group.leadership] == ["women_led"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("area", "UG-N"),
        ("org_type", "club"),
        ("org_id", "not an id"),
        ("name", ""),
        ("contact_email", "nobody"),
    ],
)
def test_invalid_fields_are_named(session, field, value):
    data = {"name": "Group", "org_type": "local_ngo", "country": "KE", field: value}
    with pytest.raises(ValidationFailed) as failure:
        services.create_organisation(session, None, organisation_details(**data))
    assert field in failure.value.errors


def test_org_id_is_unique(session):
    make_organisation(session, org_id="KE-NGB-1234")
    with pytest.raises(ValidationFailed) as failure:
        make_organisation(session, org_id="KE-NGB-1234")
    assert "org_id" in failure.value.errors


def test_a_person_can_act_for_several_organisations(session):
    first, second = make_organisation(session), make_organisation(session)
    person = make_user(session, "applicant", organisations=[first, second])
    assert person.organisation_ids() == {first.id, second.id}


def test_every_type_maps_to_an_iati_code():
    from pathlib import Path

    codelist = (
        Path(__file__).resolve().parents[1]
        / "data"
        / "standards"
        / "iati"
        / "codelists"
        / "OrganisationType.xml"
    )
    codes = set(__import__("re").findall(r"<code>(\d+)</code>", codelist.read_text()))
    assert set(IATI_ORGANISATION_TYPE) == set(OrganisationType)
    assert set(IATI_ORGANISATION_TYPE.values()) <= codes
