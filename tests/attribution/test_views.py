"""The partner's and the fund manager's attribution pages."""

from __future__ import annotations

import re

import lxml.html
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from grantpool.attribution import services
from grantpool.attribution.commands import ConsentChange
from grantpool.attribution.rules import ConsentScope, ConsentState
from grantpool.platform.audit import AuditEvent
from tests.conftest import login
from tests.factories import PASSWORD, make_organisation, make_user
from tests.publishing.helpers import published_grant


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def by_class(doc: lxml.html.HtmlElement, name: str) -> list[lxml.html.HtmlElement]:
    return list(doc.xpath(f'//*[contains(concat(" ", @class, " "), " {name} ")]'))


def refused(response: TestResponse) -> lxml.html.HtmlElement:
    """A page shown again after a refusal: 422, and an error summary whose every link
    leads to a field of the page."""
    assert response.status_code == 422, response.get_data(as_text=True)
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    summary = by_class(doc, "error-summary")
    assert summary, "no error summary"
    for link in summary[0].xpath(".//a"):
        assert doc.get_element_by_id(link.get("href").removeprefix("#")) is not None
    return doc


def error_beside(doc: lxml.html.HtmlElement, field_id: str) -> str:
    """The message tied to a field (or a group's fieldset) by aria-describedby."""
    element = doc.get_element_by_id(field_id)
    assert element.get("aria-invalid") == "true" or element.tag == "fieldset"
    ids = (element.get("aria-describedby") or "").split()
    messages = [doc.get_element_by_id(i).text_content() for i in ids if i.endswith("-error")]
    assert messages, f"no error beside {field_id}"
    return " ".join(m.replace("Error:", "").strip() for m in messages)


def checked(doc: lxml.html.HtmlElement, name: str) -> list[str]:
    return [
        i.get("value")
        for i in doc.xpath(f'//input[@name="{name}"]')
        if i.get("checked") is not None
    ]


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
    services.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED)
    )
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
    doc = refused(
        client.post(
            url + "/settings",
            data={
                "csrf_token": token(page),
                "naming": "shout",
                "location_precision": "area",
                "description_fr": long_story,
            },
        )
    )
    assert error_beside(doc, "naming") == "Choose how you want to be named."
    assert error_beside(doc, "description_fr") == "Use at most 4000 characters."
    # The partner's words and choices are still there.
    assert doc.get_element_by_id("description_fr").text_content().strip() == long_story.strip()
    assert checked(doc, "location_precision") == ["area"]
    assert services.grant_override(session, p.grant) is None

    doc = refused(
        client.post(
            url + "/consent",
            data={
                "csrf_token": token(page),
                "state": "given",
                "scope": "anonymised",
                "embargo_until": "next spring",
            },
        )
    )
    assert error_beside(doc, "embargo_until") == "Enter the embargo date as YYYY-MM-DD."
    assert checked(doc, "scope") == ["anonymised"]
    assert doc.get_element_by_id("embargo_until").get("value") == "next spring"
    doc = refused(client.post(url + "/consent", data={"csrf_token": token(page), "state": "given"}))
    assert error_beside(doc, "scope") == "Choose named or anonymised."
    assert services.record_of(session, p.grant).consent_state == "not_given"

    client.post("/logout", data={"csrf_token": token(page)})
    login(client, p.world.manager.email, PASSWORD)
    page = client.get(url).get_data(as_text=True)
    doc = refused(
        client.post(
            url + "/details",
            data={
                "csrf_token": token(page),
                "theme": "w" * 101,
                "humanitarian": "1",
                "capacity_provided": "Book-keeping training for the treasurer",
            },
        )
    )
    assert error_beside(doc, "theme") == "Use at most 100 characters."
    assert doc.get_element_by_id("capacity_provided").text_content().strip() == (
        "Book-keeping training for the treasurer"
    )
    assert checked(doc, "humanitarian") == ["1"]
    # The other forms of the page show what is saved, without messages.
    assert not doc.xpath('//*[@id="reason"][@aria-invalid]')
    assert services.record_of(session, p.grant).capacity_provided is None
    doc = refused(
        client.post(url + "/safety", data={"csrf_token": token(page), "flag": "1", "reason": ""})
    )
    assert error_beside(doc, "reason") == "Say why the partner must be hidden."
    assert not services.record_of(session, p.grant).safety_flag


