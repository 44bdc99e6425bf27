"""Attribution pages: the partner sets how it is credited and gives or withdraws consent;
the fund manager sees records, adds what the fund knows and sets the safety flag."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..extensions import db
from ..grants.models import Grant
from ..intake.models import Application
from ..organisations.models import Organisation
from ..platform.errors import InvalidTransition
from ..platform.permissions import can, load, require
from . import rules, services
from .forms import (
    ConsentForm,
    CreditSettingsForm,
    RecordDetailsForm,
    SafetyForm,
    credit_settings_form,
)

bp = Blueprint("attribution", __name__, url_prefix="/attribution")


def _scope(organisation_id: int) -> services.OrganisationScope:
    """The organisation with the funds it works with; NotFound for anyone who may not see
    its credit page, as for an organisation that does not exist."""
    scope = services.organisation_scope(db.session, load(Organisation, organisation_id))
    require(current_user, "organisation_credit.view", scope)
    return scope


def _previewing() -> bool:
    """The settings form's "Preview" button: nothing is saved, the page shows what each
    audience would read."""
    return request.form.get("action") == "preview"


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
    *,
    settings_form: CreditSettingsForm | None = None,
    safety_form: SafetyForm | None = None,
    preview: list[services.CreditPreview] | None = None,
    status: int = 200,
) -> Any:
    """The organisation's credit page; after a refusal, the form that was sent shows what
    was typed with its messages, and the other forms what is saved."""
    organisation = scope.organisation
    saved = services.organisation_settings(db.session, organisation)
    grants = [
        (g, r)
        for g, r in services.grants_of_organisation(db.session, organisation)
        if can(current_user, "attribution.view", g)
    ]
    page = render_template(
        "attribution/organisation.html",
        organisation=organisation,
        settings_form=settings_form or credit_settings_form(saved, formdata=None),
        safety_form=safety_form or SafetyForm(formdata=None),
        has_logo=bool(saved.logo_key),
        grants=grants,
        preview=preview,
        can_edit=can(current_user, "organisation_credit.edit", scope),
        can_protect=can(current_user, "organisation_credit.protect", scope),
        protection=services.protection(db.session, organisation),
        rules=rules,
    )
    return page, status


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@login_required
def organisation_settings(organisation_id: int) -> Any:
    scope = _scope(organisation_id)
    organisation = scope.organisation
    if request.method == "GET":
        return _organisation_page(scope)
    require(current_user, "organisation_credit.edit", scope)
    form = credit_settings_form()
    with form.shows_failures(lambda: _organisation_page(scope, settings_form=form, status=422)):
        if _previewing():
            preview = services.credit_preview(organisation, form.command())
            return _organisation_page(scope, settings_form=form, preview=preview)
        services.save_organisation_settings(
            db.session, current_user, organisation, form.command(), form.logo_upload()
        )
    flash(_("Saved. It applies to every grant without its own choice."), "success")
    return redirect(url_for(".organisation_settings", organisation_id=organisation.id))


@bp.post("/organisations/<int:organisation_id>/safety")
@login_required
def set_organisation_safety(organisation_id: int) -> Any:
    scope = _scope(organisation_id)
    require(current_user, "organisation_credit.protect", scope)
    form = SafetyForm()
    with form.shows_failures(lambda: _organisation_page(scope, safety_form=form, status=422)):
        services.set_organisation_safety_flag(
            db.session, current_user, scope.organisation, form.command()
        )
    flash(_("Saved. It applies from now on, everywhere."), "success")
    return redirect(url_for(".organisation_settings", organisation_id=organisation_id))


@bp.get("/grants/<int:grant_id>")
@login_required
def show_grant(grant_id: int) -> Any:
    return _grant_page(load(Grant, grant_id, "attribution.view"))


def _grant_page(
    grant: Grant,
    *,
    settings_form: CreditSettingsForm | None = None,
    consent_form: ConsentForm | None = None,
    details_form: RecordDetailsForm | None = None,
    safety_form: SafetyForm | None = None,
    preview: list[services.CreditPreview] | None = None,
    status: int = 200,
) -> Any:
    """The grant's credit page. After a refusal (422) the form that was sent shows what
    was typed in it, with its messages beside the fields; the other forms show what is
    saved. A preview shows what was typed and what each audience would read, with 200."""
    record = services.record_of(db.session, grant)
    history = services.consent_history(db.session, record)
    override = services.grant_override(db.session, grant)
    saved = override or services.organisation_settings(db.session, grant.organisation)
    may_manage = can(current_user, "attribution.manage", grant)
    answers = _answers(grant) if may_manage else {}
    theme_answered = _answer_text(answers.get("theme"))
    details_form = details_form or RecordDetailsForm.of(record, theme_answered)
    details_form.describe(theme_answered, _answer_text(answers.get("capacity_strengthening")))
    page = render_template(
        "attribution/grant.html",
        grant=grant,
        record=record,
        history=history,
        actors=services.actors_of(db.session, history),
        override=override,
        has_logo=bool(saved.logo_key),
        settings_form=settings_form or credit_settings_form(saved, formdata=None),
        consent_form=consent_form or ConsentForm(formdata=None),
        details_form=details_form,
        safety_form=safety_form or SafetyForm(formdata=None),
        preview=preview,
        can_edit=can(current_user, "attribution.edit", grant),
        can_manage=may_manage,
        protection=services.protection(db.session, grant.organisation),
        rules=rules,
    )
    return page, status


def _answers(grant: Grant) -> dict[str, Any]:
    application = db.session.get(Application, grant.application_id)
    return dict(application.answers or {}) if application else {}


def _answer_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _back(grant: Grant) -> Any:
    return redirect(url_for(".show_grant", grant_id=grant.id))


@bp.post("/grants/<int:grant_id>/settings")
@login_required
def save_grant_settings(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "attribution.edit")
    form = credit_settings_form()
    if form.use_default.data and not _previewing():
        services.remove_grant_settings(db.session, current_user, grant)
        flash(_("Saved."), "success")
        return _back(grant)
    with form.shows_failures(lambda: _grant_page(grant, settings_form=form, status=422)):
        if _previewing():
            preview = services.credit_preview(grant.organisation, form.command())
            return _grant_page(grant, settings_form=form, preview=preview)
        services.save_grant_settings(
            db.session, current_user, grant, form.command(), form.logo_upload()
        )
    flash(_("Saved."), "success")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/consent")
@login_required
def change_consent(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "attribution.edit")
    form = ConsentForm()
    with form.shows_failures(
        lambda: _grant_page(grant, consent_form=form, status=422), (InvalidTransition,)
    ):
        services.change_consent(db.session, current_user, grant, form.command())
    flash(_("Your consent is recorded. It applies from now on, everywhere."), "success")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/safety")
@login_required
def set_safety(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "attribution.manage")
    form = SafetyForm()
    with form.shows_failures(lambda: _grant_page(grant, safety_form=form, status=422)):
        services.set_safety_flag(db.session, current_user, grant, form.command())
    flash(_("Saved. It applies from now on, everywhere."), "success")
    return _back(grant)


@bp.post("/grants/<int:grant_id>/details")
@login_required
def save_details(grant_id: int) -> Any:
    grant = load(Grant, grant_id, "attribution.manage")
    form = RecordDetailsForm()
    with form.shows_failures(lambda: _grant_page(grant, details_form=form, status=422)):
        services.save_fund_details(db.session, current_user, grant, form.command())
    flash(_("Saved."), "success")
    return _back(grant)
