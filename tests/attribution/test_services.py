"""Attribution operations on a real database: what the credit API says is published is
what publication publishes."""

from __future__ import annotations

import datetime as dt
import inspect
import types
import typing
from collections.abc import Mapping

from sqlalchemy.orm import Session

from grantpool.attribution import services
from grantpool.attribution.commands import (
    ConsentChange,
    CreditSettings,
    RecordDetails,
    SafetyFlag,
)
from grantpool.attribution.rules import ConsentScope, ConsentState, LocationPrecision, Naming
from grantpool.publishing.queries import public_record
from tests.grants.helpers import make_grant
from tests.publishing.helpers import NOW, published_grant


def test_is_published_agrees_with_what_publication_publishes(session: Session) -> None:
    p = published_grant(session, organisation={"name": "Agreeing Collective"})
    sibling = make_grant(session, p.world, 500_000)
    partner, manager = p.partner, p.world.manager

    def published() -> bool:
        session.flush()
        session.expire_all()
        expected = public_record(session, p.grant.id, NOW) is not None
        assert services.is_published(session, p.grant, NOW) is expected
        return expected

    assert not published()  # consent not given
    services.change_consent(
        session, partner, p.grant, ConsentChange(ConsentState.GIVEN, ConsentScope.NAMED)
    )
    assert published()
    services.save_grant_settings(
        session, partner, p.grant, CreditSettings(Naming.NOT_PUBLISHED, LocationPrecision.AREA)
    )
    assert not published()
    services.remove_grant_settings(session, partner, p.grant)
    assert published()

    # An embargo ends at midnight in the fund's time zone (UTC+14 is a day ahead at noon UTC).
    tomorrow = NOW.date() + dt.timedelta(days=1)
    services.change_consent(
        session,
        partner,
        p.grant,
        ConsentChange(ConsentState.GIVEN, ConsentScope.ANONYMISED, embargo_until=tomorrow),
    )
    assert not published()
    p.world.fund.timezone = "Pacific/Kiritimati"
    assert published()

    # A flag on another grant of the organisation, or on the organisation, hides it too.
    services.set_safety_flag(session, manager, sibling, SafetyFlag(True, "Threats"))
    assert not published()
    services.set_safety_flag(session, manager, sibling, SafetyFlag(False))
    assert published()
    services.set_organisation_safety_flag(session, manager, p.organisation, SafetyFlag(True, "X"))
    assert not published()
    services.set_organisation_safety_flag(session, manager, p.organisation, SafetyFlag(False))
    assert published()

    services.change_consent(session, partner, p.grant, ConsentChange(ConsentState.WITHDRAWN))
    assert not published()


def test_the_services_take_typed_commands_and_no_raw_input() -> None:
    """What a partner or a fund asks for reaches the services only as its command: no
    mapping, bare string or bool that the service would have to read."""
    commands = {
        "save_organisation_settings": ("settings", CreditSettings),
        "save_grant_settings": ("settings", CreditSettings),
        "credit_preview": ("settings", CreditSettings),
        "change_consent": ("change", ConsentChange),
        "set_safety_flag": ("flag", SafetyFlag),
        "set_organisation_safety_flag": ("flag", SafetyFlag),
        "save_fund_details": ("details", RecordDetails),
    }
    for name, (parameter, command) in commands.items():
        hints = typing.get_type_hints(getattr(services, name))
        assert hints[parameter] is command, (name, hints[parameter])
        assert set(inspect.signature(getattr(services, name)).parameters) <= {
            "session",
            "actor",
            "organisation",
            "grant",
            parameter,
            "logo",
            "now",
        }, name
    public = [
        function
        for name, function in inspect.getmembers(services, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == services.__name__
    ]
    for function in public:
        hints = typing.get_type_hints(function)
        hints.pop("return", None)
        for parameter, hint in hints.items():
            union = typing.get_origin(hint) in (typing.Union, types.UnionType)
            for part in typing.get_args(hint) if union else (hint,):
                origin = typing.get_origin(part) or part
                assert not (isinstance(origin, type) and issubclass(origin, Mapping)), (
                    function.__name__,
                    parameter,
                )
