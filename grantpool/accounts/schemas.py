from __future__ import annotations

from typing import TYPE_CHECKING

from marshmallow import Schema, fields

if TYPE_CHECKING:
    from .models import User


class RoleSchema(Schema):
    role = fields.String()
    fund_id = fields.Integer(allow_none=True)
    donor_id = fields.Integer(allow_none=True)


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    locale = fields.String(allow_none=True)
    roles = fields.List(fields.Nested(RoleSchema))
    organisation_ids = fields.Method("_organisation_ids")

    def _organisation_ids(self, user: User) -> list[int]:
        return sorted(user.organisation_ids())
