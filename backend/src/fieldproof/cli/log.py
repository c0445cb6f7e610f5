"""`fieldproof log ...`: the transparency log, from outside."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldproof.cli.common import (
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


@main.group("log")
def log_group() -> None:
    """The transparency log."""


@log_group.command()
@click.option("--server", envvar="FIELDPROOF_SERVER", default="http://127.0.0.1:8000",
              show_default=True)
@log_key_option
@tsa_root_option
@click.option("--inclusion-sample", default=1000, show_default=True,
              help="check inclusion proofs for this many leaves (all if fewer)")
@state_option
@click.option("--tiles", "tiles_url", default=None,
              help="the tiled log's URL prefix, e.g. a static copy (default: tiles_url "
                   "from GET /api/v1/trust)")
@witness_options
def audit(server: str, log_key: str | None, tsa_roots: tuple[Path, ...],
          inclusion_sample: int, state_dir: Path, no_state: bool,
          tiles_url: str | None, witnesses: tuple[str, ...],
          witnesses_required: int | None) -> None:
    """Fetch the whole log and re-check every checkpoint, proof, timestamp and tile."""
    from fieldproof.client.audit import audit_log

    try:
        pinned_key, roots = load_pins(log_key, tsa_roots)
        policy = load_witnesses(witnesses, witnesses_required)
    except FieldProofError as err:
        click.echo(f"error: {err.detail} ({err.code})", err=True)
        sys.exit(2)
    try:
        report = audit_log(server, vkey=pinned_key, tsa_roots=roots,
                           inclusion_sample=inclusion_sample,
                           state_dir=None if no_state else state_dir.expanduser(),
                           tiles_url=tiles_url, witnesses=policy)
    except FieldProofError as err:
        fail(err)
        return
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


