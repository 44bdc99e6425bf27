"""The credit API's shapes: what a partner chooses, what the fund decides, and what each
audience would read."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from .rules import ConsentScope, ConsentState, LocationPrecision, Naming

TEXT_MAX = 4000
REASON_MAX = 4000


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


def as_form(data: dict[str, Any]) -> dict[str, Any]:
    """The API's shape as the settings service reads a form: description_<lang> fields."""
    form: dict[str, Any] = {
        "naming": data["naming"],
        "location_precision": data["location_precision"],
    }
    for language, text in (data.get("descriptions") or {}).items():
        form[f"description_{language}"] = text
    for language, text in (data.get("anonymised_descriptions") or {}).items():
        form[f"anonymised_description_{language}"] = text
    return form
