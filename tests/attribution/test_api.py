"""The credit API: the same choices, previews, consent and protection as the pages, with
the same answers for those who may not see them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts import services as accounts
from grantpool.accounts.models import Role
from tests.factories import make_organisation, make_user
from tests.grants.helpers import make_world
from tests.publishing.helpers import published_grant


def bearer(session: Session, user: object) -> dict[str, str]:
    _token, secret = accounts.create_api_token(session, user, "credit")
    return {"Authorization": f"Bearer {secret}"}


def test_a_partner_sets_previews_and_consents_through_the_api(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Api Weavers", "area": "KE-47"})
    partner = bearer(session, p.partner)
    url = f"/api/v1/organisations/{p.organisation.id}/credit"
    body = {
        "naming": "anonymised",
        "location_precision": "area",
        "descriptions": {"en": "Api Weavers of Kapenguria sell baskets."},
        "anonymised_descriptions": {"en": "Weavers sell baskets at the market."},
    }
    preview = client.post(url + "/preview", json=body, headers=partner)
    assert preview.status_code == 200, preview.get_json()
    english = next(row for row in preview.get_json() if row["language"] == "en")
    assert english["credited_as"] == "a community organisation in West Pokot, Kenya"
    assert english["words"] == "Weavers sell baskets at the market."
    assert client.get(url, headers=partner).get_json()["naming"] == "anonymised"  # not saved

    saved = client.put(url, json=body, headers=partner)
    assert saved.status_code == 200
    assert saved.get_json()["anonymised_descriptions"] == {
        "en": "Weavers sell baskets at the market."
    }
    bad = client.put(url, json={**body, "naming": "shout"}, headers=partner)
    assert bad.status_code == 422

    grant_url = f"/api/v1/grants/{p.grant.id}"
    given = client.post(
        grant_url + "/consent", json={"state": "given", "scope": "anonymised"}, headers=partner
    )
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["published"] is True
    page = client.get(f"/published/{p.grant.id}").get_data(as_text=True)
    assert "Weavers sell baskets at the market." in page and "Kapenguria" not in page
    missing = client.post(grant_url + "/consent", json={"state": "given"}, headers=partner)
    assert missing.status_code == 422


def test_managers_protect_through_the_api_and_others_get_404(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Api Defenders"})
    manager = bearer(session, p.world.manager)
    partner = bearer(session, p.partner)
    client.post(
        f"/api/v1/grants/{p.grant.id}/consent",
        json={"state": "given", "scope": "named"},
        headers=partner,
    )
    url = f"/api/v1/organisations/{p.organisation.id}/safety"
    assert client.put(url, json={"flag": True}, headers=manager).status_code == 422
    flagged = client.put(url, json={"flag": True, "reason": "Raided office"}, headers=manager)
    assert flagged.status_code == 200
    assert flagged.get_json()["protection"] == {
        "hidden": True,
        "on_organisation": True,
        "reason": "Raided office",
        "flagged_grants": [],
    }
    # The partner learns it is hidden, not the fund's reason.
    own = client.get(f"/api/v1/organisations/{p.organisation.id}/credit", headers=partner)
    assert own.get_json()["protection"] == {"hidden": True}
    assert (
        client.get(f"/api/v1/grants/{p.grant.id}/credit", headers=partner).get_json()["published"]
        is False
    )
    # A partner cannot protect or unprotect itself.
    assert client.put(url, json={"flag": False}, headers=partner).status_code == 403

    outsiders = [
        make_user(session, "applicant", organisations=[make_organisation(session)]),
        make_user(session, Role.REVIEWER.value),
        make_world(session).manager,
    ]
    unknown = p.organisation.id + 10_000
    for user in outsiders:
        headers = bearer(session, user)
        for organisation_id in (p.organisation.id, unknown):
            base = f"/api/v1/organisations/{organisation_id}"
            assert client.get(base + "/credit", headers=headers).status_code == 404
            assert (
                client.put(base + "/safety", json={"flag": False}, headers=headers).status_code
                == 404
            )
        assert client.get(f"/api/v1/grants/{p.grant.id}/credit", headers=headers).status_code == 404
        assert (
            client.put(
                f"/api/v1/grants/{p.grant.id}/safety",
                json={"flag": True, "reason": "x"},
                headers=headers,
            ).status_code
            == 404
        )