def test_the_fund_adds_its_details_and_the_page_shows_them(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session)
    login(client, p.world.manager.email, PASSWORD)
    url = f"/attribution/grants/{p.grant.id}"
    page = client.get(url).get_data(as_text=True)
    sent = client.post(
        url + "/details",
        data={"csrf_token": token(page), "theme": "  Clean water ", "capacity_provided": ""},
    )
    assert sent.status_code == 302
    record = services.record_of(session, p.grant)
    assert (record.theme, record.humanitarian, record.capacity_provided) == (
        "Clean water",
        False,
        None,
    )
    doc = lxml.html.fromstring(client.get(url).get_data(as_text=True))
    assert doc.get_element_by_id("theme").get("value") == "Clean water"
    assert checked(doc, "humanitarian") == []


def test_a_consent_change_the_state_does_not_allow_is_shown_at_the_top(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session)
    login(client, p.partner.email, PASSWORD)
    url = f"/attribution/grants/{p.grant.id}"
    page = client.get(url).get_data(as_text=True)
    doc = refused(
        client.post(url + "/consent", data={"csrf_token": token(page), "state": "withdrawn"})
    )
    summary = by_class(doc, "error-summary")[0].text_content()
    assert "Consent that is Not given cannot become Withdrawn." in summary
    assert services.record_of(session, p.grant).consent_state == "not_given"


def test_the_organisation_page_shows_its_mistakes_beside_the_fields(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Tidy Weavers"})
    login(client, p.partner.email, PASSWORD)
    url = f"/attribution/organisations/{p.organisation.id}"
    page = client.get(url).get_data(as_text=True)
    doc = refused(
        client.post(
            url,
            data={
                "csrf_token": token(page),
                "naming": "own_name",
                "anonymised_description_en": "y" * 4001,
                "action": "save",
            },
        )
    )
    assert error_beside(doc, "location_precision") == (
        "Choose how precisely to show where you work."
    )
    assert error_beside(doc, "anonymised_description_en") == "Use at most 4000 characters."
    assert checked(doc, "naming") == ["own_name"]
    assert services.organisation_settings(session, p.organisation).id is None  # not saved

    # A preview of what was typed, with nothing saved; a preview of a mistake shows it.
    shown = client.post(
        url,
        data={
            "csrf_token": token(page),
            "naming": "own_name",
            "location_precision": "country",
            "description_en": "We mend nets.",
            "action": "preview",
        },
    )
    assert shown.status_code == 200
    doc = lxml.html.fromstring(shown.get_data(as_text=True))
    assert "We mend nets." in by_class(doc, "preview")[0].text_content()
    assert doc.get_element_by_id("description_en").text_content().strip() == "We mend nets."
    assert services.organisation_settings(session, p.organisation).id is None
    doc = refused(
        client.post(url, data={"csrf_token": token(page), "naming": "", "action": "preview"})
    )
    assert error_beside(doc, "naming") == "Choose how you want to be named."
    assert not by_class(doc, "preview")


def test_a_manager_protects_an_organisation_from_its_page(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Quiet Group"})
    login(client, p.world.manager.email, PASSWORD)
    url = f"/attribution/organisations/{p.organisation.id}"
    page = client.get(url).get_data(as_text=True)
    doc = refused(client.post(url + "/safety", data={"csrf_token": token(page), "flag": "1"}))
    assert error_beside(doc, "reason") == "Say why the partner must be hidden."
    session.refresh(p.organisation)
    assert not p.organisation.safety_flag
    sent = client.post(
        url + "/safety", data={"csrf_token": token(page), "flag": "1", "reason": " Raided "}
    )
    assert sent.status_code == 302
    session.refresh(p.organisation)
    assert (p.organisation.safety_flag, p.organisation.safety_reason) == (True, "Raided")
    # The manager may protect the partner but not speak for it.
    sent = client.post(
        url,
        data={"csrf_token": token(page), "naming": "own_name", "location_precision": "area"},
    )
    assert sent.status_code == 403


def test_a_grant_goes_back_to_its_organisations_choice(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session)
    login(client, p.partner.email, PASSWORD)
    url = f"/attribution/grants/{p.grant.id}"
    page = client.get(url).get_data(as_text=True)
    sent = client.post(
        url + "/settings",
        data={"csrf_token": token(page), "naming": "not_published", "location_precision": "hidden"},
    )
    assert sent.status_code == 302
    assert services.grant_override(session, p.grant).naming == "not_published"
    doc = lxml.html.fromstring(client.get(url).get_data(as_text=True))
    assert checked(doc, "naming") == ["not_published"]
    sent = client.post(url + "/settings", data={"csrf_token": token(page), "use_default": "y"})
    assert sent.status_code == 302
    assert services.grant_override(session, p.grant) is None
