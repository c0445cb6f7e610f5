"""The `fieldproof` command: serve, admin, client."""

from __future__ import annotations

import json
import os
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
@click.option("--threads", default=256, show_default=True, type=int,
              help="worker threads; each open stream (WebSocket) holds one")
@click.option("--https", "use_https", is_flag=True,
              help="serve TLS (a self-signed certificate is made on first start)")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="your own certificate (PEM) for --https")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="its private key (PEM)")
@data_dir_option
def serve(host: str, port: int, threads: int, use_https: bool, cert: Path | None,
          key_file: Path | None, data_dir: Path | None) -> None:
    """Serve the API and the capture app (gunicorn, one process, threads)."""
    from gunicorn.app.base import BaseApplication

    from .services.container import Services
    from .web import create_app

    settings = settings_for(data_dir)
    os.umask(0o077)  # whatever else the server writes is private too
    # Migrate and create keys once, in the master, so a broken database or
    # data dir fails here loudly instead of in a worker boot loop.
    Services.build(settings).close()
    from .lan import lan_addresses, load_or_create_cert, qr_text

    lan = lan_addresses() if host in ("0.0.0.0", "::") else []  # noqa: S104
    if (cert is None) != (key_file is None):
        raise click.UsageError("--cert and --key go together")
    if use_https and cert is None:
        cert, key_file = load_or_create_cert(settings.data_dir / "keys" / "tls", lan)
    scheme = "https" if use_https else "http"

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            # gthread, with request heads and small bodies read in the event loop:
            # slow clients cannot take the threads (web/worker.py).
            self.cfg.set("worker_class", "fieldproof.web.worker.GuardedThreadWorker")
            self.cfg.set("threads", threads)
            self.cfg.set("worker_connections", max(1000, 8 * threads))
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            # gunicorn's control socket has one fixed path per user: two
            # servers on one machine would fight over it, and nothing uses it.
            self.cfg.set("control_socket_disable", True)
            if use_https:
                self.cfg.set("certfile", str(cert))
                self.cfg.set("keyfile", str(key_file))
            # Never log request headers: they carry bearer tokens.
            self.cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms')

        def load(self) -> Any:
            # Runs in the worker process, after the fork.
            services = Services.build(settings)
            services.start_background(sequencer=settings.sequencer == "thread")
            return create_app(services=services)

    click.echo(f"FieldProof serving {scheme}://{host}:{port}/ (data dir {settings.data_dir})",
               err=True)
    for addr in lan:
        url = f"{scheme}://{addr}:{port}/"
        click.echo(f"On a phone in the same network, open {url}", err=True)
        click.echo(qr_text(url), err=True)
    if lan and not use_https:
        click.echo("Camera and location need HTTPS on a LAN address: add --https.", err=True)
    _Server().run()


@main.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run the log sequencer as its own process (serve with FIELDPROOF_SEQUENCER=off)."""
    import signal

    from .services.container import Services

    services = Services.build(settings_for(data_dir))
    signal.signal(signal.SIGTERM, lambda *_: services.sequencer.stop(0))
    services.housekeeping.start()
    click.echo(f"sequencer running on {services.db.dialect}; log {services.log.origin}",
               err=True)
    try:
        services.sequencer.run()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


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
    from .client import DeviceKeyFile, guess_mime
    from .stream_client import StreamClient

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
    from .audit import check_receipt

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


@main.command()
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--log-key", "log_key", default=None,
              help="pin the log's verifier key (C2SP vkey text, or a file holding it)")
@click.option("--tsa-root", "tsa_roots", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pin a TSA root certificate (PEM); repeatable")
@click.option("--server-ca", "server_ca", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pin the root of the server's certificate-PDF signer (PEM)")
def verify(bundle: Path, as_json: bool, log_key: str | None, tsa_roots: tuple[Path, ...],
           server_ca: Path | None) -> None:
    """Verify an evidence bundle offline (no network, no database).

    Exit 0 if every check passes, 1 if any fails, 2 if BUNDLE is unusable.
    """
    import zipfile

    from .core.bundle import BundleUnusable, ZipBundle, verify_bundle

    pinned_key = None
    if log_key:
        pinned_key = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
    roots = [p.read_bytes() for p in tsa_roots]
    try:
        from cryptography import x509

        from .core.checkpoint import Verifier

        if pinned_key:
            Verifier.parse(pinned_key)
        for path, pem in zip(tsa_roots, roots, strict=True):
            try:
                x509.load_pem_x509_certificate(pem)
            except ValueError as exc:
                raise BundleUnusable(f"--tsa-root {path} is not a PEM certificate",
                                     code="tsa_root_invalid") from exc
        with zipfile.ZipFile(bundle) as zf:
            report = verify_bundle(ZipBundle(zf), log_vkey=pinned_key, tsa_roots=roots or None,
                                   server_ca=server_ca.read_bytes() if server_ca else None)
    except (OSError, zipfile.BadZipFile) as exc:
        click.echo(f"error: {bundle} is not a readable zip: {exc}", err=True)
        sys.exit(2)
    except BundleUnusable as err:
        click.echo(f"error: {err.detail} ({err.code})", err=True)
        sys.exit(2)
    except FieldProofError as err:  # a malformed pinned key, say
        click.echo(f"error: {err.detail} ({err.code})", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    sys.exit(0 if report.ok else 1)


@main.group("log")
def log_group() -> None:
    """The transparency log."""


@log_group.command()
@click.option("--server", envvar="FIELDPROOF_SERVER", default="http://127.0.0.1:8000",
              show_default=True)
@click.option("--log-key", "log_key", default=None,
              help="pin the log's verifier key (C2SP vkey text, or a file holding it)")
@click.option("--tsa-root", "tsa_roots", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="pin a TSA root certificate (PEM); repeatable")
@click.option("--inclusion-sample", default=1000, show_default=True,
              help="check inclusion proofs for this many leaves (all if fewer)")
def audit(server: str, log_key: str | None, tsa_roots: tuple[Path, ...],
          inclusion_sample: int) -> None:
    """Fetch the whole log and re-check every checkpoint, proof and timestamp."""
    from .audit import audit_log

    pinned_key = None
    if log_key:
        pinned_key = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
    roots = [p.read_bytes() for p in tsa_roots]
    try:
        report = audit_log(server, vkey=pinned_key, tsa_roots=roots or None,
                           inclusion_sample=inclusion_sample)
    except FieldProofError as err:
        fail(err)
        return
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
