"""Attribution pages: the partner sets how it is credited and gives or withdraws consent;
the fund manager sees records, adds what the fund knows and sets the safety flag."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..grants.models import Grant
from ..platform.errors import DomainError, ValidationFailed
from ..platform.permissions import can, require
from . import rules, services

bp = Blueprint("attribution", __name__, url_prefix="/attribution")


def _grant(grant_id: int) -> Grant:
    return services.visible_grant(db.session, current_user, grant_id)


def _organisation(organisation_id: int) -> services.OrganisationScope:
    return services.visible_organisation(db.session, current_user, organisation_id)


def _logo() -> services.Logo | None:
    upload = request.files.get("logo")
    if upload is None or not upload.filename:
        return None
    return services.Logo(upload.stream)


def _flash_errors(error: DomainError) -> None:
    if isinstance(error, ValidationFailed):
        for messages in error.errors.values():
            for message in messages:
                flash(message, "error")
    else:
        flash(str(error.message), "error")


@bp.get("/")
@login_required
def list_records() -> Any:
    require(current_user, "attribution.list")
    return render_template(
        "attribution/list.html",
        rows=services.records_for_manager(db.session, current_user),
        rules_labels=rules.CONSENT_LABELS,
    )


def _organisation_page(
    scope: services.OrganisationScope,
    settings: Any = None,
    *,
    errors: Any = None,
    preview: Any = None,
    sent: str | None = None,
) -> Any:
    organisation = scope.organisation
    if settings is None:
        settings = _as_form(services.organisation_settings(db.session, organisation))
    grants = [
        (g, r)
        for g, r in services.grants_of_organisation(db.session, organisation)
        if can(current_user, "attribution.view", g)
    ]
    return render_template(
        "attribution/organisation.html",
        organisation=organisation,
        settings=settings,
        grants=grants,
        errors=errors or {},
        preview=preview,
        sent=sent,
        typed=request.form if sent else {},
        languages=services.languages(),
        can_edit=can(current_user, "organisation_credit.edit", scope),
        can_protect=can(current_user, "organisation_credit.protect", scope),
        protection=services.protection(db.session, organisation),
        rules=rules,
    )


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@login_required
def organisation_settings(organisation_id: int) -> Any:
    scope = _organisation(organisation_id)
    organisation = scope.organisation
    if request.method == "GET":
        return _organisation_page(scope)
    require(current_user, "organisation_credit.edit", scope)
    typed = {
        **request.form.to_dict(),
        "has_logo": _as_form(services.organisation_settings(db.session, organisation))["has_logo"],
    }
    if request.form.get("action") == "preview":
        # Nothing is saved: the partner reads what each audience would see first.
        preview = services.credit_preview(
            organisation,
            request.form.get("naming", ""),
            request.form.get("location_precision", ""),
            request.form,
        )
        return _organisation_page(scope, typed, preview=preview)
    try:
        services.save_organisation_settings(
            db.session, current_user, organisation, request.form, _logo()
        )
    except ValidationFailed as error:
        _flash_errors(error)
        return _organisation_page(scope, typed, errors=error.errors), 422
    flash(_("Saved. It applies to every grant without its own choice."), "success")
    return redirect(url_for(".organisation_settings", organisation_id=organisation.id))


@bp.post("/organisations/<int:organisation_id>/safety")
@login_required
def set_organisation_safety(organisation_id: int) -> Any:
    scope = _organisation(organisation_id)
    try:
        services.set_organisation_safety_flag(
            db.session,
            current_user,
            scope.organisation,
            bool(request.form.get("flag")),
            request.form.get("reason", ""),
        )
    except ValidationFailed as error:
        _flash_errors(error)
        return _organisation_page(scope, sent="safety"), 422
    flash(_("Saved. It applies from now on, everywhere."), "success")
    return redirect(url_for(".organisation_settings", organisation_id=organisation_id))


def _as_form(settings: Any) -> dict[str, Any]:
    return {
        "naming": settings.naming,
        "location_precision": settings.location_precision,
        **{f"description_{k}": v for k, v in (settings.descriptions or {}).items()},
        **{
            f"anonymised_description_{k}": v
            for k, v in (settings.anonymised_descriptions or {}).items()
        },
        "has_logo": bool(settings.logo_key),
    }


@bp.get("/grants/<int:grant_id>")
@login_required
def show_grant(grant_id: int) -> Any:
    return _grant_page(_grant(grant_id))


def _grant_page(grant: Grant, sent: str | None = None, preview: Any = None) -> Any:
    """The grant's credit page. After a mistake (422), the form named by `sent` shows what
    was typed in it, beside the messages, instead of what is saved; a preview shows what
    was typed and what each audience would read, with 200."""
    record = services.record_of(db.session, grant)
    history = services.consent_history(db.session, record)
    override = services.grant_override(db.session, grant)
    settings = _as_form(services.effective_settings(db.session, grant))
    if sent == "settings" or preview is not None:
        settings = {**request.form.to_dict(), "has_logo": settings["has_logo"]}
    page = render_template(
        "attribution/grant.html",
        grant=grant,
        record=record,
        history=history,
        actors=services.actors_of(db.session, history),
        override=override,
        settings=settings,
        sent=sent,
        typed=request.form if sent else {},
        preview=preview,
        can_edit=can(current_user, "attribution.edit", grant),
        can_manage=can(current_user, "attribution.manage", grant),
        protection=services.protection(db.session, grant.organisation),
        languages=services.languages(),
        capacity_asked=(grant_answers(grant).get("capacity_strengthening") or "")
        if can(current_user, "attribution.manage", grant)
        else "",
        theme_answered=_answer_text(grant_answers(grant).get("theme"))
        if can(current_user, "attribution.manage", grant)
        else "",
        rules=rules,
    )
    return (page, 422) if sent and preview is None else page


def grant_answers(grant: Grant) -> dict[str, Any]:
    from ..intake.models import Application

    application = db.session.get(Application, grant.application_id)
    return dict(application.answers or {}) if application else {}


def _answer_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _back(grant: Grant) -> Any:
    return redirect(url_for(".show_grant", grant_id=grant.id))


@bp.post("/grants/<int:grant_id>/settings")
@login_required
def save_grant_settings(grant_id: int) -> Any:
    grant = _grant(grant_id)
    if request.form.get("action") == "preview":
        require(current_user, "attribution.edit", grant)
        # Nothing is saved: the partner reads what each audience would see first.
        preview = services.credit_preview(
            grant.organisation,
            request.form.get("naming", ""),
            request.form.get("location_precision", ""),
            request.form,
        )
        return _grant_page(grant, preview=preview)
    try:
        if request.form.get("use_default"):
            services.remove_grant_settings(db.session, current_user, grant)
        else:
            services.save_grant_settings(db.session, current_user, grant, request.form, _logo())
    except ValidationFailed as error:
        _flash_errors(error)
        return _grant_page(grant, sent="settings")
    flash(_("Saved."), "success")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/consent")
@login_required
def change_consent(grant_id: int) -> Any:
    grant = _grant(grant_id)
    embargo = None
    if request.form.get("embargo_until"):
        try:
            embargo = dt.date.fromisoformat(request.form["embargo_until"])
        except ValueError:
            flash(_("Enter the embargo date as YYYY-MM-DD."), "error")
            return _grant_page(grant, sent="consent")
    try:
        services.change_consent(
            db.session,
            current_user,
            grant,
            request.form.get("state", ""),
            scope=request.form.get("scope") or None,
            embargo_until=embargo,
            note=request.form.get("note"),
        )
        flash(_("Your consent is recorded. It applies from now on, everywhere."), "success")
    except DomainError as error:
        if not isinstance(error, ValidationFailed) and error.status_code in (403, 404):
            raise
        _flash_errors(error)
        return _grant_page(grant, sent="consent")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/safety")
@login_required
def set_safety(grant_id: int) -> Any:
    grant = _grant(grant_id)
    try:
        services.set_safety_flag(
            db.session,
            current_user,
            grant,
            bool(request.form.get("flag")),
            request.form.get("reason", ""),
        )
    except ValidationFailed as error:
        _flash_errors(error)
        return _grant_page(grant, sent="safety")
    flash(_("Saved. It applies from now on, everywhere."), "success")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/details")
@login_required
def save_details(grant_id: int) -> Any:
    grant = _grant(grant_id)
    try:
        services.save_fund_details(db.session, current_user, grant, request.form)
    except ValidationFailed as error:
        _flash_errors(error)
        return _grant_page(grant, sent="details")
    flash(_("Saved."), "success")
    return _back(grant)
