"""The dashboard through the browser's eyes: who sees what, charts, exports, the PDF, and
a bounded number of SQL statements whatever the amount of data."""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from grantpool.accounts.models import Role
from grantpool.dashboard.charts import bar_chart
from grantpool.funds.commands import donor_details
from grantpool.funds.services import update_donor
from grantpool.platform.sqlcount import HEADER
from tests.conftest import signed_in_client
from tests.factories import make_fund, make_organisation, make_user
from tests.grants.helpers import make_world
from tests.ledger.helpers import contribute

from .helpers import award, make_pool, pay_first_tranche

PAGE_LIMIT = 20


@pytest.fixture
def app_config():
    return {"SQL_COUNT_HEADER": True}


def test_donor_viewers_see_only_funds_their_donor_gave_to(app, session: Session) -> None:
    pool = make_pool(session)
    fund_a = pool.world.fund
    # Donor B gives to a second fund that donor A never touched.
    other = make_world(session, available="")
    # Fund A's donor is not the other fund's to see until an administrator shares it.
    donor_b = pool.donor_b
    update_donor(
        session,
        make_user(session, Role.ADMIN.value),
        donor_b,
        donor_details(
            name=donor_b.name,
            donor_type=donor_b.donor_type,
            currency=donor_b.currency,
            fund_ids=[fund_a.id, other.fund.id],
        ),
    )
    contribute(session, other.officer, other.fund, donor_b, "10.00")
    only_a = make_user(session, (Role.DONOR_VIEWER.value, None, pool.donor_a.id))
    client = signed_in_client(app, only_a)
    assert client.get(f"/dashboard/funds/{fund_a.id}").status_code == 200
    assert client.get(f"/dashboard/funds/{other.fund.id}").status_code == 404
    assert client.get(f"/dashboard/funds/{other.fund.id}/report.pdf").status_code == 404
    assert client.get(f"/dashboard/funds/{other.fund.id}/export/money.csv").status_code == 404
    index = client.get("/dashboard/")
    assert index.status_code == 302 and index.headers["Location"].endswith(
        f"/dashboard/funds/{fund_a.id}"
    )


def test_a_donor_viewer_sees_its_own_row_and_staff_see_every_donor(app, session) -> None:
    pool = make_pool(session)
    fund_id = pool.world.fund.id
    page = (
        signed_in_client(app, pool.viewer_a)
        .get(f"/dashboard/funds/{fund_id}")
        .get_data(as_text=True)
    )
    assert pool.donor_a.name in page and pool.donor_b.name not in page
    page = (
        signed_in_client(app, pool.world.manager)
        .get(f"/dashboard/funds/{fund_id}")
        .get_data(as_text=True)
    )
    assert pool.donor_a.name in page and pool.donor_b.name in page


def test_people_without_a_part_in_the_fund_get_not_found(app, session) -> None:
    pool = make_pool(session)
    fund_id = pool.world.fund.id
    stranger_manager = make_user(session, (Role.FUND_MANAGER.value, make_fund(session).id, None))
    applicant = make_user(session, Role.APPLICANT.value, organisations=[make_organisation(session)])
    for person in (stranger_manager, applicant, pool.world.grantee):
        assert signed_in_client(app, person).get(f"/dashboard/funds/{fund_id}").status_code == 404
    assert app.test_client().get(f"/dashboard/funds/{fund_id}").status_code in (302, 401)
    admin = make_user(session, Role.ADMIN.value)
    assert signed_in_client(app, admin).get(f"/dashboard/funds/{fund_id}").status_code == 200
    officer = signed_in_client(app, pool.world.officer)
    assert officer.get(f"/dashboard/funds/{fund_id}").status_code == 200


def test_page_has_well_formed_svg_charts_each_beside_its_table(app, session) -> None:
    pool = make_pool(session)
    page = (
        signed_in_client(app, pool.world.manager)
        .get(f"/dashboard/funds/{pool.world.fund.id}")
        .get_data(as_text=True)
    )
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(charts) >= 5
    for svg in charts:
        root = ET.fromstring(svg)  # noqa: S314 - our own output
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find("{http://www.w3.org/2000/svg}title").text
    assert "Kenya" in page and "Women-led" in page and "45.0%" in page
    assert "<script" not in page


def test_bar_chart_escapes_labels_and_parses() -> None:
    svg = bar_chart("c", "Tom & <Jerry>", [("A < B & C", 10.0), ("Zero", 0.0), ("Neg", -3)])
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "A < B & C" in texts
    assert ET.fromstring(bar_chart("e", "Empty", [])) is not None  # noqa: S314


