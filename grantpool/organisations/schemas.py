from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from ..platform.money import MAX_AMOUNT_MINOR
from ..platform.web import LARGEST_INTEGER
from .commands import OrganisationDetails, organisation_details
from .rules import OrganisationType


class OrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    short_name = fields.String(allow_none=True, load_default=None)
    org_type = fields.String(
        required=True, validate=validate.OneOf([t.value for t in OrganisationType])
    )
    country = fields.String(required=True, validate=validate.Length(equal=2))
    area = fields.String(allow_none=True, load_default=None)
    locality = fields.String(allow_none=True, load_default=None)
    registered = fields.Boolean(load_default=False)
    registration_number = fields.String(allow_none=True, load_default=None)
    org_id = fields.String(allow_none=True, load_default=None)
    women_led = fields.Boolean(load_default=False)
    youth_led = fields.Boolean(load_default=False)
    refugee_migrant_led = fields.Boolean(load_default=False)
    disability_led = fields.Boolean(load_default=False)
    annual_budget_minor = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=MAX_AMOUNT_MINOR)
    )
    annual_budget_currency = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(equal=3)
    )
    contact_email = fields.String(allow_none=True, load_default=None, load_only=True)
    contact_phone = fields.String(allow_none=True, load_default=None, load_only=True)

    @post_load
    def _details(self, data: dict[str, Any], **_kwargs: Any) -> OrganisationDetails:
        return organisation_details(**data)


class OrganisationQuerySchema(Schema):
    country = fields.String(load_default=None)
    org_type = fields.String(load_default=None)
    q = fields.String(load_default=None)
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=LARGEST_INTEGER))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
