"""The `fieldproof` command group and what its subcommands share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fieldproof.config import Settings
from fieldproof.errors import FieldProofError

if TYPE_CHECKING:
    from fieldproof.core.cosignature import WitnessPolicy

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




def log_key_option(fn: Any) -> Any:
    return click.option("--log-key", "log_key", default=None,
                        help="pin the log's verifier key (C2SP vkey text, or a file holding "
                             "it)")(fn)


def tsa_root_option(fn: Any) -> Any:
    return click.option("--tsa-root", "tsa_roots", multiple=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="pin a TSA root certificate (PEM); repeatable")(fn)


def state_option(fn: Any) -> Any:
    return click.option(
        "--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="FIELDPROOF_STATE", default=Path("~/.fieldproof/state"), show_default=True,
        help="keep the newest checkpoint seen per log here and check every new one is "
             "consistent with it (a fork fails, both notes are saved); env "
             "FIELDPROOF_STATE")(click.option(
        "--no-state", is_flag=True, help="remember nothing: check this answer alone")(fn))


def witness_options(fn: Any) -> Any:
    fn = click.option("--witness", "witnesses", multiple=True,
                      help="pin a witness's cosigning key (C2SP vkey text, or a file holding "
                           "it); repeatable")(fn)
    return click.option("--witnesses-required", "witnesses_required", type=int, default=None,
                        help="how many pinned witnesses must have cosigned (default: all "
                             "of them)")(fn)


def load_witnesses(witnesses: tuple[str, ...],
                   required: int | None) -> WitnessPolicy | None:
    """The pinned witnesses as a policy (None if none is pinned). Raises VkeyInvalid."""
    from fieldproof.core.cosignature import WitnessPolicy
    from fieldproof.errors import VkeyInvalid

    if not witnesses:
        if required:
            raise VkeyInvalid("--witnesses-required needs --witness")
        return None
    vkeys = [Path(w).read_text().strip() if Path(w).is_file() else w for w in witnesses]
    return WitnessPolicy.of(vkeys, required)


def load_pins(log_key: str | None, tsa_roots: tuple[Path, ...]) -> tuple[str | None,
                                                                          list[bytes] | None]:
    """The pinned log key (vkey text) and TSA roots (PEM), checked to parse.

    Raises :class:`VkeyInvalid` or :class:`TsaRootInvalid`: the command cannot run.
    """
    from cryptography import x509

    from fieldproof.core.checkpoint import Verifier
    from fieldproof.errors import TsaRootInvalid

    pinned = None
    if log_key:
        pinned = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
        Verifier.parse(pinned)
    roots = []
    for path in tsa_roots:
        pem = path.read_bytes()
        try:
            x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise TsaRootInvalid(f"--tsa-root {path} is not a PEM certificate") from exc
        roots.append(pem)
    return pinned, roots or None
