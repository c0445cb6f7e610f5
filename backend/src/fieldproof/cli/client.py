"""`fieldproof client ...`: talk to a server as a capturing device."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fieldproof.cli.common import (
    data_dir_option,
    fail,
    load_pins,
    load_witnesses,
    log_key_option,
    main,
    state_option,
    tsa_root_option,
    witness_options,
)
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
@click.argument("url")
@click.option("--mode", type=click.Choice(["page", "video", "live"]), default="page",
              show_default=True, help="scroll a page, play its video, or record a live stream")
@click.option("--duration", type=click.IntRange(1), default=None,
              help="seconds to record (page and video; live without --start-at)")
@click.option("--start-at", default=None, help="live: when to start (RFC 3339, e.g. "
              "2026-12-03T20:00:00Z)")
@click.option("--end-at", default=None, help="live: when to stop (RFC 3339)")
@click.option("--title", default="", help="what this is, for the owner")
@click.option("--applicant", default="", help="who applies for the capture (申请人)")
@click.option("--confirm", is_flag=True, help="confirm the result as soon as it is recorded")
@click.option("--timeout", type=click.FloatRange(1), default=7200.0, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="print the capture (GET /captures/{id}) with its web_capture task")
@click.pass_context
def web(ctx: click.Context, url: str, mode: str, duration: int | None, start_at: str | None,
        end_at: str | None, title: str, applicant: str, confirm: bool, timeout: float,
        as_json: bool) -> None:
    """Have the server record URL in a clean browser, wait, and print the capture."""
    body: dict[str, Any] = {"url": url, "mode": mode, "title": title, "applicant": applicant}
    if duration is not None:
        body["duration_s"] = duration
    if start_at or end_at:
        body.update(start_at=start_at, end_at=end_at)
    if duration is None and not start_at:
        raise click.UsageError("give --duration, or --start-at and --end-at for a live stream")
    api = _client(ctx)
    try:
        task = api.web_capture(body, confirm=confirm, timeout=timeout,
                               progress=lambda t: click.echo(f"{t['id']} {t['status']}",
                                                             err=True))
        capture = api.capture(task["capture_id"])
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps({**capture, "web_capture": task}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{capture['id']} {capture['status']} {task['status']} "
               f"sha256={capture['media']['sha256']}")


@client.command()
@click.argument("capture_id")
@click.option("--language", default=None, help="e.g. zh or en (default: detected)")
@click.option("--show", is_flag=True, help="do not start a job: show the latest version")
@click.option("--pdf", "pdf", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also save the signed 文字稿 PDF here")
@click.option("--timeout", type=click.FloatRange(1), default=3600.0, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="print GET /captures/{id}/transcript as JSON")
@click.pass_context
def transcript(ctx: click.Context, capture_id: str, language: str | None, show: bool,
               pdf: Path | None, timeout: float, as_json: bool) -> None:
    """Make a machine transcript of a recording (a draft), wait, and print it with
    a time code per segment; or, with --show, print the latest version."""
    api = _client(ctx)
    try:
        state = api.get_json(f"/captures/{capture_id}/transcript") if show else \
            api.transcribe(capture_id, language=language, timeout=timeout,
                           progress=lambda j: click.echo(f"{j['id']} {j['state']}", err=True))
        if pdf is not None:
            api.download(f"/captures/{capture_id}/transcript.pdf", pdf)
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps(state, ensure_ascii=False, indent=2))
        return
    latest = state.get("latest")
    if latest is None:
        click.echo("no transcript yet")
        return
    doc = json.loads(latest["document"])
    click.echo(f"version {latest['version']} ({latest['origin']}) sha256={latest['sha256']}")
    for seg in doc["segments"]:
        who = f" {seg['speaker']}:" if seg.get("speaker") else ""
        click.echo(f"[{_clock(seg['start_ms'])}–{_clock(seg['end_ms'])}]{who} {seg['text']}")
    for kp in doc["key_points"]:
        click.echo(f"重点 / key point [{_clock(kp['start_ms'])}–{_clock(kp['end_ms'])}] "
                   f"{kp['label']}")


def _clock(ms: int) -> str:
    from fieldproof.evidence.transcript_pdf import clock

    return clock(ms)


@client.command()
@click.argument("capture_id", required=False)
@click.option("--sha256", "sha256", default=None,
              help="the media (or manifest) SHA-256 the entry must hold; without a token, "
                   "looked up publicly")
@click.option("--file", "file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="as --sha256, hashing this file")
@log_key_option
@tsa_root_option
@state_option
@witness_options
@click.option("--json", "as_json", is_flag=True, help="print the receipt JSON")
@click.pass_context
def receipt(ctx: click.Context, capture_id: str | None, sha256: str | None, file: Path | None,
            log_key: str | None, tsa_roots: tuple[Path, ...], state_dir: Path, no_state: bool,
            witnesses: tuple[str, ...], witnesses_required: int | None,
            as_json: bool) -> None:
    """Fetch a capture's log receipt and verify it offline.

    With a token, CAPTURE_ID's receipt (owner only) is checked against the
    capture's own hashes. Without one, give --sha256 or --file: the hash is
    looked up publicly and each logged capture holding it is checked from the
    public log endpoints alone (no account).
    """
    import re

    from fieldproof.client.api import Client, ClientError
    from fieldproof.client.audit import Expected, check_receipt, public_receipts
    from fieldproof.core.files import file_sha256

    if file is not None:
        sha256 = file_sha256(file)[0]
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise click.UsageError("--sha256 takes 64 hex digits")
    try:
        pinned_key, roots = load_pins(log_key, tsa_roots)
        policy = load_witnesses(witnesses, witnesses_required)
    except FieldProofError as err:
        click.echo(f"error: {err.detail} ({err.code})", err=True)
        sys.exit(2)
    token = ctx.obj["token"]
    if not (token and capture_id) and sha256 is None:
        raise click.UsageError("give CAPTURE_ID with a token, or --sha256/--file (no account "
                               "needed)")
    api = Client(ctx.obj["server"], token if capture_id else None)
    try:
        info = api.log_info()
        if token and capture_id:
            cap = api.capture(capture_id)
            bodies = [api.receipt(capture_id)]
            expected = Expected(capture_id=capture_id, media_sha256=cap["media"]["sha256"],
                                manifest_sha256=cap["manifest_hash"], sha256=sha256)
        else:
            assert sha256 is not None
            bodies = public_receipts(api, sha256)
            expected = Expected(sha256=sha256)
            if not bodies:
                raise ClientError(f"no anchored capture holds SHA-256 {sha256.lower()}",
                                  code="not_found")
        reports = [check_receipt(b, info, expected=expected, vkey=pinned_key, tsa_roots=roots,
                                 witnesses=policy) for b in bodies]
        if not no_state:  # every client is a witness: the receipt's and the newest
            from fieldproof.client.witness import consistency_fetcher, witness_notes
            notes = [b["checkpoint"].encode() for b in bodies]
            witness_notes(state_dir.expanduser(), pinned_key or info["vkey"],
                          consistency_fetcher(api.get_json),
                          [*notes, api.get_text("/log/checkpoint").encode()], reports[0])
    except FieldProofError as err:
        fail(err)
        return
    if as_json:
        click.echo(json.dumps(bodies[0] if capture_id else bodies, ensure_ascii=False, indent=2))
    else:
        for body, report in zip(bodies, reports, strict=True):
            who = f"capture {body['capture_id']}" if body.get("capture_id") else \
                f"SHA-256 {(sha256 or '').lower()}"
            click.echo(f"{who}: leaf {body['leaf_index']} of {body['tree_size']}")
            for line in report.lines():
                click.echo(line)
    if not all(r.ok for r in reports):
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


