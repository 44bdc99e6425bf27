"""The flask commands an operator runs."""

from __future__ import annotations

from sqlalchemy import select

from grantpool.accounts.models import User


def test_create_admin(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "grantpool",
            "create-admin",
            "--email",
            "Root@Example.org",
            "--name",
            "Root",
            "--password",
            "a long admin passphrase",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.email == "root@example.org"))
    assert user.is_admin


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(
        args=[
            "grantpool",
            "create-admin",
            "--email",
            "r@example.org",
            "--name",
            "R",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 1
    assert "12 characters" in result.output


def test_seed_demo_once_and_print_logins(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["grantpool", "seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.grantpool.localhost" in first.output
    again = runner.invoke(args=["grantpool", "seed-demo", "--if-empty"])
    assert "already has data" in again.output
    logins = runner.invoke(args=["grantpool", "demo-logins"]).output
    for role in (
        "admin",
        "fund_manager",
        "finance_officer",
        "reviewer",
        "community_panel",
        "donor_viewer",
        "applicant",
    ):
        assert role in logins
    from grantpool.organisations.models import Organisation

    organisations = session.scalars(select(Organisation)).all()
    assert len({o.country for o in organisations}) >= 3
    assert any(
        not o.registered and o.org_type in {"community_based", "informal_group"}
        for o in organisations
    )
    # The demo shows a protected organisation and an anonymised record with its own words
    # for anonymised publication, and the public outputs hold them.
    assert any(o.safety_flag for o in organisations)
    # Two funds: each fund's manager sees its own donors only.
    from grantpool.accounts.models import User
    from grantpool.funds.services import list_donors

    def donors_seen_by(email: str) -> set[str]:
        user = session.scalars(select(User).where(User.email == email)).one()
        return {d.name for d in list_donors(session, user)}

    first = donors_seen_by("manager2@demo.grantpool.localhost")
    coast = donors_seen_by("coast.manager@demo.grantpool.localhost")
    assert coast == {"Coast County Trust"} and "Coast County Trust" not in first and first
    client = app.test_client()
    published = "".join(
        client.get(url).get_data(as_text=True)
        for url in ("/published/", "/open-data/360giving.json", "/open-data/iati-activities.xml")
    )
    assert "Young women trained as tailors" in published
    assert "Gulu Refugee Youth Network" not in published and "Bouaké" not in published
    verify = runner.invoke(args=["grantpool", "audit-verify"])
    assert verify.exit_code == 0 and "intact" in verify.output
    ledger = runner.invoke(args=["grantpool", "ledger-check"])
    assert ledger.exit_code == 0, ledger.output


def test_settings_table(app):
    output = app.test_cli_runner().invoke(args=["grantpool", "settings"]).output
    assert "GRANTPOOL_DATABASE_URL" in output
