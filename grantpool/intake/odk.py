"""ODK / KoBoCollect / Enketo intake: which forms a device may fetch, and how a filled
form (an OpenRosa submission) becomes an application through submit_application.

Who submits: a person who belongs to the organisation, authenticated by one of their
personal API tokens (see openrosa.py). A submission names its form version and carries a
globally unique instanceID; the instanceID is kept as the application's idempotency key
(``odk:<instanceID>``), so a device that resends gets the first result back and nothing
is written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..calls.models import Call
from ..calls.rules import (
    CallState,
    Channel,
    QuestionKind,
    all_questions,
    eligibility_reasons,
    text_in,
)
from ..organisations.models import Organisation
from ..platform import uploads
from ..platform.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from ..platform.money import MAX_AMOUNT_MINOR, Money
from ..platform.storage import StoredFile, get_storage
from ..platform.time import now_utc
from . import services
from .models import Application
from .xform import REQUESTED_FIELD, XForm, call_id_of, choice_names, field_name, xform_for

MAX_SUBMISSION_XML = 2 * 1024 * 1024
_ID_MAX = 249  # OpenRosa metadata: every ID is at most 249 characters


class MalformedSubmission(DomainError):
    status_code = 400
    code = "malformed_submission"


class UnknownFormVersion(DomainError):
    status_code = 404
    code = "unknown_form_version"


@dataclass(frozen=True)
class Submission:
    form_id: str
    version: str
    instance_id: str
    deprecated_id: str | None
    root: Element = field(repr=False)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element if _local(c.tag) == name]


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_submission(xml: bytes) -> Submission:
    """The submission's identity, or MalformedSubmission. The XML is parsed with entity
    and DTD processing refused (defusedxml) and never fetches anything."""
    if not xml.strip():
        raise MalformedSubmission(_("The submission has no xml_submission_file."))
    if len(xml) > MAX_SUBMISSION_XML:
        raise MalformedSubmission(_("The submission's XML is too large."))
    try:
        root = fromstring(xml, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise MalformedSubmission(_("The submission is not well-formed XML.")) from None
    form_id = root.get("id") or ""
    meta = _child(root, "meta")
    instance_id = _text(_child(meta, "instanceID")) if meta is not None else ""
    deprecated_id = _text(_child(meta, "deprecatedID")) if meta is not None else ""
    if not form_id:
        raise MalformedSubmission(_("The submission does not say which form it belongs to."))
    if not instance_id or len(instance_id) > _ID_MAX:
        raise MalformedSubmission(_("The submission has no valid meta/instanceID."))
    return Submission(
        form_id=form_id,
        version=root.get("version") or "",
        instance_id=instance_id,
        deprecated_id=deprecated_id[:_ID_MAX] or None,
        root=root,
    )


def idempotency_key(instance_id: str) -> str:
    key = f"odk:{instance_id}"
    if len(key) <= 100:
        return key
    return "odk:sha256:" + hashlib.sha256(instance_id.encode("utf-8")).hexdigest()


def earlier_submission(session: Session, actor: User, instance_id: str) -> Application | None:
    return session.scalar(
        select(Application).where(
            Application.created_by_id == actor.id,
            Application.idempotency_key == idempotency_key(instance_id),
        )
    )


# Which forms a device sees ---------------------------------------------------------------


def odk_calls(
    session: Session, organisation: Organisation, now: dt.datetime | None = None
) -> list[Call]:
    """Calls accepting ODK submissions now that this organisation may apply to."""
    now = now or now_utc()
    calls = session.scalars(
        select(Call).where(Call.state == CallState.OPEN.value).order_by(Call.closes_at, Call.id)
    )
    return [
        call
        for call in calls
        if Channel.ODK.value in (call.channels or [])
        and call.is_accepting(now)
        and not eligibility_reasons(
            call.eligibility,
            org_type=organisation.org_type,
            country=organisation.country,
            area=organisation.area,
            registered=organisation.registered,
        )
    ]


def published_form(session: Session, call_id: int) -> tuple[Call, XForm]:
    """The XForm of a call that publishes one (open, with the ODK channel)."""
    call = session.get(Call, call_id)
    if (
        call is None
        or call.state != CallState.OPEN.value
        or Channel.ODK.value not in (call.channels or [])
    ):
        raise NotFound()
    return call, xform_for(call)


# From a filled form to an application ------------------------------------------------------


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _minor_units(text: str, currency: str) -> int | str:
    """A decimal typed on a device, in minor units; as typed when it is not an amount,
    so the call's own validation explains what is wrong."""
    value = _decimal(text)
    if value is None or value < 0:  # the web form refuses a negative amount too
        return text
    try:
        minor = Money.from_decimal(value, currency).amount_minor
    except ValueError:
        return text
    # Beyond the service's range it stays as typed, and the call's validation refuses it.
    return minor if minor <= MAX_AMOUNT_MINOR else text


