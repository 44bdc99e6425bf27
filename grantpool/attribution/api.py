"""The credit API: a partner reads and sets how it is credited, previews what each
audience reads, and gives or withdraws consent; a fund manager protects a partner.
The same services and permissions as the pages."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..extensions import db
from ..grants.models import Grant
from ..organisations.models import Organisation
from ..platform.api import authenticated
from ..platform.permissions import can, load, require
from ..platform.time import now_utc
from . import services
from .commands import ConsentChange, CreditSettings, SafetyFlag
from .schemas import (
    ConsentSchema,
    CreditSettingsSchema,
    GrantCreditSchema,
    OrganisationCreditSchema,
    PreviewSchema,
    SafetySchema,
)

blp = Blueprint("attribution_api", __name__, description="Credit and partner safety")


def _scope(organisation_id: int) -> services.OrganisationScope:
    """The organisation with the funds it works with; NotFound for anyone who may not see
    its credit, as for an organisation that does not exist."""
    scope = services.organisation_scope(db.session, load(Organisation, organisation_id))
    require(current_user, "organisation_credit.view", scope)
    return scope


def _grant(grant_id: int) -> Grant:
    return load(Grant, grant_id, "attribution.view")


def _protection(organisation: Organisation, may_see_reasons: bool) -> dict[str, Any]:
    found = services.protection(db.session, organisation)
    if not may_see_reasons:
        return {"hidden": found.hidden}
    return {
        "hidden": found.hidden,
        "on_organisation": found.on_organisation,
        "reason": found.organisation_reason,
        "flagged_grants": [reference for _id, reference, _reason in found.grants],
    }


def _settings(settings: Any) -> dict[str, Any]:
    return {
        "naming": settings.naming,
        "location_precision": settings.location_precision,
        "descriptions": dict(settings.descriptions or {}),
        "anonymised_descriptions": dict(settings.anonymised_descriptions or {}),
        "has_logo": bool(settings.logo_key),
    }


def _organisation_credit(scope: services.OrganisationScope) -> dict[str, Any]:
    organisation = scope.organisation
    return {
        "organisation_id": organisation.id,
        **_settings(services.organisation_settings(db.session, organisation)),
        "protection": _protection(
            organisation, can(current_user, "organisation_credit.protect", scope)
        ),
    }


@blp.route("/organisations/<int:organisation_id>/credit")
class OrganisationCredit(MethodView):
    decorators = [authenticated]

    @blp.response(200, OrganisationCreditSchema)
    def get(self, organisation_id: int) -> Any:
        """How the organisation is credited by default, and whether it is protected."""
        return _organisation_credit(_scope(organisation_id))

    @blp.arguments(CreditSettingsSchema)
    @blp.response(200, OrganisationCreditSchema)
    def put(self, settings: CreditSettings, organisation_id: int) -> Any:
        """The organisation's default credit (its members only)."""
        scope = _scope(organisation_id)
        services.save_organisation_settings(db.session, current_user, scope.organisation, settings)
        return _organisation_credit(scope)


@blp.route("/organisations/<int:organisation_id>/credit/preview")
class OrganisationCreditPreview(MethodView):
    decorators = [authenticated]

    @blp.arguments(CreditSettingsSchema)
    @blp.response(200, PreviewSchema(many=True))
    def post(self, settings: CreditSettings, organisation_id: int) -> Any:
        """What the public and donors would read in each language with these settings,
        once consent is given. Nothing is saved."""
        scope = _scope(organisation_id)
        require(current_user, "organisation_credit.edit", scope)
        return services.credit_preview(scope.organisation, settings)


@blp.route("/organisations/<int:organisation_id>/safety")
class OrganisationSafety(MethodView):
    decorators = [authenticated]

    @blp.arguments(SafetySchema)
    @blp.response(200, OrganisationCreditSchema)
    def put(self, request: SafetyFlag, organisation_id: int) -> Any:
        """Hide the organisation everywhere, in every fund, or lift the flag set on it
        (admins and managers of a fund it works with)."""
        scope = _scope(organisation_id)
        services.set_organisation_safety_flag(db.session, current_user, scope.organisation, request)
        return _organisation_credit(scope)


def _grant_credit(grant: Grant) -> dict[str, Any]:
    record = services.record_of(db.session, grant)
    return {
        "grant_id": grant.id,
        "reference": grant.reference,
        "consent_state": record.consent_state if record else "not_given",
        "consent_scope": record.consent_scope if record else None,
        "embargo_until": record.embargo_until if record else None,
        "published": services.is_published(db.session, grant, now_utc()),
        "own_settings": services.grant_override(db.session, grant) is not None,
        "settings": _settings(services.effective_settings(db.session, grant)),
        "protection": _protection(
            grant.organisation, can(current_user, "attribution.manage", grant)
        ),
    }


@blp.route("/grants/<int:grant_id>/credit")
class GrantCredit(MethodView):
    decorators = [authenticated]

    @blp.response(200, GrantCreditSchema)
    def get(self, grant_id: int) -> Any:
        """The grant's consent, the settings in force and whether it is published now."""
        return _grant_credit(_grant(grant_id))


@blp.route("/grants/<int:grant_id>/consent")
class GrantConsent(MethodView):
    decorators = [authenticated]

    @blp.arguments(ConsentSchema)
    @blp.response(200, GrantCreditSchema)
    def post(self, change: ConsentChange, grant_id: int) -> Any:
        """Give consent (named or anonymised, optionally with an embargo) or withdraw it
        (the partner's members only)."""
        grant = _grant(grant_id)
        services.change_consent(db.session, current_user, grant, change)
        return _grant_credit(grant)


@blp.route("/grants/<int:grant_id>/safety")
class GrantSafety(MethodView):
    decorators = [authenticated]

    @blp.arguments(SafetySchema)
    @blp.response(200, GrantCreditSchema)
    def put(self, request: SafetyFlag, grant_id: int) -> Any:
        """Hide the partner everywhere (every grant of the organisation, in every fund),
        or lift the flag set on this grant (the fund's managers)."""
        grant = _grant(grant_id)
        services.set_safety_flag(db.session, current_user, grant, request)
        return _grant_credit(grant)
