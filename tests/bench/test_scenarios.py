"""`make bench` loads the pages of one explicit list, the minimal route first."""

from __future__ import annotations

from bench.rows import Generated
from bench.scenarios import SignedIn, scenarios


def test_every_page_is_listed_once_after_the_minimal_route() -> None:
    generated = Generated(
        fund_id=1,
        open_call_id=8,
        applicant_token="gp_bench",
        applicant_organisation_id=1,
        counts={"grants": 1_000, "attribution_records": 1_000},
    )
    signed_in = SignedIn(applicant="a", reviewer="r", manager="m", draft_id=5)
    listed = scenarios(generated, signed_in)
    assert listed[0].path == "/healthz"
    assert [s.path for s in listed[1:]] == [
        "/api/v1/me",
        "/calls/8",
        "/applications/5/page/1",
        "/api/v1/calls/8/applications",
        "/reviews",
        "/dashboard/funds/1",
        "/open-data/360giving.json",
    ]
    cookies = {s.path: s.headers.get("Cookie") for s in listed}
    assert cookies["/reviews"] == "session=r" and cookies["/dashboard/funds/1"] == "session=m"
    assert cookies["/applications/5/page/1"] == "session=a" and cookies["/calls/8"] is None
    assert [s.name for s in listed if s.measure_memory] == ["360Giving export (1,000 records)"]
