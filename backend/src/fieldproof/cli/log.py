"""`fieldproof log ...`: the transparency log, from outside."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldproof.cli.common import fail, main
from fieldproof.errors import FieldProofError


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
@click.option("--tiles", "tiles_url", default=None,
              help="the tiled log's URL prefix, e.g. a static copy (default: tiles_url "
                   "from GET /api/v1/trust)")
def audit(server: str, log_key: str | None, tsa_roots: tuple[Path, ...],
          inclusion_sample: int, tiles_url: str | None) -> None:
    """Fetch the whole log and re-check every checkpoint, proof, timestamp and tile."""
    from fieldproof.client.audit import audit_log

    pinned_key = None
    if log_key:
        pinned_key = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
    roots = [p.read_bytes() for p in tsa_roots]
    try:
        report = audit_log(server, vkey=pinned_key, tsa_roots=roots or None,
                           inclusion_sample=inclusion_sample, tiles_url=tiles_url)
    except FieldProofError as err:
        fail(err)
        return
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


