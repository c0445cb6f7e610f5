"""`fieldproof client ...`: talk to a server as a capturing device."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fieldproof.cli.common import data_dir_option, fail, main
from fieldproof.errors import FieldProofError


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
    from fieldproof.client.api import Client

    if not ctx.obj["token"]:
        click.echo("error: no token (set FIELDPROOF_TOKEN or pass --token)", err=True)
        sys.exit(2)
    return Client(ctx.obj["server"], ctx.obj["token"])


@client.command()
@click.option("--label", default="", help="a name for this device")
@click.pass_context
def enroll(ctx: click.Context, label: str) -> None:
    """Create the device key (mode 0600) if missing and enroll its public key."""
    from fieldproof.client.api import DeviceKeyFile

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

    from fieldproof.client.api import DeviceKeyFile
    from fieldproof.core.manifest import utc_text

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


@client.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(["audio", "video", "screen"]))
@click.option("--mime", default=None, help="override the detected MIME type")
@click.option("--chunk-bytes", default=64 * 1024, show_default=True, type=click.IntRange(1))
@click.option("--rate", type=click.FloatRange(min=1), default=None,
              help="pace at this many bytes/s, as a live recording would")
@click.option("--json", "as_json", is_flag=True, help="print the capture JSON")
@click.pass_context
def stream(ctx: click.Context, file: Path, kind: str, mime: str | None, chunk_bytes: int,
           rate: float | None, as_json: bool) -> None:
    """Stream FILE live, chunk by chunk; resumes by itself after disconnects."""
    from fieldproof.client.api import DeviceKeyFile, guess_mime
    from fieldproof.client.stream import StreamClient

    api = _client(ctx)
    try:
        key = DeviceKeyFile.load_or_create(ctx.obj["key"])
        sc = StreamClient(api, key)
        capture = sc.stream_file(file, kind=kind, mime=mime or guess_mime(file),
                                 chunk_bytes=chunk_bytes, rate=rate)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps(capture, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{capture['id']} {capture['status']} sha256={capture['media']['sha256']}")


@client.command()
@click.argument("capture_id")
@click.option("--json", "as_json", is_flag=True, help="print the receipt JSON")
@click.pass_context
def receipt(ctx: click.Context, capture_id: str, as_json: bool) -> None:
    """Fetch a capture's log receipt and verify it offline."""
    from fieldproof.client.audit import check_receipt

    api = _client(ctx)
    try:
        body = api.receipt(capture_id)
        info = api.log_info()
        report = check_receipt(body, info)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(f"capture {capture_id}: leaf {body['leaf_index']} of {body['tree_size']}")
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        sys.exit(1)


@client.command()
@click.argument("capture_id")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="the zip to write")
@click.pass_context
def export(ctx: click.Context, capture_id: str, output: Path) -> None:
    """Download a capture's evidence bundle (zip), verifiable offline."""
    api = _client(ctx)
    try:
        size = api.export(capture_id, output)
    except FieldProofError as err:
        fail(err)
        return
    click.echo(f"{output} ({size} bytes); check it with: fieldproof verify {output}")


