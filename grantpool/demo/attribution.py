"""The demo's attribution records: one of each consent
choice (named, anonymised with words written for anonymised publication, embargoed,
withdrawn, not yet given) and an organisation protected by a safety flag, so the public
pages and open-data files have something to show."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import Role, User
from ..accounts.services import create_user
from ..attribution import services
from ..attribution.commands import consent_change, credit_settings, record_details, safety_flag
from ..funds.models import Fund
from ..grants import services as grants
from ..grants.models import Grant
from ..organisations.models import Organisation
from ..platform.money import Money
from ..platform.time import now_utc
from .grants import submitted_application
from .people import DEMO_PASSWORD, demo_email, demo_user


def _member(session: Session, admin: User | None, organisation: Organisation, name: str) -> User:
    """The organisation's member who signs in as `name`, made if there is none yet."""
    found = session.scalar(select(User).where(User.email == demo_email(name)))
    if found is not None:
        return found
    return create_user(
        session,
        admin,
        email=demo_email(name),
        name=f"{organisation.short_name or organisation.name} member",
        password=DEMO_PASSWORD,
        roles=[(Role.APPLICANT.value, None, None)],
        organisation_ids=[organisation.id],
    )


def seed_attribution(
    session: Session,
    manager: User,
    fund: Fund,
    organisations: list[Organisation],
    grant_list: list[Grant],
    now: dt.datetime | None = None,
) -> None:
    now = now or now_utc()
    kwsc, ajsb, gulu, sdrf = grant_list
    applicant, candidat = demo_user(session, "applicant"), demo_user(session, "candidat")
    gulu_member = _member(session, manager, organisations[2], "gulu")
    sdrf_member = _member(session, manager, organisations[4], "sdrf")
    mairie_member = _member(session, manager, organisations[3], "mairie")

    # Named, with its own words in two languages and the area shown.
    services.save_organisation_settings(
        session,
        applicant,
        organisations[0],
        credit_settings(
            naming="own_name",
            location_precision="area",
            descriptions={
                "en": "Savings groups that lend to women starting small businesses.",
                "fr": "Des groupes d'épargne qui prêtent aux femmes qui créent "
                "une petite entreprise.",
            },
        ),
    )
    services.save_fund_details(
        session,
        manager,
        kwsc,
        record_details(
            theme="food security",
            humanitarian=False,
            capacity_provided="Bookkeeping training and a mobile-money account.",
        ),
    )
    services.change_consent(session, applicant, kwsc, consent_change(state="given", scope="named"))

    # Anonymised: "a youth-led local organisation in Vallée du Bandama, Côte d'Ivoire".
    # Its own words name its town, so it wrote a version for anonymised publication.
    services.save_organisation_settings(
        session,
        candidat,
        organisations[1],
        credit_settings(
            naming="anonymised",
            location_precision="area",
            descriptions={"fr": "Notre association de jeunes de Bouaké forme des couturières."},
            anonymised_descriptions={
                "en": "Young women trained as tailors, with a sewing "
                "machine each to start working.",
                "fr": "Des jeunes femmes formées à la couture, chacune "
                "avec une machine pour commencer à travailler.",
            },
        ),
    )
    services.save_fund_details(
        session,
        manager,
        ajsb,
        record_details(theme="livelihoods", humanitarian=False, capacity_provided=None),
    )
    services.change_consent(
        session, candidat, ajsb, consent_change(state="given", scope="anonymised")
    )

    # Embargoed: consent given, held until after the elections.
    services.save_organisation_settings(
        session,
        sdrf_member,
        organisations[4],
        credit_settings(naming="own_name", location_precision="country"),
    )
    services.save_fund_details(
        session,
        manager,
        sdrf,
        record_details(theme="disability inclusion", humanitarian=True, capacity_provided=None),
    )
    services.change_consent(
        session,
        sdrf_member,
        sdrf,
        consent_change(
            state="given", scope="named", embargo_until=(now + dt.timedelta(days=90)).date()
        ),
    )

    # Withdrawn: given, then withdrawn; nothing is published.
    services.change_consent(
        session,
        gulu_member,
        gulu,
        consent_change(state="given", scope="named"),
        now=now - dt.timedelta(days=3),
    )
    services.change_consent(
        session, gulu_member, gulu, consent_change(state="withdrawn", note="Safety concerns.")
    )
    # The fund protects the organisation itself: none of its grants, in any fund, is
    # published until the flag is lifted, whatever its consent says.
    services.set_organisation_safety_flag(
        session,
        manager,
        organisations[2],
        safety_flag(flag=True, reason="Staff threatened after a radio interview."),
    )

    # Not yet given: a new grant to the municipality.
    mairie = grants.create_grant(
        session,
        manager,
        submitted_application(session, fund, organisations[3], now - dt.timedelta(days=2)),
        Money(300_000, fund.base_currency),
        risk_level="low",
        language="fr",
        now=now - dt.timedelta(days=1),
    )
    assert services.record_of(session, mairie) is None
    _ = mairie_member

    _seed_savings_network(session, manager, fund, now)


# Three more savings groups in Nairobi City: with the Kibera collective, enough grants in
# one country, area and theme for the dashboard to show those rows (cells of fewer than
# PUBLICATION_MIN_CELL grants are merged into "other or withheld").
SAVINGS_GROUPS = [
    ("Mathare Mothers Savings Group", "mathare"),
    ("Korogocho Youth Table Banking", "korogocho"),
    ("Dandora Women Traders Circle", "dandora"),
]


def _seed_savings_network(
    session: Session,
    manager: User,
    fund: Fund,
    now: dt.datetime,
) -> None:
    from ..organisations.commands import organisation_details
    from ..organisations.services import create_organisation

    for i, (name, slug) in enumerate(SAVINGS_GROUPS):
        organisation = create_organisation(
            session,
            manager,
            organisation_details(
                name=name,
                org_type="community_based",
                country="KE",
                area="KE-30",
                women_led=slug != "korogocho",
                youth_led=slug == "korogocho",
            ),
        )
        member = _member(session, manager, organisation, slug)
        grant = grants.create_grant(
            session,
            manager,
            submitted_application(session, fund, organisation, now - dt.timedelta(hours=3 + i)),
            Money(150_000 + 25_000 * i, fund.base_currency),
            risk_level="low",
            language="en",
            now=now - dt.timedelta(hours=1),
        )
        services.save_organisation_settings(
            session,
            member,
            organisation,
            credit_settings(naming="own_name", location_precision="area"),
        )
        services.save_fund_details(
            session,
            manager,
            grant,
            record_details(theme="food security", humanitarian=False, capacity_provided=None),
        )
        services.change_consent(
            session, member, grant, consent_change(state="given", scope="named")
        )
