"""`fieldproof admin ...`: administration on the server's machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldproof.cli.common import data_dir_option, fail, main, settings_for
from fieldproof.errors import FieldProofError


@main.group()
def admin() -> None:
    """Administration on the local database."""


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


