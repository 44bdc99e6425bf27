"""Applications. Every channel (web form, spreadsheet, ODK, API) submits through
`submit_application`, so the rules are the same whichever way an organisation applies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..calls.models import Call
from ..calls.rules import (
    Channel,
    bounds_message,
    eligibility_reasons,
    validate_answers,
)
from ..organisations.models import Organisation
from ..platform.audit import record_event, record_events
from ..platform.errors import InvalidTransition, ValidationFailed
from ..platform.i18n import mail_locale
from ..platform.idempotency import request_fingerprint
from ..platform.mail import queue_mail, queue_mails
from ..platform.money import Money, format_money
from ..platform.time import now_utc
from .commands import Registration
from .models import Application
from .rules import ApplicationState, check_application_transition, format_reference

REQUESTED_KEY = "requested_amount"  # where a draft keeps the amount as typed


def check_eligible(call: Call, organisation: Organisation) -> None:
    reasons = eligibility_reasons(
        call.eligibility,
        org_type=organisation.org_type,
        country=organisation.country,
        area=organisation.area,
        registered=organisation.registered,
    )
    if reasons:
        raise ValidationFailed(
            {"": reasons}, message=_("Your organisation cannot apply to this call.")
        )


def _check_accepting(call: Call, now: dt.datetime) -> None:
    if not call.is_accepting(now):
        if call.closes_at is not None and now >= call.closes_at:
            raise InvalidTransition(_("This call has closed. Applications are no longer accepted."))
        raise InvalidTransition(_("This call is not open for applications."))


def draft_of(session: Session, call: Call, organisation: Organisation) -> Application | None:
    """The organisation's draft for this call, if it has one (at most one: an index)."""
    return drafts_of(session, call, [organisation]).get(organisation.id)


def drafts_of(
    session: Session, call: Call, organisations: list[Organisation]
) -> dict[int, Application]:
    """The drafts for this call of these organisations, by organisation id: one query."""
    if not organisations:
        return {}
    return {
        draft.organisation_id: draft
        for draft in session.scalars(
            select(Application).where(
                Application.call_id == call.id,
                Application.organisation_id.in_([o.id for o in organisations]),
                Application.state == ApplicationState.DRAFT.value,
                Application.channel == Channel.WEB.value,
            )
        )
    }


