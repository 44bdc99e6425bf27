from __future__ import annotations

from marshmallow import Schema, fields, validate


class FundSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, load_default=None)
    base_currency = fields.String(required=True, validate=validate.Length(equal=3))
    timezone = fields.String(required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class DonorSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    donor_type = fields.String(required=True)
    country = fields.String(allow_none=True, load_default=None)
    org_id = fields.String(allow_none=True, load_default=None)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
