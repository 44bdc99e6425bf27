"""A partner's safety and choices hold in every public output: the safety flag protects
the organisation in every fund, the credit page is hidden from everyone else, anonymised
records carry only words written for them, and embargoes end in the fund's time zone."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.attribution import services
from grantpool.attribution.commands import ConsentChange, CreditSettings, RecordDetails
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.platform.audit import AuditEvent
from grantpool.publishing import queries
from tests.conftest import login, signed_in_client
from tests.factories import PASSWORD, make_donor, make_organisation, make_user
from tests.grants.helpers import make_grant, make_world
from tests.publishing.helpers import published_grant

OUTPUTS = (
    "/published/",
    "/open-data/360giving.json",
    "/open-data/360giving.csv",
    "/open-data/iati-activities.xml",
)


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def public_text(client: FlaskClient, *grant_ids: int) -> str:
    pages = [client.get(url).get_data(as_text=True) for url in OUTPUTS]
    for grant_id in grant_ids:
        pages.append(client.get(f"/published/{grant_id}").get_data(as_text=True))
    return "\n".join(pages)


def two_funds_one_partner(session: Session, name: str):  # type: ignore[no-untyped-def]
    p = published_grant(session, organisation={"name": name, "org_id": f"KE-RCO-{name[:4]}"})
    other = make_world(session)
    other.organisation = p.organisation
    second = make_grant(session, other, 500_000)
    services.save_organisation_settings(
        session, p.partner, p.organisation, CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA)
    )
    for grant in (p.grant, second):
        services.change_consent(
            session, p.partner, grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
        )
    return p, other, second


def test_a_flag_on_one_grant_hides_every_grant_of_the_partner_in_every_fund(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    p, other, second = two_funds_one_partner(session, "Riverside Defenders")
    session.commit()
    assert public_text(client, p.grant.id, second.id).count("Riverside Defenders") >= 2

    manager = signed_in_client(app, p.world.manager)
    page = manager.get(f"/attribution/grants/{p.grant.id}").get_data(as_text=True)
    assert "every grant, record, certificate, page and open-data entry" in page
    manager.post(
        f"/attribution/grants/{p.grant.id}/safety",
        data={"csrf_token": token(page), "flag": "1", "reason": "Threats after a radio show"},
    )
    text = public_text(client, p.grant.id, second.id)
    assert "Riverside" not in text and "KE-RCO-Rive" not in text
    assert client.get(f"/published/{second.id}").status_code == 404
    assert client.get(f"/published/{second.id}/certificate.pdf").status_code == 404
    # The other fund's pages say why nothing is published.
    other_manager = signed_in_client(app, other.manager)
    page = other_manager.get(f"/attribution/grants/{second.id}").get_data(as_text=True)
    assert "hidden this partner everywhere" in page
    assert not list(queries.iter_public_records(session, dt.datetime.now(dt.UTC)))

    # Lifting the flag where it was set publishes both again.
    page = manager.get(f"/attribution/grants/{p.grant.id}").get_data(as_text=True)
    manager.post(f"/attribution/grants/{p.grant.id}/safety", data={"csrf_token": token(page)})
    assert public_text(client, p.grant.id, second.id).count("Riverside Defenders") >= 2


def test_a_flag_on_the_organisation_hides_it_and_is_audited(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    p, other, second = two_funds_one_partner(session, "Hilltop Women Lawyers")
    session.commit()
    manager = signed_in_client(app, other.manager)
    url = f"/attribution/organisations/{p.organisation.id}"
    page = manager.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # A fund manager protects the partner; the partner's own settings are not theirs.
    assert "Hide this partner everywhere" in text and 'name="naming"' not in text
    missing = manager.post(url + "/safety", data={"csrf_token": token(text), "flag": "1"})
    assert missing.status_code == 422 and "Say why the partner must be hidden." in (
        missing.get_data(as_text=True)
    )
    assert "Hilltop" in public_text(client)
    manager.post(
        url + "/safety", data={"csrf_token": token(text), "flag": "1", "reason": "Staff detained"}
    )
    assert "Hilltop" not in public_text(client, p.grant.id, second.id)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "organisation")
    ).all()
    assert "organisation.safety_set" in actions
    # The partner is told, without the fund's reason.
    partner = signed_in_client(app, p.partner)
    own = partner.get(url).get_data(as_text=True)
    assert "hidden this partner everywhere" in own and "Staff detained" not in own
    text = manager.get(url).get_data(as_text=True)
    assert "Staff detained" in text
    manager.post(url + "/safety", data={"csrf_token": token(text)})
    assert "Hilltop" in public_text(client)


def test_the_credit_page_is_a_404_for_everyone_else(app: Flask, session: Session) -> None:
    p = published_grant(session, organisation={"name": "Quiet Group"})
    stranger_fund = make_world(session)
    outsiders = [
        make_user(session, "applicant", organisations=[make_organisation(session)]),
        make_user(session, Role.REVIEWER.value),
        make_user(session, (Role.DONOR_VIEWER.value, None, make_donor(session).id)),
        make_user(session, (Role.FINANCE_OFFICER.value, p.world.fund.id, None)),
        stranger_fund.manager,
    ]
    session.commit()
    unknown = p.organisation.id + 10_000
    for user in outsiders:
        client = signed_in_client(app, user)
        for organisation_id in (p.organisation.id, unknown):
            url = f"/attribution/organisations/{organisation_id}"
            assert client.get(url).status_code == 404, (user.email, url)
            assert client.post(url, data={"naming": "own_name"}).status_code in (400, 404)
            assert client.post(url + "/safety", data={"flag": "1"}).status_code in (400, 404)
    assert (
        signed_in_client(app, p.partner)
        .get(f"/attribution/organisations/{p.organisation.id}")
        .status_code
        == 200
    )


def test_anonymised_records_carry_only_words_written_for_them(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Lakeside Fishers", "area": "KE-30"})
    session.commit()
    partner = signed_in_client(app, p.partner)
    url = f"/attribution/organisations/{p.organisation.id}"
    form = {
        "naming": "anonymised",
        "location_precision": "country",
        "description_en": "Lakeside Fishers rebuilt the Kisumu landing site.",
        "anonymised_description_en": "A fishing community rebuilt its landing site.",
        "anonymised_description_fr": "Une communauté de pêcheurs a rebâti son débarcadère.",
    }
    page = partner.get(url).get_data(as_text=True)
    preview = partner.post(url, data={"csrf_token": token(page), "action": "preview", **form})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "What will be published" in text
    # Each language's row: the anonymised name in that language and the words for it.
    assert "a community organisation in Kenya" in text
    assert "une organisation communautaire" in text.lower() or "Kenya" in text
    assert "Une communauté de pêcheurs a rebâti son débarcadère." in text
    preview_rows = text.split("What will be published", 1)[1].split("</section>", 1)[0]
    assert "Kisumu" not in preview_rows and "Lakeside" not in preview_rows
    # Nothing was saved by the preview.
    assert services.organisation_settings(session, p.organisation).id is None

    sent = partner.post(url, data={"csrf_token": token(page), "action": "save", **form})
    assert sent.status_code == 302
    services.change_consent(
        session, p.partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED)
    )
    session.commit()
    text = public_text(client, p.grant.id)
    assert "A fishing community rebuilt its landing site." in text
    assert "Kisumu" not in text and "Lakeside" not in text

    # Without words for anonymised publication, none of the partner's own are published.
    form.pop("anonymised_description_en")
    form.pop("anonymised_description_fr")
    page = partner.get(url).get_data(as_text=True)
    partner.post(url, data={"csrf_token": token(page), "action": "save", **form})
    text = public_text(client, p.grant.id)
    assert "landing site" not in text and "Kisumu" not in text
    assert client.get(f"/published/{p.grant.id}").status_code == 200


def test_an_embargo_ends_at_midnight_in_the_funds_time_zone(session: Session) -> None:
    # Auckland is 13 hours ahead of UTC in November.
    p = published_grant(session)
    services.save_organisation_settings(
        session, p.partner, p.organisation, CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA)
    )
    p.world.fund.timezone = "Pacific/Auckland"
    services.change_consent(
        session,
        p.partner,
        p.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED, embargo_until=dt.date(2026, 11, 23)),
    )
    session.flush()
    before = dt.datetime(2026, 11, 22, 10, 59, tzinfo=dt.UTC)  # 23:59 in Auckland
    after = dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC)  # midnight in Auckland
    assert queries.public_record(session, p.grant.id, before) is None
    assert queries.public_record(session, p.grant.id, after) is not None
    p.world.fund.timezone = "America/Lima"  # five hours behind UTC
    session.flush()
    assert queries.public_record(session, p.grant.id, after) is None
    assert (
        queries.public_record(session, p.grant.id, dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC))
        is not None
    )


def test_a_grant_marked_do_not_publish_lends_nothing_to_filters(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    hidden = published_grant(session, organisation={"name": "Unseen", "country": "UG"})
    services.save_organisation_settings(
        session,
        hidden.partner,
        hidden.organisation,
        CreditSettings(Naming.OWN_NAME, LocationPrecision.AREA),
    )
    services.change_consent(
        session, hidden.partner, hidden.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    services.save_fund_details(
        session, hidden.world.manager, hidden.grant, RecordDetails("Land rights", False, None)
    )
    services.save_grant_settings(
        session,
        hidden.partner,
        hidden.grant,
        CreditSettings(Naming.NOT_PUBLISHED, LocationPrecision.AREA),
    )
    session.commit()
    listing = client.get("/published/").get_data(as_text=True)
    assert "Land rights" not in listing and "Unseen" not in listing
    assert "Unseen" not in client.get("/published/?country=UG").get_data(as_text=True)
    assert client.get(f"/published/{hidden.grant.id}").status_code == 404
    assert "Unseen" not in public_text(client)


def test_the_partner_signs_in_and_the_page_offers_every_language(
    client: FlaskClient, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Two Tongues"})
    login(client, p.partner.email, PASSWORD)
    page = client.get(f"/attribution/organisations/{p.organisation.id}").get_data(as_text=True)
    for code in ("en", "fr"):
        assert f'name="description_{code}"' in page
        assert f'name="anonymised_description_{code}"' in page


def test_the_grant_page_previews_its_own_choice_without_saving(
    app: Flask, session: Session
) -> None:
    p = published_grant(session, organisation={"name": "Harbour Menders", "area": "KE-47"})
    session.commit()
    partner = signed_in_client(app, p.partner)
    url = f"/attribution/grants/{p.grant.id}"
    page = partner.get(url).get_data(as_text=True)
    sent = partner.post(
        url + "/settings",
        data={
            "csrf_token": token(page),
            "action": "preview",
            "naming": "own_name",
            "location_precision": "area",
            "description_en": "We mend nets in the harbour.",
        },
    )
    text = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "What will be published" in text
    preview = text.split("What will be published", 1)[1].split("</section>", 1)[0]
    assert "Harbour Menders" in preview and "West Pokot" in preview
    assert "We mend nets in the harbour." in preview
    assert services.grant_override(session, p.grant) is None
