"""The `fieldproof` command group and what its subcommands share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fieldproof.config import Settings
from fieldproof.errors import FieldProofError

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
    """Print the error and exit: 1 for a refusal, 2 when the command could not run."""
    click.echo(f"error: {err.detail} ({err.code})", err=True)
    sys.exit(getattr(err, "exit_status", 1))


@click.group()
@click.version_option(package_name="fieldproof")
def main() -> None:
    """FieldProof: capture evidence that holds up in court."""


