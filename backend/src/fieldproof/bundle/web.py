"""The checks of a web capture's bundle: its files, and the recorder that signed it.

Pure like verify.py: the caller passes bytes and digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from fieldproof.bundle.common import CheckFailed, check_issued_by
from fieldproof.bundle.layout import WEB_DIR, WEB_RECORDER_CERT
from fieldproof.core.keys import DeviceKey


def check_files(manifest: Mapping[str, Any], names: list[str],
                digests: Mapping[str, str], sizes: Mapping[str, int]) -> str:
    """Every file the signed manifest lists is in web/ with its hash and size; no other."""
    web = manifest.get("web")
    if not isinstance(web, dict) or not isinstance(web.get("files"), list):
        raise CheckFailed("the manifest of a web capture has no 'web' files list")
    listed = {f"{WEB_DIR}{f['name']}": f for f in web["files"]}
    present = {n for n in names if n.startswith(WEB_DIR)}
    problems = []
    for name, f in sorted(listed.items()):
        if name not in present:
            problems.append(f"{name} is missing")
        elif digests.get(name) != f["sha256"]:
            problems.append(f"{name}: SHA-256 differs from the signed manifest")
        elif name in sizes and sizes[name] != f["size"]:
            problems.append(f"{name}: size differs from the signed manifest")
    problems += [f"{n} is not in the signed manifest" for n in sorted(present - set(listed))]
    if problems:
        raise CheckFailed("; ".join(problems))
    return (f"{len(listed)} files of the recording of {web.get('url')} ({web.get('mode')}) "
            "match the signed manifest")


def check_recorder(cert_pem: bytes | None, server_ca_pem: bytes | None, device: DeviceKey,
                   captured_at: str | None) -> str:
    """The manifest's device key is this server's web recorder: a certificate for the
    very key, issued by the server CA, valid when the recording was made."""
    if not cert_pem:
        raise CheckFailed(f"{WEB_RECORDER_CERT} is missing: nothing says the server's "
                          "recorder made this capture")
    if not server_ca_pem:
        raise CheckFailed("no server CA to check the recorder's certificate against")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca = x509.load_pem_x509_certificate(server_ca_pem)
    except ValueError as exc:
        raise CheckFailed(f"{WEB_RECORDER_CERT} or the server CA is not a certificate: "
                          f"{exc}") from exc
    point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    if DeviceKey.from_point(point).key_id != device.key_id:
        raise CheckFailed(f"{WEB_RECORDER_CERT} certifies another key than the manifest's "
                          f"device {device.key_id}")
    check_issued_by(cert, ca, WEB_RECORDER_CERT)
    if captured_at:
        when = datetime.fromisoformat(captured_at.replace("Z", "+00:00")).astimezone(UTC)
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            raise CheckFailed(f"{WEB_RECORDER_CERT} was not valid at {captured_at}")
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    return (f"device {device.key_id} is the server's web recorder: certificate "
            f"sha256:{fingerprint[:16]}... issued by the server CA")
