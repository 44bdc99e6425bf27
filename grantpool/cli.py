"""flask commands: `flask --app wsgi db …` and `flask --app wsgi grantpool …`."""

from __future__ import annotations

import sys

import click
from alembic import command
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db
from .platform import migrations

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
grantpool_cli = AppGroup("grantpool", help="grantpool operations.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrations.upgrade(current_app.config["DATABASE_URL"], revision=revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' empties the database)."""
    migrations.downgrade(current_app.config["DATABASE_URL"], revision=revision)


@db_cli.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    migrations.check(current_app.config["DATABASE_URL"])
    click.echo("models and migrations agree")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration from the difference between models and database."""
    command.revision(
        migrations.alembic_config(current_app.config["DATABASE_URL"]),
        message=message,
        autogenerate=autogenerate,
    )


@grantpool_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator account."""
    from .accounts.models import Role
    from .accounts.services import create_user
    from .platform.errors import ValidationFailed

    try:
        create_user(
            db.session,
            None,
            email=email,
            name=name,
            password=password,
            roles=[(Role.ADMIN.value, None, None)],
        )
    except ValidationFailed as failure:
        for field, messages in failure.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        db.session.rollback()
        sys.exit(1)
    db.session.commit()
    click.echo(f"administrator {email} created")


@grantpool_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
@click.option("--quiet", is_flag=True, help="Do not print the sign-ins.")
def seed_demo(if_empty: bool, quiet: bool) -> None:
    """Load demonstration data and print the demo sign-ins."""
    from .demo import DEMO_PASSWORD, database_is_empty, seed

    if if_empty and not database_is_empty(db.session):
        click.echo("database already has data; demo data not loaded")
        return
    if current_app.config["ENV"] == "production":
        click.echo("refusing to load demo data (published passwords) in production", err=True)
        sys.exit(1)
    logins = seed(db.session)
    db.session.commit()
    click.echo("demo data loaded")
    if quiet:
        return
    click.echo("Sign in at http://127.0.0.1:5000/login with:")
    for role, email in logins:
        click.echo(f"  {role:<22} {email:<34} password: {DEMO_PASSWORD}")


@grantpool_cli.command("demo-logins")
def demo_logins() -> None:
    """Print the demo sign-ins (when demo data is loaded)."""
    from .demo import DEMO_PASSWORD
    from .demo import demo_logins as logins

    rows = logins(db.session)
    if not rows:
        click.echo("no demo users in this database")
        return
    click.echo("Demo sign-ins (http://127.0.0.1:5000/login):")
    for role, email in rows:
        click.echo(f"  {role:<22} {email:<34} password: {DEMO_PASSWORD}")


@grantpool_cli.command("audit-verify")
def audit_verify() -> None:
    """Check the audit trail's hash chain; exit 1 and list the breaks if any."""
    from .platform.audit import verify_chain

    problems = list(verify_chain(db.session))
    if problems:
        for problem in problems:
            click.echo(f"audit event {problem.event_id}: {problem.reason}", err=True)
        sys.exit(1)
    click.echo("audit trail intact")


@grantpool_cli.command("ledger-check")
def ledger_check() -> None:
    """Recompute balances from ledger entries; exit 1 and list mismatches and unbalanced
    transactions if any."""
    from .ledger.services import check_ledger

    problems = list(check_ledger(db.session))
    if problems:
        for problem in problems:
            click.echo(f"{problem.kind}: {problem.subject}: {problem.detail}", err=True)
        sys.exit(1)
    click.echo("ledger consistent")


@grantpool_cli.command("dashboard-rebuild")
def dashboard_rebuild() -> None:
    """Recompute every fund's dashboard summary figures from the grants and the ledger
    (after restoring data written without the application, e.g. bulk imports)."""
    from sqlalchemy import select

    from .dashboard.totals import rebuild_totals
    from .funds.models import Fund

    for fund in db.session.scalars(select(Fund).order_by(Fund.id)):
        rebuild_totals(db.session, fund)
    db.session.commit()
    click.echo("dashboard figures rebuilt")


@grantpool_cli.command("dashboard-check")
def dashboard_check() -> None:
    """Compare the kept dashboard figures with the source rows; exit 1 on a difference."""
    from sqlalchemy import select

    from .dashboard.totals import check_totals
    from .funds.models import Fund

    problems = [
        p for fund in db.session.scalars(select(Fund)) for p in check_totals(db.session, fund)
    ]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo("dashboard figures consistent")


@grantpool_cli.command("send-mail")
@click.option("--limit", default=100, show_default=True)
def send_mail(limit: int) -> None:
    """Send due messages from the outbox (safe to run from cron or a loop). Messages left
    'sending' for MAIL_SENDING_TIMEOUT minutes by a stopped sender are sent again."""
    from .platform.mail import send_pending

    sent, failed = send_pending(db.session, limit=limit)
    click.echo(f"sent {sent}, failed {failed}")


@grantpool_cli.command("purge-uploads")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10000))
def purge_uploads(batch_size: int) -> None:
    """Delete files never attached to an application or report within
    UPLOAD_RETENTION_HOURS, from storage and the database (safe to run from cron)."""
    from .platform.storage import get_storage
    from .platform.uploads import UploadLimits, purge_batch, purge_cutoff

    # One cutoff for the whole run, so that it ends however many files arrive meanwhile.
    cutoff = purge_cutoff(UploadLimits.from_config(current_app.config))
    storage = get_storage()
    removed = removed_bytes = 0
    while True:
        batch = purge_batch(db.session, storage, before=cutoff, limit=batch_size)
        db.session.commit()
        removed += batch.count
        removed_bytes += batch.bytes
        if batch.count < batch_size:
            break
    click.echo(
        f"removed {removed} uploads ({removed_bytes} bytes) never attached and stored "
        f"before {cutoff:%Y-%m-%d %H:%M} UTC"
    )


@grantpool_cli.command("settings")
def settings() -> None:
    """Print the settings table (the README's configuration section)."""
    from config.settings import settings_table

    click.echo(settings_table())


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(grantpool_cli)