def start_application(
    session: Session,
    actor: User,
    call: Call,
    organisation: Organisation,
    *,
    language: str,
    now: dt.datetime | None = None,
) -> Application:
    """A draft on the web form, after the eligibility check; the organisation's draft for
    this call when it already has one (pressing "Start" twice, or on two phones)."""
    now = now or now_utc()
    _check_accepting(call, now)
    check_eligible(call, organisation)
    existing = draft_of(session, call, organisation)
    if existing is not None:
        return existing
    application = Application(
        call_id=call.id,
        organisation_id=organisation.id,
        created_by_id=actor.id,
        answers={},
        currency=call.currency,
        channel=Channel.WEB.value,
        language=language,
        state=ApplicationState.DRAFT.value,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(application)
            session.flush()
    except IntegrityError:
        # Started at the same moment elsewhere: the index let one through; that one it is.
        existing = draft_of(session, call, organisation)
        if existing is None:
            raise
        return existing
    record_event(
        session,
        actor,
        "application.start",
        application,
        after={"call_id": call.id, "organisation_id": organisation.id},
        at=now,
    )
    return application


class DraftConflict(Exception):
    """A page of a draft was sent from a copy loaded before another tab or phone saved:
    `saved` holds, by question key, what is saved now where it differs from what was sent.
    Nothing was changed."""

    def __init__(self, saved: dict[str, Any], version: int):
        super().__init__("draft changed meanwhile")
        self.saved = saved
        self.version = version


def save_draft(
    session: Session,
    actor: User,
    application: Application,
    typed: dict[str, Any],
    *,
    locale: str,
    version: int | None = None,
) -> dict[str, str]:
    """Keep what was typed on one page of the form, whatever it is, and return that page's
    problems (by question key) so the page can show them beside the fields.

    `version` is the draft's version the page was loaded at: when another save came in
    since, and it changed an answer this page sends differently, DraftConflict is raised
    and nothing is saved over it."""
    if application.state != ApplicationState.DRAFT:
        raise InvalidTransition(_("This application has been sent and can no longer change."))
    current = application.answers or {}
    if version is not None and version != application.version:
        saved = {
            key: current[key]
            for key, value in typed.items()
            if current.get(key) not in (None, "", [], {}) and current.get(key) != value
        }
        if saved:
            raise DraftConflict(saved, application.version)
    answers = dict(current)
    answers.update(typed)
    application.answers = answers
    application.version = (application.version or 1) + 1
    session.flush()
    errors: dict[str, str] = {}
    only = set(typed) - {REQUESTED_KEY}
    if only:
        _cleaned, errors = validate_answers(
            application.call.questions,
            answers,
            currency=application.currency,
            locale=locale,
            only=only,
        )
    if REQUESTED_KEY in typed:
        call = application.call
        try:
            amount = requested_from_text(call, typed[REQUESTED_KEY], locale)
        except ValidationFailed as failure:
            errors[REQUESTED_KEY] = failure.errors["requested"][0]
        else:
            if not (call.min_request <= amount <= call.max_request):
                errors[REQUESTED_KEY] = bounds_message(call.min_request, call.max_request, locale)
    return errors


def requested_from_text(call: Call, text: Any, locale: str) -> Money:
    from ..platform.money import parse_money

    try:
        return parse_money(str(text or ""), call.currency, locale)
    except ValueError:
        raise ValidationFailed.single(
            "requested",
            _(
                "Enter the amount you are asking for in %(currency)s. %(bounds)s",
                currency=call.currency,
                bounds=bounds_message(call.min_request, call.max_request, locale),
            ),
        ) from None


def _replayed(
    session: Session, actor: User, idempotency_key: str, fingerprint: str
) -> Application | None:
    earlier = session.scalar(
        select(Application).where(
            Application.created_by_id == actor.id,
            Application.idempotency_key == idempotency_key,
        )
    )
    if earlier is not None and earlier.request_fingerprint != fingerprint:
        raise ValidationFailed.single(
            "idempotency_key",
            _("This Idempotency-Key was already used for a different request."),
        )
    return earlier


def submit_application(
    session: Session,
    actor: User | None,
    call: Call,
    organisation: Organisation,
    answers: dict[str, Any],
    requested: Money,
    channel: str,
    language: str,
    now: dt.datetime | None = None,
    *,
    draft: Application | None = None,
    notify: str | None = None,
    idempotency_key: str | None = None,
) -> Application:
    """Check and record one application, from any channel. Raises and changes nothing when
    anything is wrong: the call closed (checked here, in UTC), the organisation is not
    eligible, the amount is outside the call's bounds, or the answers do not fit the form.
    """
    now = now or now_utc()
    fingerprint = request_fingerprint(
        {
            "call": call.id,
            "organisation": organisation.id,
            "answers": answers,
            "requested": [requested.amount_minor, requested.currency],
            "channel": channel,
            "language": language,
        }
    )
    if idempotency_key and actor is not None:
        earlier = _replayed(session, actor, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier  # a retry: the first result, nothing written again
    cleaned = check_submission(call, organisation, answers, requested, channel, language, now)
    if draft is not None:
        if draft.call_id != call.id or draft.organisation_id != organisation.id:
            raise ValueError("the draft belongs to another call or organisation")
        check_application_transition(draft.state, ApplicationState.SUBMITTED.value)
        application = draft
    else:
        application = Application(
            call_id=call.id,
            organisation_id=organisation.id,
            created_by_id=actor.id if actor is not None else None,
            state=ApplicationState.DRAFT.value,
            created_at=now,
            idempotency_key=(idempotency_key or None) if actor is not None else None,
            request_fingerprint=fingerprint if idempotency_key else None,
        )
    application.answers = cleaned
    application.requested_minor = requested.amount_minor
    application.currency = requested.currency
    application.channel = channel
    application.language = language
    if draft is None and idempotency_key and actor is not None:
        # Two retries racing with one key: the unique key lets one insert win; the other
        # waits for it, fails, and returns the winner's application.
        try:
            with session.begin_nested():
                session.add(application)
                session.flush()  # the id makes the reference unique without a counter
        except IntegrityError:
            earlier = _replayed(session, actor, idempotency_key, fingerprint)
            if earlier is None:
                raise
            return earlier
    else:
        # Without a key nothing can race on it: no savepoint (two round trips) is needed.
        session.add(application)
        session.flush()
    application.reference = format_reference(now.year, application.id)
    application.state = ApplicationState.SUBMITTED
    application.submitted_at = now
    session.flush()
    record_event(
        session,
        actor,
        "application.submit",
        application,
        at=now,
        after=_submitted_event(application.reference, call, organisation, channel, requested),
    )
    to = _receipt_address(actor, organisation, notify)
    if to:
        # To the person who sent it, in the language saved on their account.
        mail_language = (
            mail_locale(actor.locale, language)
            if actor is not None and to == actor.email
            else language
        )
        queue_mail(
            session,
            to,
            "application_received",
            mail_language,
            **_receipt_context(application.reference, call, organisation, requested, mail_language),
        )
    return application


def check_submission(
    call: Call,
    organisation: Organisation,
    answers: dict[str, Any],
    requested: Money,
    channel: str,
    language: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Every rule an application must meet, whatever its channel; the cleaned answers, or
    ValidationFailed / InvalidTransition. Writes nothing."""
    if channel not in {c.value for c in Channel}:
        raise ValidationFailed.single("channel", _("Unknown intake channel."))
    _check_accepting(call, now)
    if channel != Channel.WEB and channel not in call.channels:
        raise InvalidTransition(_("This call does not accept applications this way."))
    check_eligible(call, organisation)
    errors: dict[str, str] = {}
    if requested.currency != call.currency:
        errors["requested"] = _("Ask for an amount in %(currency)s.", currency=call.currency)
    elif not (call.min_request <= requested <= call.max_request):
        errors["requested"] = bounds_message(call.min_request, call.max_request, language)
    cleaned, answer_errors = validate_answers(
        call.questions, answers, currency=call.currency, locale=language
    )
    errors.update(answer_errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _submitted_event(
    reference: str | None, call: Call, organisation: Organisation, channel: str, requested: Money
) -> dict[str, Any]:
    return {
        "reference": reference,
        "call_id": call.id,
        "organisation_id": organisation.id,
        "channel": channel,
        "requested_minor": requested.amount_minor,
        "currency": requested.currency,
    }


def _receipt_address(actor: User | None, organisation: Organisation, notify: str | None) -> str:
    if notify is not None:
        return notify
    return (actor.email if actor is not None else None) or organisation.contact_email or ""


def _receipt_context(
    reference: str | None,
    call: Call,
    organisation: Organisation,
    requested: Money,
    language: str,
) -> dict[str, Any]:
    return {
        "reference": reference,
        "call_title": call.title_in(language),
        "organisation": organisation.name,
        "requested": format_money(requested, language),
    }


@dataclass
class Checked:
    """An application that passed check_submission, waiting to be written by submit_many."""

    organisation: Organisation
    cleaned: dict[str, Any]
    requested: Money
    language: str
    notify: str | None = None
    # Stored as the application's request_fingerprint (it has no idempotency key): a
    # digest of the spreadsheet row it came from, so the same row is recognised again.
    fingerprint: str | None = None


# Rows written per statement by submit_many.
BULK_BATCH = 1000


def submit_many(
    session: Session,
    actor: User | None,
    call: Call,
    checked: list[Checked],
    channel: str,
    now: dt.datetime,
) -> list[Application]:
    """Write applications already checked (check_submission), as submit_application would
    one by one — submitted with a reference, an audit event and a receipt each — but a
    thousand rows per statement: a spreadsheet of 10,000 rows takes seconds, not minutes."""
    created: list[Application] = []
    for start in range(0, len(checked), BULK_BATCH):
        created.extend(
            _submit_batch(session, actor, call, checked[start : start + BULK_BATCH], channel, now)
        )
    return created


def _submit_batch(
    session: Session,
    actor: User | None,
    call: Call,
    batch: list[Checked],
    channel: str,
    now: dt.datetime,
) -> list[Application]:
    session.flush()
    rows = [
        {
            "call_id": call.id,
            "organisation_id": item.organisation.id,
            "created_by_id": actor.id if actor is not None else None,
            "answers": item.cleaned,
            "requested_minor": item.requested.amount_minor,
            "currency": item.requested.currency,
            "channel": channel,
            "language": item.language,
            # A draft first: a submitted application must have its reference, made from
            # the id the insert returns (as submit_application does one at a time).
            "state": ApplicationState.DRAFT.value,
            "created_at": now,
            "updated_at": now,
            "request_fingerprint": item.fingerprint,
        }
        for item in batch
    ]
    ids = list(
        session.scalars(
            insert(Application).returning(Application.id, sort_by_parameter_order=True), rows
        )
    )
    references = [format_reference(now.year, i) for i in ids]
    session.execute(
        update(Application),
        [
            {
                "id": i,
                "reference": r,
                "state": ApplicationState.SUBMITTED.value,
                "submitted_at": now,
            }
            for i, r in zip(ids, references, strict=True)
        ],
    )
    record_events(
        session,
        actor,
        "application.submit",
        [
            (
                "application",
                i,
                _submitted_event(r, call, item.organisation, channel, item.requested),
            )
            for i, r, item in zip(ids, references, batch, strict=True)
        ],
        at=now,
    )
    mails = []
    for reference, item in zip(references, batch, strict=True):
        to = _receipt_address(actor, item.organisation, item.notify)
        if to:
            mails.append(
                (
                    to,
                    "application_received",
                    item.language,
                    _receipt_context(
                        reference, call, item.organisation, item.requested, item.language
                    ),
                )
            )
    queue_mails(session, mails)
    found = {a.id: a for a in session.scalars(select(Application).where(Application.id.in_(ids)))}
    return [found[i] for i in ids]


def submit_draft(
    session: Session,
    actor: User,
    application: Application,
    *,
    locale: str,
    now: dt.datetime | None = None,
) -> Application:
    """The web form's submit: the draft's typed answers go through submit_application."""
    call = application.call
    answers = dict(application.answers)
    typed_amount = answers.pop(REQUESTED_KEY, "")
    try:
        requested = requested_from_text(call, typed_amount, locale)
    except ValidationFailed:
        requested = None
    if requested is None:
        # List every problem at once, the missing amount among them.
        _cleaned, errors = validate_answers(
            call.questions, answers, currency=call.currency, locale=locale
        )
        errors[REQUESTED_KEY] = _("Enter the amount you are asking for.")
        raise ValidationFailed(errors)
    try:
        return submit_application(
            session,
            actor,
            call,
            application.organisation,
            answers,
            requested,
            Channel.WEB.value,
            application.language,
            now,
            draft=application,
        )
    except ValidationFailed as failure:
        if "requested" in failure.errors:
            failure.errors[REQUESTED_KEY] = failure.errors.pop("requested")
        raise


def withdraw_application(
    session: Session, actor: User, application: Application, now: dt.datetime | None = None
) -> Application:
    now = now or now_utc()
    before = application.state
    check_application_transition(application.state, ApplicationState.WITHDRAWN.value)
    application.state = ApplicationState.WITHDRAWN
    application.withdrawn_at = now
    application.withdrawn_from = before
    session.flush()
    record_event(
        session,
        actor,
        "application.withdraw",
        application,
        before={"state": before},
        after={"state": application.state},
        at=now,
    )
    return application


def can_undo_withdrawal(application: Application, now: dt.datetime) -> bool:
    """Withdrawing can be undone while the call takes applications."""
    return (
        application.state == ApplicationState.WITHDRAWN
        and application.withdrawn_from is not None
        and application.call.is_accepting(now)
    )


def undo_withdrawal(
    session: Session, actor: User, application: Application, now: dt.datetime | None = None
) -> Application:
    """Back to the state the application was withdrawn from, while the call is open."""
    now = now or now_utc()
    if application.state != ApplicationState.WITHDRAWN:
        raise InvalidTransition(_("This application has not been withdrawn."))
    if not can_undo_withdrawal(application, now):
        raise InvalidTransition(
            _("This call has closed: a withdrawn application can no longer be taken back.")
        )
    target = str(application.withdrawn_from)
    if target == ApplicationState.DRAFT and draft_of(
        session, application.call, application.organisation
    ):
        raise InvalidTransition(
            _(
                "Your organisation has started another draft for this call since. Continue "
                "that one, or withdraw it first."
            )
        )
    application.state = ApplicationState(target)
    application.withdrawn_at = None
    application.withdrawn_from = None
    session.flush()
    record_event(
        session,
        actor,
        "application.undo_withdrawal",
        application,
        before={"state": ApplicationState.WITHDRAWN.value},
        after={"state": target},
        at=now,
    )
    return application


STASH_LIFETIME = dt.timedelta(days=2)


def stash_page(
    session: Session,
    user_id: int,
    application: Application,
    page: int,
    answers: dict[str, Any],
    now: dt.datetime | None = None,
) -> None:
    """Keep what was posted on one page for its person, when it could not be saved (the
    session had gone); one stash per person, draft and page: the newest."""
    from .models import FormStash

    now = now or now_utc()
    session.execute(
        delete(FormStash).where(
            FormStash.user_id == user_id,
            FormStash.application_id == application.id,
            (FormStash.page == page) | (FormStash.expires_at < now),
        )
    )
    session.add(
        FormStash(
            user_id=user_id,
            application_id=application.id,
            page=page,
            answers=answers,
            created_at=now,
            expires_at=now + STASH_LIFETIME,
        )
    )
    session.flush()


def stashed_page(
    session: Session, user: User, application: Application, page: int, now: dt.datetime
) -> dict[str, Any] | None:
    """What this person posted on this page and could not save, if still kept."""
    from .models import FormStash

    return session.scalar(
        select(FormStash.answers).where(
            FormStash.user_id == user.id,
            FormStash.application_id == application.id,
            FormStash.page == page,
            FormStash.expires_at > now,
        )
    )


def forget_stash(session: Session, user: User, application: Application, page: int) -> None:
    from .models import FormStash

    session.execute(
        delete(FormStash).where(
            FormStash.user_id == user.id,
            FormStash.application_id == application.id,
            FormStash.page == page,
        )
    )


def applications_of(session: Session, user: User) -> list[Application]:
    ids = user.organisation_ids()
    if not ids:
        return []
    return list(
        session.scalars(
            select(Application)
            .where(Application.organisation_id.in_(ids))
            .order_by(Application.created_at.desc())
            .limit(200)
        )
    )


def by_reference(session: Session, reference: str) -> Application | None:
    return session.scalar(select(Application).where(Application.reference == reference))


def register_applicant(
    session: Session, actor: User | None, data: Registration, *, locale: str
) -> tuple[User, Organisation | None]:
    """Minimal registration: the organisation and, for someone not signed in, a
    password-free account for its contact person, who comes back by sign-in link.
    Every problem is reported at once, and nothing is written unless all is well.

    When the address already has an account, nothing is written either (whoever typed it
    has not shown they own it), but everything typed is checked as for a new one, so the
    answer and the time it takes are the same: the existing user is returned with no
    organisation, and the caller mails that address a way to sign in."""
    from ..accounts.services import create_user, get_user_by_email
    from ..organisations.commands import organisation_details
    from ..organisations.services import create_organisation

    errors: dict[str, list[str]] = {}
    organisation_data: dict[str, Any] = {
        "name": data.organisation_name,
        "org_type": data.org_type,
        "country": data.country,
        "area": data.area,
        "registered": bool((data.registration_number or "").strip()),
        "registration_number": data.registration_number,
        "contact_email": data.email or (actor.email if actor else None),
        "contact_phone": data.phone,
    }
    existing = None if actor is not None else get_user_by_email(session, data.email or "")
    organisation: Organisation | None = None
    with session.begin_nested() as savepoint:  # released only when both rows are good
        user = actor
        if existing is not None:
            if not (data.contact_name or "").strip():
                errors["contact_name"] = [_("Enter a name.")]
        elif user is None:
            try:
                user = create_user(
                    session,
                    None,
                    email=data.email or "",
                    name=(data.contact_name or "").strip(),
                    locale=locale,
                )
            except ValidationFailed as failure:
                for key, messages in failure.errors.items():
                    errors["contact_name" if key == "name" else key] = messages
        try:
            organisation = create_organisation(
                session, user, organisation_details(**organisation_data), add_member=user
            )
        except ValidationFailed as failure:
            for key, messages in failure.errors.items():
                name = {"name": "organisation_name", "contact_email": "email"}.get(key, key)
                errors[name] = messages
        if errors:
            raise ValidationFailed(errors)
        if existing is not None:
            savepoint.rollback()  # checked like a new one; kept for none
    if existing is not None:
        return existing, None
    assert user is not None
    session.refresh(user, ["memberships"])
    return user, organisation
