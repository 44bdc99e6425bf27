"""The partner's and the fund manager's attribution pages."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.attribution import services
from grantpool.platform.audit import AuditEvent
from tests.conftest import login
from tests.factories import PASSWORD, make_organisation, make_user
from tests.publishing.helpers import published_grant


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_partner_sets_its_credit_and_gives_consent(client: FlaskClient, session: Session) -> None:
    p = published_grant(session, organisation={"name": "Pages Collective"})
    login(client, p.partner.email, PASSWORD)
    page = client.get(f"/attribution/organisations/{p.organisation.id}").get_data(as_text=True)
    sent = client.post(
        f"/attribution/organisations/{p.organisation.id}",
        data={
            "csrf_token": token(page),
            "naming": "own_name",
            "location_precision": "area",
            "description_en": "We cleaned the river.",
        },
    )
    assert sent.status_code == 302
    bad = client.post(
        f"/attribution/organisations/{p.organisation.id}",
        data={"csrf_token": token(page), "naming": "shout"},
    )
    assert bad.status_code == 422 and "Choose how you want to be named" in bad.get_data(
        as_text=True
    )
    grant_page = client.get(f"/attribution/grants/{p.grant.id}").get_data(as_text=True)
    assert "Give consent" in grant_page and "Hide this partner" not in grant_page
    client.post(
        f"/attribution/grants/{p.grant.id}/consent",
        data={"csrf_token": token(grant_page), "state": "given", "scope": "named"},
    )
    assert "We cleaned the river." in client.get(f"/published/{p.grant.id}").get_data(as_text=True)
    record = services.record_of(session, p.grant)
    assert record is not None and record.consent_state == "given"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "attribution_record")
    ).all()
    assert "attribution.consent_given" in actions


def test_fund_manager_hides_a_partner_and_others_see_nothing(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Flagged Group"})
    services.change_consent(session, p.partner, p.grant, "given", scope="anonymised")
    login(client, p.world.manager.email, PASSWORD)
    assert "Flagged Group" in client.get("/attribution/").get_data(as_text=True)
    page = client.get(f"/attribution/grants/{p.grant.id}").get_data(as_text=True)
    assert "Give consent" not in page
    client.post(
        f"/attribution/grants/{p.grant.id}/safety",
        data={"csrf_token": token(page), "flag": "1", "reason": "Threats"},
    )
    assert client.get(f"/published/{p.grant.id}").status_code == 404
    # A member of another organisation cannot even see the record.
    outsider = make_user(session, "applicant", organisations=[make_organisation(session)])
    client.post("/logout", data={"csrf_token": token(page)})
    login(client, outsider.email, PASSWORD)
    assert client.get(f"/attribution/grants/{p.grant.id}").status_code == 404


def test_mistakes_on_the_grant_page_keep_what_was_typed_and_change_nothing(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Careful Collective"})
    login(client, p.partner.email, PASSWORD)
    url = f"/attribution/grants/{p.grant.id}"
    page = client.get(url).get_data(as_text=True)
    long_story = "Nous avons nettoyé la rivière avec quarante familles. " * 200
    sent = client.post(
        url + "/settings",
        data={
            "csrf_token": token(page),
            "naming": "shout",
            "location_precision": "area",
            "description_fr": long_story,
        },
    )
    assert sent.status_code == 422
    text = sent.get_data(as_text=True)
    assert "Choose how you want to be named" in text
    assert long_story.strip()[:200] in text  # the partner's words are still there
    assert 'id="precision-area" name="location_precision" value="area" checked' in text
    assert services.grant_override(session, p.grant) is None

    sent = client.post(
        url + "/consent",
        data={
            "csrf_token": token(page),
            "state": "given",
            "scope": "anonymised",
            "embargo_until": "next spring",
        },
    )
    assert sent.status_code == 422
    text = sent.get_data(as_text=True)
    assert "Enter the embargo date as YYYY-MM-DD." in text
    assert 'value="anonymised" checked' in text and 'value="next spring"' in text
    assert services.record_of(session, p.grant).consent_state != "given"

    client.post("/logout", data={"csrf_token": token(page)})
    login(client, p.world.manager.email, PASSWORD)
    page = client.get(url).get_data(as_text=True)
    sent = client.post(
        url + "/details",
        data={
            "csrf_token": token(page),
            "theme": "w" * 101,
            "humanitarian": "1",
            "capacity_provided": "Book-keeping training for the treasurer",
        },
    )
    assert sent.status_code == 422
    text = sent.get_data(as_text=True)
    assert "Book-keeping training for the treasurer</textarea>" in text
    assert 'name="humanitarian" value="1" checked' in text
    record = services.record_of(session, p.grant)
    assert record.capacity_provided is None
    sent = client.post(url + "/safety", data={"csrf_token": token(page), "flag": "1", "reason": ""})
    assert sent.status_code == 422
    assert "Say why the partner must be hidden." in sent.get_data(as_text=True)
    assert not services.record_of(session, p.grant).safety_flag
