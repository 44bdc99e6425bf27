"""Stored uploads: a quota and an hourly limit per organisation, files marked attached when
an application or report refers to them, and the never-attached ones purged."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grantpool.grants import services as grants
from grantpool.grants.commands import report_details
from grantpool.intake.models import Application
from grantpool.platform import uploads
from grantpool.platform.audit import AuditEvent
from grantpool.platform.errors import ValidationFailed
from grantpool.platform.storage import get_storage
from grantpool.platform.time import now_utc
from grantpool.platform.uploads import (
    StoredUpload,
    UploadLimits,
    UploadPurpose,
    UploadRateExceeded,
    UploadUsage,
    check_quota,
    check_rate,
    measured_size,
    store_upload,
)
from tests.calls.test_views import token_from
from tests.factories import make_call, make_organisation, make_user
from tests.grants.helpers import make_grant, make_world
from tests.intake.test_api import bearer

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
# Signing in by token, the lock (PostgreSQL), the usage and the row.
UPLOAD_LIMIT = 8
LIMITS = UploadLimits(quota_bytes=1000, per_hour=3, retention=dt.timedelta(hours=48))


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SQL_COUNT_HEADER": True}


def png(padding: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + (chunk(b"tEXt", b"c\x00" + b"x" * padding) if padding else b"")
        + chunk(b"IEND", b"")
    )


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["STORAGE_URL"].removeprefix("file://"))
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows(session: Session) -> list[StoredUpload]:
    session.expire_all()
    return list(session.scalars(select(StoredUpload).order_by(StoredUpload.id)))


def soon() -> dt.datetime:
    return now_utc() + dt.timedelta(days=10)


# Rules -------------------------------------------------------------------------------------


def test_the_quota_counts_what_is_held_and_what_arrives(app: Flask) -> None:
    check_quota(600, 400, LIMITS)
    check_quota(999, None, LIMITS)  # an unknown size is judged once stored
    with pytest.raises(ValidationFailed) as refused:
        check_quota(600, 401, LIMITS)
    assert "over its storage limit" in refused.value.errors["file"][0]


def test_the_hourly_limit_says_when_to_come_back(app: Flask) -> None:
    check_rate(UploadUsage(0, 2, NOW), LIMITS, for_organisation=True, now=NOW)
    oldest = NOW - dt.timedelta(minutes=50)
    with pytest.raises(UploadRateExceeded) as refused:
        check_rate(UploadUsage(0, 3, oldest), LIMITS, for_organisation=True, now=NOW)
    assert refused.value.retry_after == 600
    assert refused.value.status_code == 429
    assert "Try again in 10 minutes" in str(refused.value.message)
    with pytest.raises(UploadRateExceeded) as mine:
        check_rate(UploadUsage(0, 3, oldest), LIMITS, for_organisation=False, now=NOW)
    assert str(mine.value.message).startswith("You have uploaded as many files as you may")


def test_a_received_upload_is_measured_without_reading_it() -> None:
    stream = io.BytesIO(b"abcdef")
    stream.read(2)
    assert measured_size(stream) == 4
    assert stream.read() == b"cdef"


# Quota -------------------------------------------------------------------------------------


def test_an_api_upload_over_the_quota_is_refused_and_nothing_is_stored(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    app.config["UPLOAD_QUOTA_BYTES_PER_ORGANISATION"] = len(png()) + len(png(100)) - 1
    first = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert first.status_code == 201, first.get_json()
    assert [(r.organisation_id, r.size, r.attached_at) for r in rows(session)] == [
        (organisation.id, len(png()), None)
    ]
    before = stored_files(app)

    refused = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(png(100)), "big.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["file"] == [
        "This file would take your organisation over its storage limit of 0 MB, so it was "
        "not saved. Ask the fund manager for more space."
    ]
    assert stored_files(app) == before
    assert len(rows(session)) == 1


def test_a_file_of_unknown_size_is_removed_once_it_proves_too_large(
    app: Flask, session: Session
) -> None:
    organisation = make_organisation(session)
    user = make_user(session, organisations=[organisation])

    class Unmeasured(io.BytesIO):
        def seekable(self) -> bool:
            return False

    with pytest.raises(ValidationFailed):
        store_upload(
            session,
            user,
            Unmeasured(png(2000)),
            purpose=UploadPurpose.APPLICATION_ANSWER,
            organisation_id=organisation.id,
            limits=LIMITS,
            now=NOW,
        )
    assert stored_files(app) == []
    assert rows(session) == []


def test_a_form_upload_over_the_quota_is_explained_beside_its_field(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    questions = [
        {"key": "summary", "kind": "short_text", "label": {"en": "Summary"}, "section": "a"},
        {
            "key": "photo",
            "kind": "file",
            "label": {"en": "A photo of the site"},
            "file_kinds": ["photo"],
            "section": "a",
        },
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    page, application = _draft(session, client, call)
    app.config["UPLOAD_QUOTA_BYTES_PER_ORGANISATION"] = len(png()) - 1
    token = token_from(client, "/")
    refused = client.post(
        page,
        data={"csrf_token": token, "summary": "Two wells", "photo": (io.BytesIO(png()), "s.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200
    assert "over its storage limit" in refused.get_data(as_text=True)
    assert stored_files(app) == []
    assert rows(session) == []
    session.refresh(application)
    assert application.answers["summary"] == "Two wells"  # what was typed is kept
    assert not application.answers.get("photo")


# Rate --------------------------------------------------------------------------------------


def test_too_many_api_uploads_in_an_hour_get_429_with_retry_after(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    # Another member's uploads count too: the limit is the organisation's.
    other = bearer(session, make_user(session, organisations=[organisation]))
    app.config["UPLOAD_RATE_PER_HOUR"] = 2
    for who in (headers, other):
        sent = client.post(
            "/api/v1/uploads",
            headers=who,
            data={"file": (io.BytesIO(png()), "site.png")},
            content_type="multipart/form-data",
        )
        assert sent.status_code == 201
    before = stored_files(app)
    refused = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "too_many_uploads"
    assert body["message"] == (
        "This organisation has uploaded as many files as it may in one hour (2). "
        "Try again in 60 minutes."
    )
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert stored_files(app) == before and len(rows(session)) == 2


def test_a_form_upload_over_the_hourly_limit_is_explained_beside_its_field(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    questions = [
        {"key": "photo", "kind": "file", "label": {"en": "A photo"}, "file_kinds": ["photo"]}
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    page, _application = _draft(session, client, call)
    app.config["UPLOAD_RATE_PER_HOUR"] = 0
    refused = client.post(
        page,
        data={"csrf_token": token_from(client, "/"), "photo": (io.BytesIO(png()), "s.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200 and "Retry-After" not in refused.headers
    assert "as many files as it may in one hour (0). Try again in" in refused.get_data(as_text=True)
    assert stored_files(app) == [] and rows(session) == []


def test_an_hour_later_uploads_are_accepted_again(app: Flask, session: Session) -> None:
    organisation = make_organisation(session)
    user = make_user(session, organisations=[organisation])

    def send(at: dt.datetime) -> None:
        store_upload(
            session,
            user,
            io.BytesIO(png()),
            purpose=UploadPurpose.APPLICATION_ANSWER,
            organisation_id=organisation.id,
            limits=LIMITS,
            now=at,
        )

    for minutes in (0, 10, 20):
        send(NOW + dt.timedelta(minutes=minutes))
    with pytest.raises(UploadRateExceeded) as refused:
        send(NOW + dt.timedelta(minutes=30))
    assert refused.value.retry_after == 30 * 60
    send(NOW + dt.timedelta(minutes=60, seconds=1))


def test_uploads_charged_to_no_organisation_are_limited_per_person(
    app: Flask, session: Session
) -> None:
    manager = make_user(session, "fund_manager")
    other = make_user(session, "fund_manager")
    big = b"name,amount\n" + b"x,1\n" * 400  # past the quota, which does not apply to imports

    def keep(who: Any) -> None:
        store_upload(
            session,
            who,
            io.BytesIO(big),
            purpose=UploadPurpose.IMPORT_SHEET,
            organisation_id=None,
            allowed_types=frozenset({"text/csv"}),
            limits=LIMITS,
            now=NOW,
        )

    for _ in range(3):
        keep(manager)
    with pytest.raises(UploadRateExceeded):
        keep(manager)
    keep(other)
    assert {(r.organisation_id, r.purpose) for r in rows(session)} == {(None, "import_sheet")}


# Which organisation an API upload is for ------------------------------------------------


def test_a_member_of_two_organisations_names_the_one_an_upload_is_for(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    questions = [{"key": "photo", "kind": "file", "label": {"en": "Photo"}}]
    call = make_call(session, open_until=soon(), questions=questions)
    first, second = make_organisation(session), make_organisation(session)
    stranger = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[first, second]))

    def upload(**form: Any) -> Any:
        return client.post(
            "/api/v1/uploads",
            headers=headers,
            data={"file": (io.BytesIO(png()), "site.png"), **form},
            content_type="multipart/form-data",
        )

    unsaid = upload()
    assert unsaid.status_code == 422
    assert unsaid.get_json()["errors"]["organisation"] == [
        "You act for several organisations: say which one the file is for by sending its id "
        "in the field organisation."
    ]
    for wrong in (str(stranger.id), "not-a-number", "²", "99999999999999999999999"):
        refused = upload(organisation=wrong)
        assert refused.status_code == 422
        assert refused.get_json()["errors"]["organisation"] == [
            "Choose one of the organisations you act for."
        ]
    assert rows(session) == [] and stored_files(app) == []

    chosen = upload(organisation=str(second.id))
    assert chosen.status_code == 201
    assert [r.organisation_id for r in rows(session)] == [second.id]

    # Charged to the second organisation, the file cannot answer for the first.
    body = {
        "organisation_id": first.id,
        "requested_minor": 200000,
        "currency": "USD",
        "answers": {"photo": {"upload": chosen.get_json()["upload"]}},
    }
    elsewhere = client.post(f"/api/v1/calls/{call.id}/applications", headers=headers, json=body)
    assert elsewhere.status_code == 422
    assert elsewhere.get_json()["errors"]["photo"] == [
        "This file was uploaded for another organisation. Upload it again for this one."
    ]
    here = client.post(
        f"/api/v1/calls/{call.id}/applications",
        headers=headers,
        json=dict(body, organisation_id=second.id),
    )
    assert here.status_code == 201, here.get_json()


def test_someone_who_acts_for_no_organisation_cannot_upload(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    headers = bearer(session, make_user(session, "fund_manager"))
    refused = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["organisation"] == [
        "Only people who act for an organisation can upload files."
    ]
    assert stored_files(app) == []


# Attached ------------------------------------------------------------------------------------


def test_submitting_an_application_marks_its_uploads_attached(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    questions = [
        {"key": "photo", "kind": "file", "label": {"en": "Photo"}, "file_kinds": ["photo"]},
        {"key": "more", "kind": "file", "label": {"en": "Another photo"}},
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    tokens = [
        client.post(
            "/api/v1/uploads",
            headers=headers,
            data={"file": (io.BytesIO(png(n)), "site.png")},
            content_type="multipart/form-data",
        ).get_json()["upload"]
        for n in (0, 10, 20)
    ]
    assert [r.attached_at for r in rows(session)] == [None, None, None]
    body = {
        "organisation_id": organisation.id,
        "requested_minor": 200000,
        "currency": "USD",
        "answers": {"photo": {"upload": tokens[0]}, "more": {"upload": tokens[1]}},
    }
    response = client.post(f"/api/v1/calls/{call.id}/applications", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    attached = [r.attached_at is not None for r in rows(session)]
    assert attached == [True, True, False]  # the third was never used


def test_a_draft_keeps_its_file_attached_and_lets_a_replaced_one_go(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    questions = [
        {"key": "photo", "kind": "file", "label": {"en": "A photo"}, "file_kinds": ["photo"]}
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    page, application = _draft(session, client, call)
    token = token_from(client, "/")
    for picture in (png(), png(10)):
        sent = client.post(
            page,
            data={"csrf_token": token, "photo": (io.BytesIO(picture), "site.png")},
            content_type="multipart/form-data",
        )
        assert sent.status_code == 302
    first, second = rows(session)
    assert first.organisation_id == second.organisation_id == application.organisation_id
    assert first.attached_at is None and second.attached_at is not None
    session.refresh(application)
    assert application.answers["photo"]["key"] == second.key


def test_report_files_are_charged_to_the_grantee_and_attached(app: Flask, session: Session) -> None:
    world = make_world(session)
    grant = make_grant(session, world, risk_level="low")
    data = {"kind": "narrative", "tranche_number": 1, "text": "We trained 40 people."}
    photo = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    grants.submit_report(
        session,
        world.grantee,
        grant,
        report_details(**data),
        [grants.Upload(io.BytesIO(photo), "photo")],
    )
    [row] = rows(session)
    assert (row.organisation_id, row.purpose, row.size) == (
        grant.organisation_id,
        "report_file",
        len(photo),
    )
    assert row.attached_at is not None

    # Past the quota, no file of the report is kept, and the page can say why.
    app.config["UPLOAD_QUOTA_BYTES_PER_ORGANISATION"] = len(photo) * 2
    before = stored_files(app)
    with pytest.raises(ValidationFailed) as refused:
        grants.submit_report(
            session,
            world.grantee,
            grant,
            report_details(**data),
            [
                grants.Upload(io.BytesIO(photo), "photo"),
                grants.Upload(io.BytesIO(png(100)), "spreadsheet"),
            ],
        )
    assert "over its storage limit" in refused.value.errors["spreadsheet"][0]
    assert stored_files(app) == before


# Retention -----------------------------------------------------------------------------------


def test_purge_removes_only_old_unattached_uploads(app: Flask, session: Session) -> None:
    organisation = make_organisation(session)
    user = make_user(session, organisations=[organisation])
    manager = make_user(session, "fund_manager")
    now = now_utc()
    old = now - dt.timedelta(hours=49)

    def keep(at: dt.datetime, *, attached: bool = False, sheet: bool = False) -> str:
        return store_upload(
            session,
            manager if sheet else user,
            io.BytesIO(b"a,b\n1,2\n" if sheet else png()),
            purpose=UploadPurpose.IMPORT_SHEET if sheet else UploadPurpose.APPLICATION_ANSWER,
            organisation_id=None if sheet else organisation.id,
            attached=attached,
            now=at,
        ).key

    old_unattached = keep(old)
    old_sheet = keep(old - dt.timedelta(minutes=1), sheet=True)
    already_gone = keep(old - dt.timedelta(minutes=2))
    get_storage().delete(already_gone)  # deleted by hand: not an error
    old_attached = keep(old, attached=True)
    recent = keep(now - dt.timedelta(hours=47))
    session.commit()

    result = app.test_cli_runner().invoke(args=["grantpool", "purge-uploads", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    size = len(png()) * 2 + len(b"a,b\n1,2\n")
    assert result.output.startswith(f"removed 3 uploads ({size} bytes) never attached")
    assert {r.key for r in rows(session)} == {old_attached, recent}
    storage = get_storage()
    assert not any(storage.exists(k) for k in (old_unattached, old_sheet, already_gone))
    assert storage.exists(old_attached) and storage.exists(recent)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "uploads.purge").order_by(AuditEvent.id)
    ).all()
    assert [e.after["count"] for e in events] == [2, 1]  # one event per batch
    assert sorted(k for e in events for k in e.after["keys"]) == sorted(
        [old_unattached, old_sheet, already_gone]
    )

    again = app.test_cli_runner().invoke(args=["grantpool", "purge-uploads"])
    assert again.output.startswith("removed 0 uploads (0 bytes)")


def test_retention_never_undercuts_an_upload_tokens_lifetime() -> None:
    short = UploadLimits(quota_bytes=1, per_hour=1, retention=dt.timedelta(hours=1))
    assert uploads.purge_cutoff(short, now=NOW) == NOW - dt.timedelta(hours=24)
    assert uploads.purge_cutoff(LIMITS, now=NOW) == NOW - dt.timedelta(hours=48)


def test_the_statement_count_of_an_upload_stays_small(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    from grantpool.platform.sqlcount import HEADER

    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    counts = []
    for _ in range(3):
        session.commit()
        session.expunge_all()
        sent = client.post(
            "/api/v1/uploads",
            headers=headers,
            data={"file": (io.BytesIO(png()), "site.png")},
            content_type="multipart/form-data",
        )
        assert sent.status_code == 201
        counts.append(int(sent.headers[HEADER]))
    # (The first use of an API token records when it was used.)
    assert counts[1] == counts[2] and max(counts) <= UPLOAD_LIMIT, counts
    assert session.scalar(select(func.count()).select_from(StoredUpload)) == 3


def _draft(session: Session, client: FlaskClient, call: Any) -> tuple[str, Application]:
    from tests.intake.test_views import sign_in_as_member

    sign_in_as_member(session, client)
    client.post(f"/calls/{call.id}/apply", data={"csrf_token": token_from(client, "/")})
    application = session.scalar(select(Application).where(Application.call_id == call.id))
    assert application is not None
    return f"/applications/{application.id}/page/1", application


def test_uploads_at_the_same_moment_never_overrun_the_quota(real_database: Flask) -> None:
    """Ten members send a file at once into space for three: three are kept."""
    import threading

    from grantpool.extensions import db

    app = real_database
    with app.app_context():
        organisation = make_organisation(db.session)
        people = [make_user(db.session, organisations=[organisation]) for _ in range(10)]
        organisation_id, ids = organisation.id, [p.id for p in people]
        db.session.commit()
    app.config["UPLOAD_QUOTA_BYTES_PER_ORGANISATION"] = len(png()) * 3
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []

    def send(user_id: int) -> None:
        from grantpool.accounts.models import User

        with app.app_context():
            session = db.session
            try:
                barrier.wait(timeout=60)
                user = session.get(User, user_id)
                store_upload(
                    session,
                    user,
                    io.BytesIO(png()),
                    purpose=UploadPurpose.APPLICATION_ANSWER,
                    organisation_id=organisation_id,
                )
                session.commit()
                outcomes.append("ok")
            except ValidationFailed:
                session.rollback()
                outcomes.append("refused")
            except Exception as exc:  # report, do not hide, anything else
                session.rollback()
                outcomes.append(f"error: {exc!r}")

    threads = [threading.Thread(target=send, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 7
    with app.app_context():
        held = db.session.scalar(
            select(func.sum(StoredUpload.size)).where(
                StoredUpload.organisation_id == organisation_id
            )
        )
        assert held == len(png()) * 3
    assert len(stored_files(app)) == 3