def test_every_table_exports_to_csv_and_xlsx(app, session) -> None:
    pool = make_pool(session)
    client = signed_in_client(app, pool.world.manager)
    fund_id = pool.world.fund.id
    page = client.get(f"/dashboard/funds/{fund_id}").get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/dashboard/funds/\d+/export/[^"]+)"', page)))
    assert len(links) >= 2 * 10
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        if link.endswith(".xlsx"):
            book = load_workbook(io.BytesIO(response.data))
            assert book.active.max_row >= 1
    money = load_workbook(
        io.BytesIO(client.get(f"/dashboard/funds/{fund_id}/export/money.xlsx").data)
    ).active
    rows = {r[0]: r[1] for r in money.iter_rows(min_row=2, values_only=True) if r and r[0]}
    assert rows["Received from donors"] == 2000
    assert rows["Disbursed to partners"] == 900
    csv_text = client.get(
        f"/dashboard/funds/{fund_id}/export/allocation-country.csv?country=KE"
    ).data.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == "Where,Committed (USD),Disbursed (USD),Grants"
    assert csv_text.splitlines()[1:] == ["Kenya,1000.00,600.00,1"]
    assert client.get(f"/dashboard/funds/{fund_id}/export/nothing.csv").status_code == 404


def test_donor_report_pdf_reads_back_with_charts_and_credit(app, session) -> None:
    pool = make_pool(session)
    response = signed_in_client(app, pool.viewer_a).get(
        f"/dashboard/funds/{pool.world.fund.id}/report.pdf"
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert pool.world.fund.name in text
    assert "Who did the work" in text and "Partner organisations" in text
    assert "Localisation" in text and "Kenya" in text
    assert pool.donor_b.name not in text


def test_bad_filters_are_explained_and_change_nothing(app, session) -> None:
    pool = make_pool(session)
    response = signed_in_client(app, pool.world.manager).get(
        f"/dashboard/funds/{pool.world.fund.id}?from=yesterday&country=ZZ"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a date such as 2026-01-31." in page and "Choose a country." in page


def test_public_page_is_off_by_default(app, session) -> None:
    pool = make_pool(session)
    assert app.test_client().get(f"/transparency/funds/{pool.world.fund.id}").status_code == 404
    app.config["PUBLIC_DASHBOARD"] = True
    page = app.test_client().get(f"/transparency/funds/{pool.world.fund.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Localisation" in text and pool.donor_a.name not in text
    assert "/export/" not in text


def _statements(app, session, user, path: str) -> int:
    client = signed_in_client(app, user)
    session.commit()
    session.expunge_all()
    response = client.get(path)
    assert response.status_code == 200
    return int(response.headers[HEADER])


def test_dashboard_statements_do_not_grow_with_the_data(app, session) -> None:
    pool = make_pool(session)
    world = pool.world
    paths = [
        f"/dashboard/funds/{world.fund.id}",
        f"/dashboard/funds/{world.fund.id}?country=KE&from=2026-01-01",
        f"/dashboard/funds/{world.fund.id}/export/speed.xlsx",
        f"/dashboard/funds/{world.fund.id}/report.pdf",
    ]
    small = [_statements(app, session, world.manager, p) for p in paths]
    contribute(session, world.officer, world.fund, pool.donor_a, "50000.00")
    for i in range(12):
        organisation = make_organisation(
            session,
            country=["KE", "UG", "SN"][i % 3],
            org_type=["local_ngo", "national_ngo"][i % 2],
        )
        grant = award(session, world, organisation, 100_000 + i)
        pay_first_tranche(session, world, grant, dt.date(2026, 1, 10 + i))
    large = [_statements(app, session, world.manager, p) for p in paths]
    assert small == large
    assert max(large) <= PAGE_LIMIT


def test_readers_sharing_the_kept_figures_never_get_each_others_page(app, session) -> None:
    """One cache for everyone: each audience's page is kept under its own key."""
    pool = make_pool(session)
    app.config["PUBLIC_DASHBOARD"] = True
    path = f"/dashboard/funds/{pool.world.fund.id}"
    readers = {
        "staff": (signed_in_client(app, pool.world.manager), path),
        "donor a": (signed_in_client(app, pool.viewer_a), path),
        "donor b": (signed_in_client(app, pool.viewer_b), path),
        "public": (app.test_client(), f"/transparency/funds/{pool.world.fund.id}"),
    }
    sees = {
        "staff": {pool.donor_a.name, pool.donor_b.name},
        "donor a": {pool.donor_a.name},
        "donor b": {pool.donor_b.name},
        "public": set(),
    }
    # Everyone signed in first: from here on the data version stays the same.
    for order in (list(readers), list(reversed(readers))):
        for name in order:
            client, url = readers[name]
            response = client.get(url)
            assert response.status_code == 200
            text = response.get_data(as_text=True)
            shown = {d for d in (pool.donor_a.name, pool.donor_b.name) if d in text}
            assert shown == sees[name], name
            assert ("Donor report (PDF)" in text) == (name != "public"), name
    cache = app.extensions["grantpool.dashboard_cache"]
    assert (cache.misses, cache.hits) == (4, 4)
