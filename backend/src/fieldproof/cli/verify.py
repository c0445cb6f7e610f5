"""`fieldproof verify`: check an evidence bundle offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from fieldproof.cli.common import load_witnesses, main, witness_options
from fieldproof.errors import FieldProofError, TsaRootInvalid


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
@witness_options
def verify(bundle: Path, as_json: bool, log_key: str | None, tsa_roots: tuple[Path, ...],
           server_ca: Path | None, witnesses: tuple[str, ...],
           witnesses_required: int | None) -> None:
    """Verify an evidence bundle, or a case export, offline (no network, no database).

    A case export (it holds case.json) is checked item by item, each as a bundle,
    with the evidence list's signature. Exit 0 if every check passes, 1 if any
    fails, 2 if BUNDLE is unusable.
    """
    import zipfile

    from fieldproof.bundle.case import CaseReport, is_case_export, verify_case
    from fieldproof.bundle.read import ZipBundle
    from fieldproof.bundle.verify import verify_bundle
    from fieldproof.core.report import Report
    from fieldproof.errors import BundleUnusable
    pinned_key = None
    if log_key:
        pinned_key = Path(log_key).read_text().strip() if Path(log_key).is_file() else log_key
    roots = [p.read_bytes() for p in tsa_roots]
    try:
        from cryptography import x509

        from fieldproof.core.checkpoint import Verifier

        if pinned_key:
            Verifier.parse(pinned_key)
        policy = load_witnesses(witnesses, witnesses_required)
        for path, pem in zip(tsa_roots, roots, strict=True):
            try:
                x509.load_pem_x509_certificate(pem)
            except ValueError as exc:
                raise TsaRootInvalid(f"--tsa-root {path} is not a PEM certificate") from exc
        with zipfile.ZipFile(bundle) as zf:
            pinned_ca = server_ca.read_bytes() if server_ca else None
            if is_case_export(zf.namelist()):  # a case: every item bundle, and its list
                report: Report | CaseReport = verify_case(
                    zf, log_vkey=pinned_key, tsa_roots=roots or None, server_ca=pinned_ca,
                    witnesses=policy)
            else:
                report = verify_bundle(ZipBundle(zf), log_vkey=pinned_key,
                                       tsa_roots=roots or None, server_ca=pinned_ca,
                                       witnesses=policy)
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


