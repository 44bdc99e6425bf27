"""The grant pages: the grantee's report, the finance officers' two-person release, the
fund manager's review, amendment and templates; and who may open what."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.grants import queries, services
from grantpool.grants.commands import (
    AmendmentRequest,
    TrancheSpec,
    report_details,
    template_details,
)
from tests.conftest import login
from tests.factories import PASSWORD, make_organisation, make_user

from .helpers import make_grant, make_world


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_grantee_sees_status_and_sends_a_report_with_a_photo(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    login(client, world.grantee.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    assert "Waiting for: narrative report for tranche 1 accepted" in page
    assert "Request release" not in page
    form = client.get(f"/grants/{grant.id}/reports/new").get_data(as_text=True)
    data = {
        "csrf_token": token(form),
        "idempotency_key": "form-1",
        "kind": "narrative",
        "tranche_number": "1",
        "text": "Forty people trained in seed saving.",
        "photo": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "photo.png"),
    }
    sent = client.post(
        f"/grants/{grant.id}/reports/new", data=data, content_type="multipart/form-data"
    )
    assert sent.status_code == 302
    [report] = queries.reports_of(session, grant)
    assert report.files[0]["role"] == "photo"
    # A second press of the button sends nothing twice.
    data["photo"] = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64), "photo.png")
    client.post(f"/grants/{grant.id}/reports/new", data=data, content_type="multipart/form-data")
    assert len(queries.reports_of(session, grant)) == 1
    empty = client.post(
        f"/grants/{grant.id}/reports/new",
        data={**data, "idempotency_key": "form-2", "kind": "financial", "photo": ""},
    )
    assert empty.status_code == 422
    assert "Say how much was spent" in empty.get_data(as_text=True)


def test_two_people_release_and_pay_through_the_pages(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first = queries.tranches_of(session, grant)[0]
    login(client, world.officer.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    assert "Request release" in page
    data = {"csrf_token": token(page), "idempotency_key": "click-1"}
    client.post(f"/grants/tranches/{first.id}/release", data=data)
    client.post(f"/grants/tranches/{first.id}/release", data=data)  # double click
    [disbursement] = queries.disbursements_of(session, grant)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    assert f"/grants/disbursements/{disbursement.id}/approve" not in page  # not their own
    refused = client.post(
        f"/grants/disbursements/{disbursement.id}/approve", data={"csrf_token": token(page)}
    )
    assert refused.status_code == 403

    login(client, world.officer2.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    client.post(
        f"/grants/disbursements/{disbursement.id}/approve", data={"csrf_token": token(page)}
    )
    form = client.get(f"/grants/disbursements/{disbursement.id}/pay").get_data(as_text=True)
    paid = client.post(
        f"/grants/disbursements/{disbursement.id}/pay",
        data={
            "csrf_token": token(form),
            "idempotency_key": "pay-1",
            "reference": "BT-99",
            "paid_on": "2026-01-12",
            "method": "bank_transfer",
            "currency": "USD",
        },
    )
    assert paid.status_code == 302, paid.get_data(as_text=True)
    session.refresh(disbursement)
    assert disbursement.state == "paid" and disbursement.days_award_to_payment == 7


def test_manager_reviews_amends_and_edits_templates(client: FlaskClient, session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    report = services.submit_report(
        session, world.grantee, grant, report_details(kind="narrative", tranche_number=1, text="Hi")
    )
    login(client, world.manager.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    returned = client.post(
        f"/grants/{grant.id}/reports/{report.id}/review",
        data={"csrf_token": token(page), "decision": "return", "comment": "Add numbers"},
    )
    assert returned.status_code == 302
    session.refresh(report)
    assert report.state == "returned" and report.review_comment == "Add numbers"

    form = client.get(f"/grants/{grant.id}/amend").get_data(as_text=True)
    amended = client.post(
        f"/grants/{grant.id}/amend",
        data={
            "csrf_token": token(form),
            "reason": "More families",
            "amount": "12000",
            "end_on": grant.end_on.isoformat(),
        },
    )
    assert amended.status_code == 302, amended.get_data(as_text=True)
    session.refresh(grant)
    assert grant.amount_minor == 1_200_000
    pdf = client.get(f"/grants/{grant.id}/agreements/2.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    missing_reason = client.post(
        f"/grants/{grant.id}/amend", data={"csrf_token": token(form), "amount": "13000"}
    )
    assert missing_reason.status_code == 422

    url = f"/grants/funds/{world.fund.id}/tranche-templates"
    form = client.get(url).get_data(as_text=True)
    saved = client.post(
        url,
        data={
            "csrf_token": token(form),
            "as_data": "1",
            "risk_level": "low",
            "tranches": '[{"percent": 70}, {"percent": 30, "offset_days": 90}]',
        },
    )
    assert saved.status_code == 302
    bad = client.post(
        url, data={"csrf_token": token(form), "as_data": "1", "risk_level": "low", "tranches": "[{"}
    )
    assert bad.status_code == 422


def test_an_amendment_edits_tranche_conditions_as_plain_fields(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    first, second = queries.tranches_of(session, grant)
    report_leaf = next(
        leaf for leaf in second.conditions["all"] if leaf["type"] == "report_accepted"
    )
    login(client, world.manager.email, PASSWORD)
    url = f"/grants/{grant.id}/amend"
    page = client.get(url).get_data(as_text=True)
    # Low risk: the second tranche waits for its date and the first narrative report.
    assert '<input checked id="tranches-1-wait_until_due"' in page
    assert '<option selected value="1">1</option>' in page  # its narrative report
    assert "Conditions (as data)" not in page and "Edit as data instead" in page
    rows = {
        "csrf_token": token(page),
        "reason": "A milestone agreed with the committee",
        "end_on": grant.end_on.isoformat(),
        "amount": "10000",
        "edit_schedule": "y",
        "tranches-0-number": str(first.number),
        "tranches-0-amount": "6000",
        "tranches-0-due_on": first.due_on.isoformat(),
        "tranches-1-number": str(second.number),
        "tranches-1-amount": "4000",
        "tranches-1-due_on": second.due_on.isoformat(),
        "tranches-1-wait_until_due": "y",
        "tranches-1-narrative_report": "1",
        "tranches-1-milestone": "Pump installed",
    }
    # A mistake is named, what was typed stays, and nothing changes.
    bad = client.post(url, data={**rows, "tranches-1-spent_percent": "most"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Tranche 2: give the share spent as a whole percentage." in text
    assert 'value="Pump installed"' in text and 'value="most"' in text
    session.refresh(second)
    assert not any(leaf["type"] == "milestone_verified" for leaf in second.conditions["all"])

    assert client.post(url, data=rows).status_code == 302
    session.refresh(second)
    leaves = {leaf["type"]: leaf for leaf in second.conditions["all"]}
    assert set(leaves) == {"date_reached", "report_accepted", "milestone_verified"}
    assert leaves["milestone_verified"]["label"] == "Pump installed"
    assert leaves["date_reached"]["date"] == second.due_on.isoformat()
    assert leaves["report_accepted"]["id"] == report_leaf["id"]  # a waiver would still hold

    # Conditions a row cannot hold ("any") open the data editor.
    services.amend_grant(
        session,
        world.manager,
        grant,
        AmendmentRequest(
            reason="Either will do",
            tranches=tuple(
                TrancheSpec(
                    number=t.number,
                    amount=t.amount,
                    due_on=t.due_on,
                    conditions={
                        "any": [
                            {"type": "manual_approval"},
                            {"type": "milestone_verified", "label": "Pump installed"},
                        ]
                    }
                    if t.number == 2
                    else t.conditions,
                )
                for t in (first, second)
            ),
        ),
    )
    page = client.get(url).get_data(as_text=True)
    assert "Conditions (as data)" in page and 'name="as_data" value="1"' in page
    assert 'name="tranches-1-milestone"' not in page


def test_a_template_is_edited_as_plain_rows(client: FlaskClient, session: Session) -> None:
    from grantpool.grants import services as grant_services

    world = make_world(session)
    login(client, world.manager.email, PASSWORD)
    url = f"/grants/funds/{world.fund.id}/tranche-templates"
    page = client.get(url + "?risk=high").get_data(as_text=True)
    # The built-in high-risk template, shown as fields: 25 % four times, a bank letter first.
    assert 'name="tranches-0-percent"' in page and 'value="bank account letter"' in page
    assert 'name="tranches-3-spent_percent"' in page and "Edit as data instead" in page
    rows = {
        "csrf_token": token(page),
        "risk_level": "medium",
        "tranches-0-percent": "50",
        "tranches-0-offset_days": "0",
        "tranches-0-document": "Bank account letter",
        "tranches-1-percent": "50",
        "tranches-1-offset_days": "90",
        "tranches-1-wait_until_due": "y",
        "tranches-1-narrative_report": "1",
        "tranches-1-spent_percent": "60",
        "tranches-2-percent": "",  # a blank block adds nothing
    }
    assert client.post(url, data=rows).status_code == 302
    saved = grant_services.template_for(session, world.fund, "medium")
    assert saved == [
        {
            "percent": 50,
            "offset_days": 0,
            "conditions": {"all": [{"type": "document_provided", "kind": "Bank account letter"}]},
        },
        {
            "percent": 50,
            "offset_days": 90,
            "conditions": {
                "all": [
                    {"type": "date_reached", "offset_days": 90},
                    {"type": "report_accepted", "kind": "narrative", "tranche": 1},
                    {"type": "previous_spent_at_least", "percent": 60},
                ]
            },
        },
    ]
    # Mistakes are named, what was typed stays, and nothing is saved.
    bad = client.post(
        url,
        data={**rows, "tranches-1-percent": "forty", "tranches-0-milestone": "Committee formed"},
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Tranche 2: give its share as a whole percentage." in text
    assert 'value="forty"' in text and 'value="Committee formed"' in text
    uneven = client.post(url, data={**rows, "tranches-1-percent": "40"})
    assert uneven.status_code == 422
    assert "add up to 100%" in uneven.get_data(as_text=True)
    assert grant_services.template_for(session, world.fund, "medium") == saved
    # A template whose conditions need "any" opens in the data editor.
    grant_services.save_template(
        session,
        world.manager,
        world.fund,
        template_details(
            risk_level="low",
            tranches=[
                {
                    "percent": 100,
                    "offset_days": 0,
                    "conditions": {
                        "any": [
                            {"type": "manual_approval"},
                            {"type": "document_provided", "kind": "Letter"},
                        ]
                    },
                },
            ],
        ),
    )
    data_page = client.get(url + "?risk=low").get_data(as_text=True)
    assert 'name="as_data"' in data_page and "&#34;any&#34;" in data_page


def test_pages_of_other_organisations_and_funds_are_not_found(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world)
    stranger = make_user(session, organisations=[make_organisation(session)])
    other = make_world(session)
    for user in (stranger, other.manager, other.officer):
        login(client, user.email, PASSWORD)
        assert client.get(f"/grants/{grant.id}").status_code == 404
        assert client.get(f"/grants/{grant.id}/amend").status_code == 404
        assert client.get(f"/grants/{grant.id}/agreements/1.pdf").status_code == 404
    login(client, world.grantee.email, PASSWORD)
    assert client.get(f"/grants/{grant.id}/amend").status_code == 403
    assert client.get(f"/grants/funds/{world.fund.id}/tranche-templates").status_code == 404


def test_a_refused_action_is_explained_on_the_grant_page(
    client: FlaskClient, session: Session
) -> None:
    """Returning a report without a comment, or releasing a tranche that is not ready,
    comes back to the grant page with the reason (it used to fail on the server)."""
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    report = services.submit_report(
        session, world.grantee, grant, report_details(kind="narrative", tranche_number=1, text="Hi")
    )
    login(client, world.manager.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    refused = client.post(
        f"/grants/{grant.id}/reports/{report.id}/review",
        data={"csrf_token": token(page), "decision": "return", "comment": ""},
        follow_redirects=True,
    )
    assert refused.status_code == 200
    assert "Say what needs to change." in refused.get_data(as_text=True)
    session.refresh(report)
    assert report.state == "submitted"

    _first, second = queries.tranches_of(session, grant)
    login(client, world.officer.email, PASSWORD)
    page = client.get(f"/grants/{grant.id}").get_data(as_text=True)
    not_ready = client.post(
        f"/grants/tranches/{second.id}/release",
        data={"csrf_token": token(page)},
        follow_redirects=True,
    )
    assert not_ready.status_code == 200
    assert "This tranche cannot be released yet." in not_ready.get_data(as_text=True)


def test_an_amendment_that_cannot_be_read_names_each_field_and_changes_nothing(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    login(client, world.manager.email, PASSWORD)
    form = client.get(f"/grants/{grant.id}/amend").get_data(as_text=True)
    refused = client.post(
        f"/grants/{grant.id}/amend",
        data={
            "csrf_token": token(form),
            "reason": "More families",
            "amount": "lots",
            "end_on": "next spring",
            "edit_schedule": "y",
            "tranches-0-number": "1",
            "tranches-0-amount": "",
            "tranches-0-due_on": "2026-01-01",
        },
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Enter a real date." in page
    assert "Enter an amount such as 1250.50." in page
    assert "Each tranche needs an amount and a date." in page
    session.refresh(grant)
    assert grant.amount_minor == 1_000_000


def test_a_report_form_sent_again_with_its_key_is_one_report_unless_it_changed(
    client: FlaskClient, session: Session
) -> None:
    world = make_world(session)
    grant = make_grant(session, world, 1_000_000, risk_level="low")
    login(client, world.grantee.email, PASSWORD)
    form = client.get(f"/grants/{grant.id}/reports/new").get_data(as_text=True)
    data = {
        "csrf_token": token(form),
        "idempotency_key": "same-key",
        "kind": "financial",
        "tranche_number": "1",
        "spent": "1,250.50",
    }
    assert client.post(f"/grants/{grant.id}/reports/new", data=data).status_code == 302
    # The same amount written another way is the same report: a retry.
    retried = client.post(f"/grants/{grant.id}/reports/new", data={**data, "spent": "1250.50"})
    assert retried.status_code == 302
    changed = client.post(f"/grants/{grant.id}/reports/new", data={**data, "spent": "99"})
    assert changed.status_code == 422
    assert "already used for a different request" in changed.get_data(as_text=True)
    assert len(queries.reports_of(session, grant)) == 1
