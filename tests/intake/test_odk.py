"""ODK / KoBoCollect / Enketo intake: the XForm of a call, the OpenRosa Form List and Form
Submission APIs, driven as ODK Collect drives them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import shutil
import struct
import uuid
import zlib
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.http import http_date

from grantpool.accounts.services import create_api_token
from grantpool.calls import services as calls
from grantpool.calls.commands import read_questions
from grantpool.intake.models import Application
from grantpool.intake.xform import xform_for
from grantpool.platform.audit import AuditEvent
from grantpool.platform.storage import get_storage
from tests.factories import make_call, make_organisation, make_user, sample_questions

XF = "{http://www.w3.org/2002/xforms}"
LIST = "{http://openrosa.org/xforms/xformsList}"
RESPONSE = "{http://openrosa.org/http/response}"


def soon() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=10)


def odk_questions() -> list[dict[str, Any]]:
    return [
        *sample_questions(),
        {
            "key": "sector",
            "kind": "multiple_choice",
            "label": {"en": "Which sectors?", "fr": "Quels secteurs ?"},
            "choices": ["Clean water", "Farming", "Éducation"],
        },
        {"key": "where", "kind": "location", "label": {"en": "Where?"}, "required": True},
        {"key": "budget", "kind": "budget_table", "label": {"en": "Budget"}},
        {"key": "site_photo", "kind": "file", "label": {"en": "A photo of the site"}},
    ]


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, red) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class Device:
    """What ODK Collect sends: Basic credentials, X-OpenRosa-Version and Date."""

    def __init__(self, client: FlaskClient, email: str, secret: str, organisation_id: int):
        self.client = client
        self.base = f"/odk/o/{organisation_id}"
        credentials = base64.b64encode(f"{email}:{secret}".encode()).decode()
        self.headers = {"Authorization": f"Basic {credentials}"}

    def _headers(self) -> dict[str, str]:
        return {
            **self.headers,
            "X-OpenRosa-Version": "1.0",
            "Date": http_date(dt.datetime.now(dt.UTC)),
            "Accept-Language": "en-GB",
            "User-Agent": "org.odk.collect.android/v2024.2.4",
        }

    def form_list(self) -> Any:
        return self.client.get(f"{self.base}/formList", headers=self._headers())

    def head(self) -> Any:
        return self.client.head(f"{self.base}/submission", headers=self._headers())

    def submit(self, xml: bytes, media: dict[str, bytes] | None = None) -> Any:
        data: dict[str, Any] = {
            "xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")
        }
        for name, content in (media or {}).items():
            data[name] = (io.BytesIO(content), name, "image/png")
        return self.client.post(
            f"{self.base}/submission",
            data=data,
            headers=self._headers(),
            content_type="multipart/form-data",
        )


@pytest.fixture
def setting(session: Session, client: FlaskClient) -> dict[str, Any]:
    organisation = make_organisation(session, country="KE")
    member = make_user(session, "applicant", organisations=[organisation])
    _token, secret = create_api_token(session, member, "field phone")
    manager = make_user(session, "fund_manager")
    call = make_call(
        session,
        manager=manager,
        open_until=soon(),
        channels=["web", "odk"],
        questions=odk_questions(),
        title={"en": "Clean water", "fr": "Eau propre"},
        description={"en": "For wells.", "fr": "Pour les puits."},
    )
    return {
        "organisation": organisation,
        "member": member,
        "manager": manager,
        "call": call,
        "device": Device(client, member.email, secret, organisation.id),
    }


def filled(call: Any, instance_id: str, *, version: str | None = None, **fields: str) -> bytes:
    """A completed instance as Collect writes it (namespaced meta, empty elements kept)."""
    form = xform_for(call)
    values = {
        "requested_amount": "1500.50",
        "summary": "Dig two wells",
        "has_partner": "yes",
        "partner_name": "Water office",
        "sector": "clean_water education",
        "site_photo": "1733829393843.png",
        **fields,
    }
    simple = "".join(
        f"<{k}>{v}</{k}>" if v else f"<{k}/>" for k, v in values.items() if k not in ("site_photo",)
    )
    return (
        f'<?xml version=\'1.0\' ?><data id="{form.form_id}" version="{version or form.version}" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"<intro/>{simple}<where><country>KE</country><area>KE-47</area></where>"
        "<budget><line>Pump</line><amount>900</amount></budget>"
        "<budget><line>Pipes</line><amount>600.50</amount></budget>"
        f"<site_photo>{values['site_photo']}</site_photo><capacity_strengthening/>"
        f"<orx:meta><orx:instanceID>{instance_id}</orx:instanceID></orx:meta></data>"
    ).encode()


def applications(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Application)) or 0)


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


# The form -------------------------------------------------------------------------------------


def test_the_xform_is_valid_and_in_every_language(session: Session) -> None:
    from pyxform.xls2xform import convert

    call = make_call(
        session,
        open_until=soon(),
        channels=["odk"],
        questions=odk_questions(),
        title={"en": "Clean water", "fr": "Eau propre"},
        description={"en": "For wells.", "fr": "Pour les puits."},
    )
    form = xform_for(call)
    # pyxform reads our XLSForm back; with Java present, ODK Validate (the JavaRosa engine
    # ODK Collect runs, shipped inside pyxform) checks the XForm too.
    java = shutil.which("java") is not None
    result = convert(xlsform=form.xlsform, file_type=".xlsx", form_name="data", validate=java)
    assert result.xform == form.xml
    assert not [w for w in result.warnings if "error" in w.lower()]

    root = ElementTree.fromstring(form.xml)
    instance = root.find(f".//{XF}model/{XF}instance/{XF}data")
    assert instance is not None
    assert instance.get("id") == f"grantpool_call_{call.id}"
    assert instance.get("version") == form.version
    assert [c.tag.removeprefix(XF) for c in instance][:4] == [
        "intro",
        "requested_amount",
        "summary",
        "has_partner",
    ]
    languages = {t.get("lang") for t in root.iter(f"{XF}translation")}
    assert languages == {"English (en)", "French (fr)"}
    relevant = root.find(f".//{XF}bind[@nodeset='/data/partner_name']")
    assert relevant is not None and "/data/has_partner" in relevant.get("relevant", "")
    assert form.md5 == "md5:" + hashlib.md5(form.xml.encode()).hexdigest()  # noqa: S324


def test_the_version_changes_when_the_questions_change(session: Session) -> None:
    manager = make_user(session, "fund_manager")
    call = make_call(session, manager=manager, channels=["odk"], questions=odk_questions())
    before = xform_for(call)
    assert xform_for(call).version == before.version  # stable while nothing changes
    calls.set_questions(
        session,
        manager,
        call,
        read_questions(
            [*odk_questions(), {"key": "extra", "kind": "short_text", "label": {"en": "More?"}}]
        ),
    )
    after = xform_for(call)
    assert after.form_id == before.form_id
    assert after.version != before.version and after.md5 != before.md5


# Form List API --------------------------------------------------------------------------------


def test_form_list_shows_only_open_calls_with_the_channel(
    session: Session, client: FlaskClient, setting: dict[str, Any]
) -> None:
    manager = setting["manager"]
    make_call(session, manager=manager, open_until=soon(), channels=["web"])  # no ODK
    make_call(session, manager=manager, channels=["odk"])  # a draft
    closed = make_call(session, manager=manager, open_until=soon(), channels=["odk"])
    calls.close_call(session, manager, closed)
    make_call(  # open, but not for organisations in Kenya
        session,
        manager=manager,
        open_until=soon(),
        channels=["odk"],
        eligibility={"countries": ["UG"]},
    )

    response = setting["device"].form_list()
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) > 0
    assert response.headers["Date"]
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{LIST}xforms"
    forms = root.findall(f"{LIST}xform")
    call = setting["call"]
    assert [f.findtext(f"{LIST}formID") for f in forms] == [f"grantpool_call_{call.id}"]
    form = forms[0]
    assert form.findtext(f"{LIST}name") == "Clean water"
    assert form.findtext(f"{LIST}version") == xform_for(call).version
    url = form.findtext(f"{LIST}downloadUrl")
    assert url is not None and url.startswith("http://localhost/")
    download = client.get(url.removeprefix("http://localhost"))
    assert download.status_code == 200
    expected = "md5:" + hashlib.md5(download.data).hexdigest()  # noqa: S324
    assert form.findtext(f"{LIST}hash") == expected


def test_devices_must_sign_in_with_a_token_of_a_member(
    session: Session, client: FlaskClient, setting: dict[str, Any]
) -> None:
    device = setting["device"]
    assert device.head().status_code == 204
    anonymous = client.head(device.base + "/submission", headers={"X-OpenRosa-Version": "1.0"})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    wrong = Device(client, setting["member"].email, "gp_not-a-token", setting["organisation"].id)
    assert wrong.form_list().status_code == 401
    other = make_organisation(session)
    _token, secret = create_api_token(session, setting["member"], "other")
    outsider = Device(client, setting["member"].email, secret, other.id)
    assert outsider.form_list().status_code == 403
    no_version = client.get(device.base + "/formList", headers=device.headers)
    assert no_version.status_code == 400


# Form Submission API --------------------------------------------------------------------------


def test_a_submission_with_a_photo_becomes_an_application(
    session: Session, client: FlaskClient, setting: dict[str, Any], tmp_path: Path
) -> None:
    call, device = setting["call"], setting["device"]
    photo = png()
    instance_id = f"uuid:{uuid.uuid4()}"
    response = device.submit(filled(call, instance_id), {"1733829393843.png": photo})

    assert response.status_code == 201, response.data
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    body = ElementTree.fromstring(response.data)
    assert body.tag == f"{RESPONSE}OpenRosaResponse"
    application = session.scalars(select(Application)).one()
    assert application.reference in body.findtext(f"{RESPONSE}message", "")
    assert application.channel == "odk"
    assert application.organisation_id == setting["organisation"].id
    assert application.created_by_id == setting["member"].id
    assert application.requested_minor == 150050
    answers = application.answers
    assert answers["summary"] == "Dig two wells"
    assert answers["partner_name"] == "Water office"
    assert answers["sector"] == ["Clean water", "Éducation"]
    assert answers["where"] == {"country": "KE", "area": "KE-47"}
    assert answers["budget"] == [
        {"line": "Pump", "amount_minor": 90000},
        {"line": "Pipes", "amount_minor": 60050},
    ]
    picture = answers["site_photo"]
    assert picture["content_type"] == "image/png" and picture["size"] == len(photo)
    assert picture["name"] == "1733829393843.png"
    with get_storage().open(picture["key"]) as stored:
        assert stored.read() == photo
    # Charged to the organisation's storage quota, and attached (never purged).
    from grantpool.platform.uploads import StoredUpload

    row = session.scalars(select(StoredUpload).where(StoredUpload.key == picture["key"])).one()
    assert row.organisation_id == setting["organisation"].id and row.attached_at is not None
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(application.id))
    ).all()
    assert "application.submit" in events


def test_a_resent_instance_is_accepted_once(
    session: Session, setting: dict[str, Any], tmp_path: Path
) -> None:
    call, device = setting["call"], setting["device"]
    xml = filled(call, "uuid:5bd2c1ef-7d4f-4b0e-9d2a-0a1d2f3e4b5c")
    first = device.submit(xml, {"1733829393843.png": png()})
    assert first.status_code == 201
    files = stored_files(tmp_path)
    again = device.submit(xml, {"1733829393843.png": png()})
    assert again.status_code == 202
    reference = session.scalars(select(Application.reference)).one()
    assert reference in again.get_data(as_text=True)
    assert applications(session) == 1
    assert stored_files(tmp_path) == files


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("malformed", 400, "not well-formed"),
        ("entities", 400, "not well-formed"),
        ("no_instance_id", 400, "instanceID"),
        ("old_version", 404, "no longer used"),
        ("unknown_form", 404, "not published"),
        ("closed", 409, "closed"),
        ("bad_answer", 422, "Ask for between"),
        ("missing_photo", 422, "1733829393843.png"),
    ],
)
def test_bad_submissions_change_nothing(
    session: Session,
    setting: dict[str, Any],
    tmp_path: Path,
    case: str,
    status: int,
    words: str,
) -> None:
    call, device = setting["call"], setting["device"]
    media: dict[str, bytes] = {"1733829393843.png": png()}
    xml = filled(call, f"uuid:{uuid.uuid4()}")
    if case == "malformed":
        xml = xml[:-20]
    elif case == "entities":
        xml = (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><data id="x">&b;</data>'
        )
    elif case == "no_instance_id":
        xml = xml.replace(b"<orx:instanceID>", b"<orx:other>").replace(
            b"</orx:instanceID>", b"</orx:other>"
        )
    elif case == "old_version":
        xml = filled(call, "uuid:old", version="0123456789ab")
    elif case == "unknown_form":
        xml = xml.replace(f'id="grantpool_call_{call.id}"'.encode(), b'id="grantpool_call_999999"')
    elif case == "closed":
        calls.close_call(session, setting["manager"], call)
    elif case == "bad_answer":
        xml = filled(call, f"uuid:{uuid.uuid4()}", requested_amount="20")
    elif case == "missing_photo":
        media = {}
    events_before = session.scalar(select(func.count()).select_from(AuditEvent))

    response = device.submit(xml, media)

    assert response.status_code == status, response.data
    body = ElementTree.fromstring(response.data)
    message = body.find(f"{RESPONSE}message")
    assert message is not None and message.get("nature") == "error"
    assert words in (message.text or "")
    assert applications(session) == 0
    assert stored_files(tmp_path) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_the_call_page_tells_a_manager_how_to_collect_offline(
    session: Session, client: FlaskClient, setting: dict[str, Any]
) -> None:
    from openpyxl import load_workbook

    from tests.conftest import login
    from tests.factories import PASSWORD

    call = setting["call"]
    login(client, setting["manager"].email, PASSWORD)
    page = client.get(f"/manage/calls/{call.id}").get_data(as_text=True)
    assert "Offline forms (ODK Collect, KoBoCollect, Enketo)" in page
    assert "http://localhost/odk</code>" in page  # the server address ODK Collect asks for
    assert f"/odk/forms/{call.id}/xlsform.xlsx" in page
    download = client.get(f"/odk/forms/{call.id}/xlsform.xlsx")
    assert download.status_code == 200
    sheets = load_workbook(io.BytesIO(download.data)).sheetnames
    assert {"survey", "choices", "settings"} <= set(sheets)
    # A call without the channel says nothing of it.
    other = make_call(session, manager=setting["manager"], open_until=soon(), channels=["web"])
    assert "Offline forms" not in client.get(f"/manage/calls/{other.id}").get_data(as_text=True)


# What the phone accepted arrives; what is wrong is said in the person's words ------------------


def test_an_answer_over_several_lines_within_the_word_limit_is_received(
    session: Session, setting: dict[str, Any]
) -> None:
    call, device = setting["call"], setting["device"]
    lines = "\n".join(" ".join(["water"] * 10) for _ in range(5))  # 50 words, the limit
    response = device.submit(
        filled(call, f"uuid:{uuid.uuid4()}", summary=lines), {"1733829393843.png": png()}
    )
    assert response.status_code == 201, response.data
    assert session.scalars(select(Application)).one().answers["summary"] == lines


def message_of(response: Any) -> str:
    body = ElementTree.fromstring(response.data)
    message = body.find(f"{RESPONSE}message")
    assert message is not None and message.get("nature") == "error"
    return message.text or ""


def test_errors_name_the_question_as_the_form_words_it(
    session: Session, setting: dict[str, Any]
) -> None:
    call, device = setting["call"], setting["device"]
    # 51 words on two lines: the form refuses it too (test_xform_constraints).
    too_long = " ".join(["water"] * 25) + "\n" + " ".join(["well"] * 26)
    xml = filled(call, f"uuid:{uuid.uuid4()}", summary=too_long, requested_amount="20")
    response = device.submit(xml, {"1733829393843.png": png()})
    assert response.status_code == 422
    text = message_of(response)
    assert "What will you do? — Use at most 50 words; you have 51." in text
    assert "How much are you asking for (USD)? — Ask for between" in text
    assert "summary" not in text and "requested" not in text
    assert applications(session) == 0


def test_errors_are_in_the_language_of_the_submission(
    session: Session, setting: dict[str, Any]
) -> None:
    call, device, member = setting["call"], setting["device"], setting["member"]
    member.locale = "fr"
    session.flush()
    xml = filled(call, f"uuid:{uuid.uuid4()}", sector="clean_water nonsense")
    response = device.submit(xml, {"1733829393843.png": png()})
    assert response.status_code == 422
    text = message_of(response)
    assert text.startswith("Certaines informations sont manquantes ou non valides.")
    assert "Quels secteurs ? — Choisissez parmi les options proposées." in text
    assert "sector" not in text


# Headers ----------------------------------------------------------------------------------------


def test_every_openrosa_response_carries_exactly_one_date(
    session: Session, client: FlaskClient, setting: dict[str, Any]
) -> None:
    from tests.conftest import login
    from tests.factories import PASSWORD

    call, device = setting["call"], setting["device"]
    responses = {
        "form list": device.form_list(),
        "one form": client.get(
            f"{device.base}/formList?formID=grantpool_call_{call.id}", headers=device._headers()
        ),
        "form": client.get(f"/odk/forms/{call.id}/form.xml"),
        "no such form": client.get("/odk/forms/999999/form.xml"),
        "submission check": device.head(),
        "submission": device.submit(
            filled(call, f"uuid:{uuid.uuid4()}"), {"1733829393843.png": png()}
        ),
        "refused submission": device.submit(filled(call, f"uuid:{uuid.uuid4()}")),
        "no OpenRosa header": client.get(f"{device.base}/formList"),
        "not signed in": client.head(
            f"{device.base}/submission", headers={"X-OpenRosa-Version": "1.0"}
        ),
    }
    login(client, setting["manager"].email, PASSWORD)
    responses["XLSForm"] = client.get(f"/odk/forms/{call.id}/xlsform.xlsx")
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "form list": 200,
        "one form": 200,
        "form": 200,
        "no such form": 404,
        "submission check": 204,
        "submission": 201,
        "refused submission": 422,
        "no OpenRosa header": 400,
        "not signed in": 401,
        "XLSForm": 200,
    }
    for name, response in responses.items():
        dates = response.headers.getlist("Date")
        assert len(dates) == 1, (name, dates)
        sent = parsedate_to_datetime(dates[0])
        assert abs(sent - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1), name
        assert response.headers["X-OpenRosa-Version"] == "1.0", name


def test_behind_werkzeug_or_gunicorn_the_date_is_left_to_the_server(
    client: FlaskClient, setting: dict[str, Any]
) -> None:
    # Werkzeug's server and gunicorn write their own Date on every response (the real
    # servers run in tests/intake/test_xform_date_header.py); the application adds none.
    device = setting["device"]
    for software in ("gunicorn/23.0.0", "Werkzeug/3.1.3"):
        response = client.get(
            f"{device.base}/formList",
            headers=device._headers(),
            environ_overrides={"SERVER_SOFTWARE": software},
        )
        assert response.status_code == 200
        assert response.headers.getlist("Date") == [], software


def test_new_wording_keeps_the_version_so_forms_on_phones_are_still_received(
    session: Session,
) -> None:
    """A form filled in offline before the wording (or grantpool) changed still fits: its
    answers mean the same. A change to the questions themselves is a new version."""
    call = make_call(session, open_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    before = xform_for(call)
    reworded = [dict(q) for q in call.questions]
    reworded[0] = {**reworded[0], "label": {"en": "What will your group do?"}}
    call.questions = reworded
    after = xform_for(call)
    assert after.version == before.version and after.xml != before.xml
    assert after.md5 != before.md5  # devices see the form changed and fetch it again
    changed = [dict(q) for q in call.questions]
    changed[0] = {**changed[0], "required": not changed[0].get("required")}
    call.questions = changed
    assert xform_for(call).version != before.version
