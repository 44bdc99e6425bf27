"""The attribution forms and API schemas read what was typed or sent into the same typed
commands; what cannot be read is named field by field."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from grantpool.attribution.commands import (
    ConsentChange,
    CreditSettings,
    RecordDetails,
    SafetyFlag,
    consent_change,
    credit_settings,
)
from grantpool.attribution.forms import (
    ConsentForm,
    RecordDetailsForm,
    SafetyForm,
    credit_settings_form,
)
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.attribution.schemas import ConsentSchema, CreditSettingsSchema, SafetySchema
from grantpool.platform.errors import ValidationFailed


def test_the_settings_form_and_the_api_give_the_same_command(app: Flask) -> None:
    typed = {
        "naming": "own_name",
        "location_precision": "area",
        "description_en": "  We dug wells. ",
        "description_fr": "",
        "anonymised_description_fr": "Des puits.",
        "description_xx": "not an interface language",
        "remove_logo": "y",
    }
    with app.test_request_context("/", method="POST", data=typed):
        from_form = credit_settings_form().command()
    from_api = CreditSettingsSchema().load(
        {
            "naming": "own_name",
            "location_precision": "area",
            "descriptions": {"en": "We dug wells.", "xx": "dropped"},
            "anonymised_descriptions": {"fr": "Des puits."},
        }
    )
    expected = CreditSettings(
        Naming.OWN_NAME,
        LocationPrecision.AREA,
        {"en": "We dug wells."},
        {"fr": "Des puits."},
    )
    assert from_api == expected
    assert from_form == CreditSettings(
        Naming.OWN_NAME, LocationPrecision.AREA, {"en": "We dug wells."}, {"fr": "Des puits."}, True
    )


def test_every_unreadable_setting_is_named(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValidationFailed) as failure:
        credit_settings(
            naming="shout",
            location_precision=["area"],
            descriptions={"fr": "x" * 4001},
            anonymised_descriptions={"en": "y" * 4001},
        )
    assert set(failure.value.errors) == {
        "naming",
        "location_precision",
        "description_fr",
        "anonymised_description_en",
    }


def test_consent_is_read_with_its_scope_and_embargo(app: Flask) -> None:
    with app.test_request_context(
        "/",
        method="POST",
        data={"state": "given", "scope": "anonymised", "embargo_until": "2027-01-31"},
    ):
        given = ConsentForm().command()
    assert given == ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED, dt.date(2027, 1, 31))
    assert (
        ConsentSchema().load(
            {"state": "given", "scope": "anonymised", "embargo_until": "2027-01-31"}
        )
        == given
    )
    # A withdrawal carries neither scope nor embargo, whatever was sent with it.
    assert ConsentSchema().load(
        {"state": "withdrawn", "scope": "named", "embargo_until": "2027-01-31", "note": " Risk "}
    ) == ConsentChange(ConsentState.WITHDRAWN, note="Risk")
    with app.app_context(), pytest.raises(ValidationFailed) as failure:
        consent_change(state="given", scope="loud", embargo_until="next spring")
    assert set(failure.value.errors) == {"scope", "embargo_until"}
    with app.app_context(), pytest.raises(ValidationFailed) as failure:
        consent_change(state="not_given")
    assert set(failure.value.errors) == {"state"}


def test_safety_and_record_details_are_read_trimmed(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data={"flag": "1", "reason": " Raid "}):
        assert SafetyForm().command() == SafetyFlag(True, "Raid")
    with app.test_request_context("/", method="POST", data={}):
        assert SafetyForm().command() == SafetyFlag(False, "")
    assert SafetySchema().load({"flag": True, "reason": " Raid "}) == SafetyFlag(True, "Raid")
    with app.test_request_context(
        "/", method="POST", data={"theme": " Water ", "capacity_provided": "  "}
    ):
        assert RecordDetailsForm().command() == RecordDetails("Water", False, None)
    with (
        app.test_request_context(
            "/", method="POST", data={"theme": "w" * 101, "capacity_provided": "c" * 4001}
        ),
        pytest.raises(ValidationFailed) as failure,
    ):
        RecordDetailsForm().command()
    assert set(failure.value.errors) == {"theme", "capacity_provided"}
