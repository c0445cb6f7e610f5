"""The `fieldproof` command: serve, admin, client."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .config import Settings
from .errors import FieldProofError

DATA_DIR_HELP = "data directory (SQLite, object store, keys); env FIELDPROOF_DATA_DIR"


def data_dir_option(fn: Any) -> Any:
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="FIELDPROOF_DATA_DIR", default=None, help=DATA_DIR_HELP)(fn)


def settings_for(data_dir: Path | None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings.from_env(**overrides)


def fail(err: FieldProofError) -> None:
    click.echo(f"error: {err.detail} ({err.code})", err=True)
    sys.exit(2 if err.status in (2,) else 1)


@click.group()
@click.version_option(package_name="fieldproof")
def main() -> None:
    """FieldProof: capture evidence that holds up in court."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=32, show_default=True, type=int)
@data_dir_option
def serve(host: str, port: int, threads: int, data_dir: Path | None) -> None:
    """Serve the API (gunicorn, one process, threads)."""
    from gunicorn.app.base import BaseApplication

    from .web import create_app

    settings = settings_for(data_dir)
    app = create_app(settings)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            # Never log request headers: they carry bearer tokens.
            self.cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms')

        def load(self) -> Any:
            return app

    click.echo(f"FieldProof serving http://{host}:{port}/ (data dir {settings.data_dir})",
               err=True)
    _Server().run()


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
    from .services.container import Services

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


@main.group()
@click.option("--server", envvar="FIELDPROOF_SERVER", default="http://127.0.0.1:8000",
              show_default=True)
@click.option("--token", envvar="FIELDPROOF_TOKEN", default=None, help="API token")
@click.option("--key", "key_path", envvar="FIELDPROOF_KEY", default="fieldproof-device.pem",
              type=click.Path(dir_okay=False, path_type=Path), show_default=True,
              help="PEM P-256 private key of this device")
@data_dir_option
@click.pass_context
def client(ctx: click.Context, server: str, token: str | None, key_path: Path,
           data_dir: Path | None) -> None:
    """Talk to a FieldProof server as a capturing device."""
    ctx.obj = {"server": server, "token": token, "key": key_path}


def _client(ctx: click.Context) -> Any:
    from .client import Client

    if not ctx.obj["token"]:
        click.echo("error: no token (set FIELDPROOF_TOKEN or pass --token)", err=True)
        sys.exit(2)
    return Client(ctx.obj["server"], ctx.obj["token"])


@client.command()
@click.option("--label", default="", help="a name for this device")
@click.pass_context
def enroll(ctx: click.Context, label: str) -> None:
    """Create the device key (mode 0600) if missing and enroll its public key."""
    from .client import DeviceKeyFile

    api = _client(ctx)
    try:
        key = DeviceKeyFile.load_or_create(ctx.obj["key"], create=True)
        device = api.enroll(key, label)
        click.echo(device["key_id"])
    except FieldProofError as err:
        fail(err)


@client.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True,
              type=click.Choice(["photo", "audio", "video", "screen", "import"]))
@click.option("--lat", type=click.FloatRange(-90, 90))
@click.option("--lon", type=click.FloatRange(-180, 180))
@click.option("--accuracy", type=click.FloatRange(0), help="metres")
@click.option("--mime", default=None, help="override the detected MIME type")
@click.option("--json", "as_json", is_flag=True, help="print GET /captures/{id} as JSON")
@click.pass_context
def capture(ctx: click.Context, file: Path, kind: str, lat: float | None, lon: float | None,
            accuracy: float | None, mime: str | None, as_json: bool) -> None:
    """Sign FILE as a capture and upload it."""
    from datetime import UTC, datetime

    from .client import DeviceKeyFile
    from .core.manifest import utc_text

    if (lat is None) != (lon is None):
        raise click.UsageError("--lat and --lon go together")
    geo = None
    if lat is not None:
        geo = {"lat": lat, "lon": lon, "accuracy": accuracy if accuracy is not None else 0,
               "fixed_at": utc_text(datetime.now(UTC))}
    api = _client(ctx)
    try:
        key = DeviceKeyFile.load_or_create(ctx.obj["key"])
        result = api.capture_file(key, file, kind=kind, geo=geo, mime=mime)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    flagged = [c for c in result["checks"] if not c["ok"]]
    click.echo(f"{result['id']} {result['status']} sha256={result['media']['sha256']}")
    for c in flagged:
        click.echo(f"  flagged {c['name']}: {c['detail']}")


if __name__ == "__main__":  # pragma: no cover
    main()