def answers_from(call: Call, root: Element) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers as submit_application takes them, and for each file question the name
    of the attachment the device sent with it."""
    answers: dict[str, Any] = {}
    files: dict[str, str] = {}
    for question in all_questions(call.questions):
        key, kind = question["key"], question["kind"]
        element = _child(root, field_name(key))
        if kind == QuestionKind.BUDGET_TABLE:
            answers[key] = [
                {
                    "line": _text(_child(row, "line")),
                    "amount": _minor_units(_text(_child(row, "amount")), call.currency),
                }
                for row in _children(root, field_name(key))
                if _text(_child(row, "line")) or _text(_child(row, "amount"))
            ]
            continue
        if element is None:
            continue
        if kind == QuestionKind.LOCATION:
            answers[key] = {
                "country": _text(_child(element, "country")),
                "area": _text(_child(element, "area")),
            }
            continue
        value = _text(element)
        if not value:
            continue
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            by_name = {n: c for c, n in choice_names(question.get("choices") or []).items()}
            chosen = [by_name.get(name, name) for name in value.split()]
            answers[key] = chosen[0] if kind == QuestionKind.SINGLE_CHOICE else chosen
        elif kind == QuestionKind.MONEY:
            answers[key] = _minor_units(value, call.currency)
        elif kind == QuestionKind.FILE:
            files[key] = value
        else:
            answers[key] = value
    return answers, files


def _requested(call: Call, root: Element) -> Money:
    text = _text(_child(root, REQUESTED_FIELD))
    value = _decimal(text)
    try:
        if value is None:
            raise ValueError(text)
        return Money.from_decimal(value, call.currency)
    except ValueError:
        raise ValidationFailed.single(
            "requested",
            _("Enter the amount you are asking for in %(currency)s.", currency=call.currency),
        ) from None


def _language(call: Call, preferences: Sequence[str]) -> str:
    """The first language the person prefers that the call is written in."""
    for wanted in preferences:
        code = (wanted or "").replace("_", "-").split("-")[0].lower()
        if code in call.languages:
            return code
    return call.languages[0]


@dataclass
class Received:
    application: Application
    duplicate: bool


def receive_submission(
    session: Session,
    actor: User,
    organisation: Organisation,
    submission: Submission,
    attachments: Mapping[str, IO[bytes]],
    *,
    languages: Sequence[str] = (),
    now: dt.datetime | None = None,
    storage_for: Callable[[], Any] = get_storage,
) -> Received:
    """Record one OpenRosa submission as an application of `organisation`.

    A resent instanceID returns the first application (duplicate=True) and changes
    nothing. Otherwise the form must be the call's current version and the call must
    accept ODK submissions; attachments are stored, linked to their file questions, and
    everything goes through submit_application. When anything is refused the stored
    attachments are removed again, so a refused submission leaves nothing behind.
    """
    now = now or now_utc()
    earlier = earlier_submission(session, actor, submission.instance_id)
    if earlier is not None:
        return Received(earlier, duplicate=True)
    if submission.deprecated_id and earlier_submission(session, actor, submission.deprecated_id):
        raise InvalidTransition(
            _("This application was already received; edited forms cannot replace it.")
        )
    call_id = call_id_of(submission.form_id)
    call = session.get(Call, call_id) if call_id is not None else None
    if call is None or Channel.ODK.value not in (call.channels or []):
        raise UnknownFormVersion(_("This form is not published here."))
    if submission.version != xform_for(call).version:
        raise UnknownFormVersion(
            _(
                "This version of the form is no longer used. Get the blank form again, "
                "fill it in and send it."
            )
        )
    language = _language(call, languages)
    # The person reads what is wrong on the phone: in the language of the submission, and
    # about the questions as the form words them, not by the keys the server uses.
    with force_locale(language):
        try:
            return _receive(
                session,
                actor,
                organisation,
                call,
                submission,
                attachments,
                language,
                now,
                storage_for,
            )
        except ValidationFailed as failure:
            failure.errors = _by_label(call, failure.errors, language)
            failure.message = str(failure.message)
            raise


def question_labels(call: Call, language: str) -> dict[str, str]:
    """The label of each question of the form, by the key the server knows it by."""
    labels = {
        q["key"]: text_in(q.get("label"), language) or q["key"]
        for q in all_questions(call.questions)
    }
    labels["requested"] = _("How much are you asking for (%(currency)s)?", currency=call.currency)
    return labels


def _by_label(call: Call, errors: Mapping[str, list[str]], language: str) -> dict[str, list[str]]:
    labels = question_labels(call, language)
    named: dict[str, list[str]] = {}
    for key, messages in errors.items():
        named.setdefault(labels.get(key, key) if key else "", []).extend(messages)
    return named


def _receive(
    session: Session,
    actor: User,
    organisation: Organisation,
    call: Call,
    submission: Submission,
    attachments: Mapping[str, IO[bytes]],
    language: str,
    now: dt.datetime,
    storage_for: Callable[[], Any],
) -> Received:
    answers, file_names = answers_from(call, submission.root)
    requested = _requested(call, submission.root)
    stored: list[StoredFile] = []
    storage = storage_for()
    try:
        if not call.is_accepting(now):  # before storing anything; submit_application checks too
            if call.closes_at is not None and now >= call.closes_at:
                raise InvalidTransition(
                    _("This call has closed. Applications are no longer accepted.")
                )
            raise InvalidTransition(_("This call is not open for applications."))
        questions = {q["key"]: q for q in all_questions(call.questions)}
        missing: dict[str, str] = {}
        for key, name in file_names.items():
            upload = attachments.get(name)
            if upload is None:
                missing[key] = _("The attachment %(name)s was not sent.", name=name)
                continue
            try:
                # Charged to the organisation like any upload (quota, hourly rate), and
                # attached at once: the application made below refers to it.
                saved = uploads.store_upload(
                    session,
                    actor,
                    upload,
                    purpose=uploads.UploadPurpose.APPLICATION_ANSWER,
                    organisation_id=organisation.id,
                    max_bytes=questions[key].get("max_bytes"),
                    attached=True,
                    storage=storage,
                    now=now,
                )
            except ValidationFailed as failure:
                missing[key] = failure.errors.get("file", [str(failure.message)])[0]
                continue
            stored.append(saved)
            answers[key] = {
                "key": saved.key,
                "size": saved.size,
                "content_type": saved.content_type,
                "name": name[:200],
            }
        if missing:
            raise ValidationFailed(missing)
        with session.begin_nested():
            application = services.submit_application(
                session,
                actor,
                call,
                organisation,
                answers,
                requested,
                Channel.ODK.value,
                language,
                now,
                idempotency_key=idempotency_key(submission.instance_id),
            )
    except IntegrityError:
        # The same instanceID sent twice at once: the other request won.
        for saved in stored:
            storage.delete(saved.key)
        # (Their rows too: the request goes on to answer with the first application.)
        uploads.forget(session, [saved.key for saved in stored])
        earlier = earlier_submission(session, actor, submission.instance_id)
        if earlier is None:
            raise
        return Received(earlier, duplicate=True)
    except BaseException:
        for saved in stored:
            storage.delete(saved.key)
        raise
    return Received(application, duplicate=False)
