"""SHA256SUMS.p7s: the server's signature over SHA256SUMS, checked by openssl and by
fieldproof verify; a changed file with a recomputed SHA256SUMS no longer passes."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp

from fieldproof.bundle.layout import CUSTODY, README, SERVER_CA, SUMS, SUMS_SIGNATURE, sums_text
from fieldproof.bundle.verify import verify_bundle
from fieldproof.services import Services
from tests.evidence.test_export import _download, _files, _photo
from tests.support.accounts import User

OPENSSL_VERIFY = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", SUMS_SIGNATURE,
                  "-content", SUMS, "-CAfile", SERVER_CA, "-purpose", "any", "-out", "/dev/null"]


def _extract(files: dict[str, bytes], where: Path) -> Path:
    for name, data in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(data)
    return where


def _openssl(files: dict[str, bytes], where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(OPENSSL_VERIFY, cwd=_extract(files, where), capture_output=True,
                          text=True)


def _resummed(files: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(files)
    out[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in out.items()
                           if n not in (SUMS, SUMS_SIGNATURE)})
    return out


@pytest.fixture
def bundle(user: User, client: Any, services: Services) -> dict[str, bytes]:
    cid = _photo(user, services)
    services.sequencer.integrate()  # "anchored"
    assert client.get(f"/api/v1/captures/{cid}", headers=user.auth).status_code == 200
    services.sequencer.integrate()  # "view": custody lines anchored, view, export
    files = _files(_download(client, user, cid))
    assert files[CUSTODY].count(b"\n") == 3
    return files


def test_an_intact_bundle_is_signed_and_time_stamped(bundle: dict[str, bytes],
                                                     tmp_path: Path) -> None:
    assert SERVER_CA in bundle and SUMS_SIGNATURE in bundle
    run = _openssl(bundle, tmp_path)
    assert run.returncode == 0 and "Verification successful" in run.stderr, run.stderr
    signer = cms.ContentInfo.load(bundle[SUMS_SIGNATURE])["content"]["signer_infos"][0]
    assert "signing_time" in [a["type"].native for a in signer["signed_attrs"]]
    [stamp] = [a for a in signer["unsigned_attrs"]
               if a["type"].dotted == "1.2.840.113549.1.9.16.2.14"]
    tst = stamp["values"][0]["content"]["encap_content_info"]["content"].parsed
    assert isinstance(tst, tsp.TSTInfo)
    assert tst["message_imprint"]["hashed_message"].native == \
        hashlib.sha256(signer["signature"].native).digest()
    report = verify_bundle(bundle)
    assert report.ok, report.lines()
    [line] = [r for r in report.results if r.name == "sums_signature"]
    assert "CMS signature by" in line.detail and "time-stamped" in line.detail, line.detail


def _changed_verify_md(files: dict[str, bytes]) -> dict[str, bytes]:
    return {**files, README: files[README].replace(b"sha256sum", b"sha256sun", 1)}


def _changed_derived(files: dict[str, bytes]) -> dict[str, bytes]:
    data = bytearray(files["derived/display.jpg"])
    data[-20] ^= 1
    return {**files, "derived/display.jpg": bytes(data)}


def _removed_custody_line(files: dict[str, bytes]) -> dict[str, bytes]:
    lines = files[CUSTODY].splitlines(keepends=True)
    assert len(lines) >= 2
    return {**files, CUSTODY: b"".join(lines[:-1])}


@pytest.mark.parametrize("change", [_changed_verify_md, _changed_derived,
                                    _removed_custody_line])
def test_a_change_with_recomputed_sums_is_refused(change: Any, bundle: dict[str, bytes],
                                                  tmp_path: Path) -> None:
    changed = _resummed(change(bundle))
    assert changed[SUMS] != bundle[SUMS]
    run = _openssl(changed, tmp_path)
    assert run.returncode != 0 and "Verification successful" not in run.stderr, run.stderr
    failed = {r.name: r.detail for r in verify_bundle(changed).failed()}
    assert "sums_signature" in failed and "digest mismatch" in failed["sums_signature"], failed


def test_a_dropped_signature_fails_verification(bundle: dict[str, bytes]) -> None:
    rest = {n: d for n, d in bundle.items() if n != SUMS_SIGNATURE}
    failed = {r.name: r.detail for r in verify_bundle(rest).failed()}
    assert set(failed) == {"sums_signature"}, failed


def test_a_signature_by_another_ca_is_refused(bundle: dict[str, bytes],
                                              tmp_path: Path) -> None:
    from fieldproof.evidence.identity import ServerIdentity

    other = ServerIdentity(tmp_path / "other-ca").get("pdf").root_pem
    failed = {r.name: r.detail for r in verify_bundle(bundle, server_ca=other).failed()}
    assert "sums_signature" in failed and "does not chain" in failed["sums_signature"], failed
    (tmp_path / "other.pem").write_bytes(other)
    where = _extract(bundle, tmp_path / "b")
    ca_at = OPENSSL_VERIFY.index(SERVER_CA)
    run = subprocess.run([*OPENSSL_VERIFY[:ca_at], str(tmp_path / "other.pem"),
                          *OPENSSL_VERIFY[ca_at + 1:]], cwd=where, capture_output=True,
                         text=True)
    assert run.returncode != 0 and "unable to get local issuer certificate" in run.stderr, \
        run.stderr
    # the same command with the bundle's own CA accepts it (so the refusal above is the CA's)
    run = subprocess.run(OPENSSL_VERIFY, cwd=where, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_a_timestamp_over_something_else_is_refused(bundle: dict[str, bytes]) -> None:
    info = cms.ContentInfo.load(bundle[SUMS_SIGNATURE])
    signer = info["content"]["signer_infos"][0]
    sig = bytearray(signer["signature"].native)
    # a signature timestamp lifted from another bundle: here, the same token on a
    # re-made signature value (which also breaks the signature itself)
    sig[-1] ^= 1
    signer["signature"] = bytes(sig)
    forged = {**bundle, SUMS_SIGNATURE: info.dump()}
    failed = {r.name for r in verify_bundle(forged).failed()}
    assert failed == {"sums_signature"}, failed


def _blocks(readme: str, lang: str) -> list[str]:
    import re

    return re.findall(rf"```{lang}\n(.*?)```", readme, re.DOTALL)


def test_every_command_in_verify_md_runs_on_a_real_bundle(bundle: dict[str, bytes],
                                                          tmp_path: Path) -> None:
    import sys

    readme = bundle[README].decode()
    where = _extract(bundle, tmp_path / "bundle")
    out = []
    for block in _blocks(readme, "sh"):
        run = subprocess.run(["bash", "-e", "-c", block], cwd=where, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, (block, run.stdout, run.stderr)
        out.append(run.stdout + run.stderr)
    said = "\n".join(out)
    assert "Verification successful" in said and "Verification: OK" in said, said
    assert "Signature is Valid" in said and "Total document signed" in said, said
    anchors = {a.kind: a.fingerprint for a in verify_bundle(bundle).anchors}
    assert f"\n{anchors['log key']}\n" in f"\n{said}\n", (anchors, said)
    ca_fp = anchors["server CA"].removeprefix("sha256:").upper()
    assert ":".join(ca_fp[i:i + 2] for i in range(0, len(ca_fp), 2)) in said, said
    assert SUMS_SIGNATURE in readme and "1.2.840.113549.1.9.16.2.14" in readme
    assert "fieldproof log audit" in readme

    [_, custody_snippet] = _blocks(readme, "python")
    (tmp_path / "custody.py").write_text(custody_snippet)
    run = subprocess.run([sys.executable, str(tmp_path / "custody.py")], cwd=where,
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
    # it really checks: a middle line removed, or the consistency proof emptied
    lines = bundle[CUSTODY].splitlines(keepends=True)
    (where / CUSTODY).write_bytes(b"".join(lines[:1] + lines[2:]))
    run = subprocess.run([sys.executable, str(tmp_path / "custody.py")], cwd=where,
                         capture_output=True, text=True)
    assert run.returncode != 0 and "chain broken" in run.stderr, run.stderr
    (where / CUSTODY).write_bytes(bundle[CUSTODY])
    (where / "custody-consistency.json").write_text(
        bundle["custody-consistency.json"].decode().replace('"consistency_proof":[',
                                                            '"consistency_proof":["AAAA",'))
    run = subprocess.run([sys.executable, str(tmp_path / "custody.py")], cwd=where,
                         capture_output=True, text=True)
    assert run.returncode != 0 and "OK" not in run.stdout, run.stdout


def test_the_log_key_fingerprint_command_takes_base64_with_plus(tmp_path: Path) -> None:
    """The vkey's base64 may hold "+", the vkey's own separator: the documented
    command must take everything after the second "+"."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from fieldproof.core.checkpoint import Verifier, key_hash
    from fieldproof.evidence.verify_md import LOG_KEY_FINGERPRINT_CMD

    while True:
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                     PublicFormat.Raw)
        v = Verifier("example.org/log", key_hash("example.org/log", raw), raw)
        if "+" in v.vkey().split("+", 2)[2]:
            break
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "log.vkey").write_text(v.vkey() + "\n")
    run = subprocess.run(["bash", "-e", "-c", LOG_KEY_FINGERPRINT_CMD], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == f"sha256:{v.fingerprint}\n", run
