from __future__ import annotations

from flask_babel import format_number
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates

from ..platform.i18n import offered_languages
from ..platform.money import MAX_AMOUNT_MINOR, is_currency
from ..platform.web import LARGEST_INTEGER


def _amount_in_range(value: int) -> None:
    if not 0 < value <= MAX_AMOUNT_MINOR:
        raise ValidationError(
            _(
                "Give a whole number of minor units between 1 and %(largest)s.",
                largest=format_number(MAX_AMOUNT_MINOR),
            )
        )


class ApplicationInSchema(Schema):
    organisation_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=LARGEST_INTEGER)
    )
    answers = fields.Dict(keys=fields.String(), required=True)
    requested_minor = fields.Integer(
        required=True,
        strict=True,
        validate=_amount_in_range,
        metadata={
            "description": "The amount asked for, in minor units of the call's currency "
            f"(1 to {MAX_AMOUNT_MINOR})."
        },
    )
    currency = fields.String(
        required=True,
        validate=validate.Predicate("isupper", error="Use an ISO 4217 code such as USD."),
    )

    @validates("currency")
    def _known_currency(self, value: str, **_kwargs: object) -> None:
        if not is_currency(value):
            raise ValidationError("Use an ISO 4217 code such as USD.")

    language = fields.String(load_default="en", validate=validate.Length(min=2, max=16))

    @validates("language")
    def _offered_language(self, value: str, **_kwargs: object) -> None:
        # Receipts, mails and pages are written in it: one of the languages offered.
        offered = offered_languages()
        if value not in offered:
            raise ValidationError(
                _(
                    "Use one of the languages offered here: %(languages)s.",
                    languages=", ".join(offered),
                )
            )


class ApplicationSchema(Schema):
    reference = fields.String()
    state = fields.String()
    call_id = fields.Integer()
    organisation_id = fields.Integer()
    requested_minor = fields.Integer()
    currency = fields.String()
    channel = fields.String()
    language = fields.String()
    answers = fields.Dict()
    submitted_at = fields.AwareDateTime(allow_none=True)


class UploadSchema(Schema):
    upload = fields.String(metadata={"description": 'Use as {"upload": …} in a file answer.'})
    size = fields.Integer()
    content_type = fields.String()
