"""The JSON API for calls and applications."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from grantpool.accounts.services import create_api_token
from tests.factories import make_call, make_organisation, make_user

ANSWERS = {"summary": "Plant trees", "has_partner": "no"}


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def bearer(session: Session, user: object) -> dict[str, str]:
    # The `app` fixture keeps one app context (and so one `g`) for the whole test, and
    # flask-login caches the request's user in `g`: forget it so the token decides.
    from flask import g

    g.pop("_login_user", None)
    _token, secret = create_api_token(session, user, "tests")  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


def test_calls_are_listed_with_their_questions(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon())
    draft = make_call(session)
    listing = client.get("/api/v1/calls").get_json()
    assert [c["id"] for c in listing] == [call.id]
    detail = client.get(f"/api/v1/calls/{call.id}").get_json()
    assert [q["key"] for q in detail["questions"]] == [
        "summary",
        "has_partner",
        "partner_name",
        "capacity_strengthening",
    ]
    assert detail["min_request_minor"] == 100000
    assert client.get(f"/api/v1/calls/{draft.id}").status_code == 404


def test_submit_and_fetch_by_reference(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon())
    organisation = make_organisation(session)
    user = make_user(session, organisations=[organisation])
    headers = bearer(session, user)
    body = {
        "organisation_id": organisation.id,
        "answers": ANSWERS,
        "requested_minor": 250000,
        "currency": "USD",
    }
    response = client.post(f"/api/v1/calls/{call.id}/applications", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["channel"] == "api" and created["state"] == "submitted"
    fetched = client.get(f"/api/v1/applications/{created['reference']}", headers=headers)
    assert fetched.status_code == 200 and fetched.get_json()["requested_minor"] == 250000

    outsider = bearer(session, make_user(session, organisations=[make_organisation(session)]))
    session.commit()  # refused requests roll back to the last commit; keep the set-up

    assert (
        client.get(f"/api/v1/applications/{created['reference']}", headers=outsider).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/calls/{call.id}/applications", json=body, headers=outsider
        ).status_code
        == 404
    )


def test_bad_input_is_explained(session: Session, client: FlaskClient) -> None:
    call = make_call(session, open_until=soon())
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    # A refused request rolls back to the last commit; keep the set-up (the outer test
    # transaction still undoes it).
    session.commit()
    url = f"/api/v1/calls/{call.id}/applications"
    too_much = client.post(
        url,
        headers=headers,
        json={
            "organisation_id": organisation.id,
            "answers": ANSWERS,
            "requested_minor": 900000,
            "currency": "USD",
        },
    )
    assert too_much.status_code == 422
    assert too_much.get_json()["errors"]["requested"] == [
        "Ask for between $1,000.00 and $5,000.00."
    ]
    missing = client.post(
        url,
        headers=headers,
        json={
            "organisation_id": organisation.id,
            "answers": {"has_partner": "yes"},
            "requested_minor": 200000,
            "currency": "USD",
        },
    )
    assert set(missing.get_json()["errors"]) == {"summary", "partner_name"}
    malformed = client.post(url, headers=headers, json={"organisation_id": "x", "currency": "usd"})
    assert malformed.status_code == 422
    assert {"organisation_id", "currency", "answers", "requested_minor"} <= set(
        malformed.get_json()["errors"]
    )
    from flask import g

    g.pop("_login_user", None)
    assert client.get("/api/v1/applications/GP-2026-00001").status_code == 401


def test_a_retried_post_with_the_same_idempotency_key_returns_the_first_result(
    session: Session, client: FlaskClient
) -> None:
    from sqlalchemy import func, select

    from grantpool.intake.models import Application

    call = make_call(session, open_until=soon())
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    headers["Idempotency-Key"] = "retry-42"
    body = {
        "organisation_id": organisation.id,
        "answers": ANSWERS,
        "requested_minor": 250000,
        "currency": "USD",
    }
    url = f"/api/v1/calls/{call.id}/applications"
    first = client.post(url, json=body, headers=headers).get_json()
    again = client.post(url, json=body, headers=headers).get_json()
    assert again["reference"] == first["reference"]
    count = session.scalar(select(func.count()).select_from(Application))
    assert count == 1
    fresh = client.post(url, json=body, headers={**headers, "Idempotency-Key": "other"})
    assert fresh.get_json()["reference"] != first["reference"]
    changed = client.post(url, json={**body, "requested_minor": 300000}, headers=headers)
    assert changed.status_code == 422
    assert "idempotency_key" in changed.get_json()["errors"]


def test_racing_retries_with_one_key_create_one_application(real_database) -> None:
    import threading

    from sqlalchemy import func, select

    from grantpool.extensions import db
    from grantpool.intake.models import Application

    app = real_database
    with app.app_context():
        call = make_call(db.session, open_until=soon())
        organisation = make_organisation(db.session)
        user = make_user(db.session, organisations=[organisation])
        _token, secret = create_api_token(db.session, user, "phone")
        db.session.commit()
        url = f"/api/v1/calls/{call.id}/applications"
        body = {
            "organisation_id": organisation.id,
            "answers": ANSWERS,
            "requested_minor": 250000,
            "currency": "USD",
        }
        db.remove_session()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "flaky-network-7"}
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(6)

    def retry() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, json=body, headers=headers)
        results.append((response.status_code, (response.get_json() or {}).get("reference")))

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in results} == {201}
    assert len({reference for _, reference in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1
        db.remove_session()


def test_file_answers_cannot_name_stored_objects_directly(
    session: Session, client: FlaskClient
) -> None:
    questions = [{"key": "photo", "kind": "file", "label": {"en": "Photo"}}]
    call = make_call(session, open_until=soon(), questions=questions)
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    session.commit()  # the refusal rolls back to the last commit
    response = client.post(
        f"/api/v1/calls/{call.id}/applications",
        headers=headers,
        json={
            "organisation_id": organisation.id,
            "answers": {"photo": {"key": "ab/cd"}},
            "requested_minor": 200000,
            "currency": "USD",
        },
    )
    assert response.status_code == 422 and "photo" in response.get_json()["errors"]


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def test_files_are_uploaded_first_then_named_in_the_answer(
    session: Session, client: FlaskClient
) -> None:
    import io

    from grantpool.platform.storage import get_storage

    questions = [
        {
            "key": "photo",
            "kind": "file",
            "label": {"en": "Photo"},
            "file_kinds": ["photo"],
            "required": True,
        }
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    organisation = make_organisation(session)
    headers = bearer(session, make_user(session, organisations=[organisation]))
    uploaded = client.post(
        "/api/v1/uploads",
        headers=headers,
        data={"file": (io.BytesIO(_png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json()["content_type"] == "image/png"
    body = {
        "organisation_id": organisation.id,
        "requested_minor": 200000,
        "currency": "USD",
        "answers": {"photo": {"upload": uploaded.get_json()["upload"]}},
    }
    response = client.post(f"/api/v1/calls/{call.id}/applications", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()["answers"]["photo"]
    assert photo["content_type"] == "image/png" and photo["name"] == "site.png"
    with get_storage().open(photo["key"]) as stored:
        assert stored.read() == _png()


def test_an_upload_of_the_wrong_kind_or_someone_elses_is_refused(
    session: Session, client: FlaskClient
) -> None:
    import io

    questions = [
        {"key": "voice", "kind": "file", "label": {"en": "Voice note"}, "file_kinds": ["audio"]}
    ]
    call = make_call(session, open_until=soon(), questions=questions)
    organisation = make_organisation(session)
    owner = bearer(session, make_user(session, organisations=[organisation]))
    uploaded = client.post(
        "/api/v1/uploads",
        headers=owner,
        data={"file": (io.BytesIO(_png()), "voice.ogg")},
        content_type="multipart/form-data",
    ).get_json()["upload"]
    body = {
        "organisation_id": organisation.id,
        "requested_minor": 200000,
        "currency": "USD",
        "answers": {"voice": {"upload": uploaded}},
    }
    wrong_kind = client.post(f"/api/v1/calls/{call.id}/applications", headers=owner, json=body)
    assert wrong_kind.status_code == 422
    assert "not accepted" in wrong_kind.get_json()["errors"]["voice"][0]

    other = make_user(session, organisations=[organisation])
    stolen = client.post(
        f"/api/v1/calls/{call.id}/applications", headers=bearer(session, other), json=body
    )
    assert stolen.status_code == 422
    assert stolen.get_json()["errors"]["voice"] == ["This upload is not known."]
    forged = dict(body, answers={"voice": {"upload": uploaded[:-3] + "abc"}})
    assert (
        client.post(f"/api/v1/calls/{call.id}/applications", headers=owner, json=forged).status_code
        == 422
    )
