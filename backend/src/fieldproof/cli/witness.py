"""`fieldproof witness ...`: run a C2SP tlog-witness for one or more logs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from fieldproof.cli.common import fail, main
from fieldproof.errors import FieldProofError


@main.group("witness")
def witness_group() -> None:
    """A witness: cosigns a log's checkpoints only if they extend what it saw."""


@witness_group.command("init")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the private key (mode 0600; never overwritten)")
@click.option("--name", required=True, help="the witness's name, e.g. witness.example.org/w1")
def init(key_file: Path, name: str) -> None:
    """Make a witness key; the last line printed is its vkey, for logs and verifiers."""
    from fieldproof.core.cosignature import Cosigner
    from fieldproof.storage.keyfiles import create_once

    if key_file.exists():
        raise click.UsageError(f"{key_file} exists; a witness key is never overwritten")
    try:
        cosigner = Cosigner.generate(name)
    except FieldProofError as exc:
        fail(exc)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    create_once(key_file, lambda: (cosigner.skey() + "\n").encode(), 0o600)
    click.echo(f"witness key written to {key_file} (keep it private)", err=True)
    click.echo(cosigner.key.vkey())


@witness_group.command("serve")
@click.option("--key", "key_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log", "logs", multiple=True, required=True,
              help="a log's vkey (its key name is the log's origin); repeatable")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8010, show_default=True, type=int)
@click.option("--data-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the latest cosigned checkpoint of each log is kept")
def serve(key_file: Path, logs: tuple[str, ...], host: str, port: int, data_dir: Path) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness)."""
    from gunicorn.app.base import BaseApplication

    from fieldproof.cli.serve import log_to_stderr
    from fieldproof.core.checkpoint import Verifier
    from fieldproof.core.cosignature import Cosigner
    from fieldproof.witness.app import create_witness_app
    from fieldproof.witness.state import WitnessState

    os.umask(0o077)
    log_to_stderr()
    try:
        cosigner = Cosigner.from_skey(key_file.read_text())
        verifiers = [Verifier.parse(v) for v in logs]
        state = WitnessState(data_dir, cosigner, verifiers)
    except FieldProofError as exc:
        fail(exc)

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return create_witness_app(state)

    click.echo(f"FieldProof witness {cosigner.key.name} on http://{host}:{port}/ "
               f"(data dir {data_dir}, {len(verifiers)} log(s))", err=True)
    click.echo(f"vkey {cosigner.key.vkey()}", err=True)
    _Server().run()
