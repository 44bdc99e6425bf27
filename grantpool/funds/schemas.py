from __future__ import annotations

from typing import Any

from flask_login import current_user
from marshmallow import Schema, fields, post_dump, post_load, validate

from ..platform.web import LARGEST_INTEGER
from .commands import DonorDetails, FundDetails, donor_details, fund_details


class FundSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, load_default=None)
    base_currency = fields.String(required=True, validate=validate.Length(equal=3))
    timezone = fields.String(required=True)
    created_at = fields.AwareDateTime(dump_only=True)

    @post_load
    def _details(self, data: dict[str, Any], **_kwargs: Any) -> FundDetails:
        return fund_details(**data)


class DonorSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    donor_type = fields.String(required=True)
    country = fields.String(allow_none=True, load_default=None)
    org_id = fields.String(allow_none=True, load_default=None)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    fund_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=LARGEST_INTEGER)),
        load_default=None,
        metadata={
            "description": "The funds this donor gives to, of those the caller manages. "
            "Staff of other funds do not see the donor. Omitted: the caller's only fund."
        },
    )

    @post_load
    def _details(self, data: dict[str, Any], **_kwargs: Any) -> DonorDetails:
        return donor_details(**data)

    @post_dump(pass_original=True)
    def _readers_funds(self, data: dict[str, Any], donor: Any, **_kwargs: Any) -> dict[str, Any]:
        """A reader learns only of the funds they work in."""
        reach = current_user.staff_fund_ids() if current_user.is_authenticated else frozenset()
        data["fund_ids"] = sorted(f for f in donor.fund_ids if reach is None or f in reach)
        return data
