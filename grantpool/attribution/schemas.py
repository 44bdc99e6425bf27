"""The credit API's shapes: what a partner chooses, what the fund decides, and what each
audience would read."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from .commands import (
    TEXT_MAX,
    ConsentChange,
    CreditSettings,
    SafetyFlag,
    consent_change,
    credit_settings,
    safety_flag,
)
from .rules import ConsentScope, ConsentState, LocationPrecision, Naming

REASON_MAX = TEXT_MAX


class CreditSettingsSchema(Schema):
    naming = fields.String(required=True, validate=validate.OneOf([n.value for n in Naming]))
    location_precision = fields.String(
        required=True, validate=validate.OneOf([p.value for p in LocationPrecision])
    )
    # The partner's own words, per language code; published only when it is named.
    descriptions = fields.Dict(
        keys=fields.String(validate=validate.Length(min=2, max=16)),
        values=fields.String(validate=validate.Length(max=TEXT_MAX)),
        load_default=dict,
    )
    # Words written for anonymised publication; an anonymised record carries only these.
    anonymised_descriptions = fields.Dict(
        keys=fields.String(validate=validate.Length(min=2, max=16)),
        values=fields.String(validate=validate.Length(max=TEXT_MAX)),
        load_default=dict,
    )
    has_logo = fields.Boolean(dump_only=True)

    @post_load
    def _settings(self, data: dict[str, Any], **_kwargs: Any) -> CreditSettings:
        return credit_settings(**data)


class ProtectionSchema(Schema):
    hidden = fields.Boolean()
    # Where the flags are set and why: for the managers who may lift them only.
    on_organisation = fields.Boolean(allow_none=True)
    reason = fields.String(allow_none=True)
    flagged_grants = fields.List(fields.String(), allow_none=True)


class OrganisationCreditSchema(CreditSettingsSchema):
    organisation_id = fields.Integer(dump_only=True)
    protection = fields.Nested(ProtectionSchema, dump_only=True)


class PreviewSchema(Schema):
    language = fields.String()
    published = fields.Boolean()
    credited_as = fields.String(attribute="partner")
    place = fields.String()
    words = fields.String()
    logo = fields.Boolean()


class SafetySchema(Schema):
    flag = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=REASON_MAX))

    @post_load
    def _request(self, data: dict[str, Any], **_kwargs: Any) -> SafetyFlag:
        return safety_flag(**data)


class ConsentSchema(Schema):
    state = fields.String(
        required=True,
        validate=validate.OneOf([ConsentState.GIVEN.value, ConsentState.WITHDRAWN.value]),
    )
    scope = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in ConsentScope])
    )
    embargo_until = fields.Date(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=TEXT_MAX))

    @post_load
    def _change(self, data: dict[str, Any], **_kwargs: Any) -> ConsentChange:
        return consent_change(**data)


class GrantCreditSchema(Schema):
    grant_id = fields.Integer()
    reference = fields.String()
    consent_state = fields.String()
    consent_scope = fields.String(allow_none=True)
    embargo_until = fields.Date(allow_none=True)
    published = fields.Boolean()
    own_settings = fields.Boolean()
    settings = fields.Nested(CreditSettingsSchema)
    protection = fields.Nested(ProtectionSchema)
