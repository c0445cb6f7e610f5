"""The embedded TSA: a self-hosted RFC 3161 fallback that needs nothing running.

It is NOT a third party. Its tokens prove only that this server's key signed
the checkpoint at the time its own clock showed, so everything that records
one must label it ``embedded: True``; external TSAs (tsa/http.py) are the
independent witnesses.

State lives in one directory, created once and then only read:

    root.pem   self-signed CA (ECDSA P-256), what verifiers trust
    root.key   its PKCS#8 key, 0600, kept so the signer can be re-issued
    signer.pem TSA certificate issued by the root (critical EKU timeStamping)
    signer.key its PKCS#8 key, 0600

Each file is written to a temporary name and renamed; ``signer.pem`` is
renamed last and so marks the set complete. Creation holds an exclusive
``flock`` on ``.lock``, so concurrent first starts (several gunicorn workers)
produce one CA; the kernel drops the lock if the holder dies, so a crash
cannot wedge later starts the way a stale O_EXCL lock file would.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fieldproof.core.timestamp import EMBEDDED_POLICY_OID, issue_token, make_request
from fieldproof.errors import FieldProofError, TsaStateInvalid
from fieldproof.storage.keyfiles import fsync_dir, write_atomic

_ROOT_YEARS: Final = 20
_SIGNER_YEARS: Final = 10
# Back-date notBefore so a token stamped right after creation still verifies
# on a machine whose clock runs slightly behind ours.
_BACKDATE: Final = timedelta(minutes=5)

_FILES: Final = ("root.key", "root.pem", "signer.key", "signer.pem")


class EmbeddedTSA:
    # Plain attributes rather than properties: callers type TSAs with a Protocol
    # whose members are variables, which a read-only property does not satisfy.
    embedded: bool = True
    name: str

    def __init__(self, *, signer_key: ec.EllipticCurvePrivateKey,
                 signer_cert: x509.Certificate, root_cert: x509.Certificate,
                 policy_oid: str = EMBEDDED_POLICY_OID) -> None:
        try:
            signer_cert.verify_directly_issued_by(root_cert)
        except (ValueError, TypeError) as exc:
            raise _state_error(f"signer certificate is not issued by the root: {exc}") from exc
        self._key = signer_key
        self._signer = signer_cert
        self._root = root_cert
        self._signer_der = signer_cert.public_bytes(serialization.Encoding.DER)
        self.policy_oid = policy_oid
        cns = signer_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        self.name = str(cns[0].value) if cns else signer_cert.subject.rfc4514_string()
        self._serial_lock = threading.Lock()
        self._last_serial = 0

    # ------------------------------------------------------------------ loading
    @classmethod
    def load_or_create(cls, directory: Path, *,
                       name: str = "FieldProof embedded TSA") -> EmbeddedTSA:
        """Load the TSA state in ``directory``, creating a fresh CA on first use.

        ``name`` only matters at creation; afterwards the certificates are
        authoritative and :attr:`name` is the signer certificate's CN.
        """
        directory = Path(directory)
        if not (directory / "signer.pem").exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not (directory / "signer.pem").exists():
                    _create(directory, name)
            finally:
                os.close(fd)  # closing releases the flock
        return cls._load(directory)

    @classmethod
    def _load(cls, directory: Path) -> EmbeddedTSA:
        try:
            key = serialization.load_pem_private_key(
                (directory / "signer.key").read_bytes(), password=None)
            signer = x509.load_pem_x509_certificate((directory / "signer.pem").read_bytes())
            root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
        except (OSError, ValueError) as exc:
            raise _state_error(f"cannot load embedded TSA state from {directory}: {exc}") \
                from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise _state_error("embedded TSA signer key is not an EC key")
        return cls(signer_key=key, signer_cert=signer, root_cert=root)

    # ------------------------------------------------------------------ stamping
    def stamp(self, data: bytes) -> bytes:
        """A DER TimeStampResp over sha256(data), dated now (UTC, microseconds)."""
        request = make_request(data, nonce=secrets.randbits(64), cert_req=True,
                               policy_oid=self.policy_oid)
        return issue_token(request, signer_key=self._key, signer_cert_der=self._signer_der,
                           serial=self._next_serial(), gen_time=datetime.now(UTC),
                           policy_oid=self.policy_oid)

    def respond(self, request_der: bytes) -> bytes:
        """A DER TimeStampResp for a client's own DER TimeStampReq.

        What signers that build their own request need (pyhanko for the
        certificate PDF, c2pa for content credentials). A malformed request or
        one naming another policy raises BadRequest from core.timestamp.
        """
        return issue_token(request_der, signer_key=self._key, signer_cert_der=self._signer_der,
                           serial=self._next_serial(), gen_time=datetime.now(UTC),
                           policy_oid=self.policy_oid)

    def _next_serial(self) -> int:
        # Nanosecond time in the high bits keeps serials ordered across restarts
        # and processes; 64 random low bits keep two workers stamping in the same
        # nanosecond apart. ~125 bits, inside RFC 3161's 160-bit limit.
        with self._serial_lock:
            serial = max((time.time_ns() << 64) | secrets.randbits(64), self._last_serial + 1)
            self._last_serial = serial
            return serial

    # ------------------------------------------------------------------ identity
    @property
    def root_pem(self) -> bytes:
        return self._root.public_bytes(serialization.Encoding.PEM)

    @property
    def signer_pem(self) -> bytes:
        return self._signer.public_bytes(serialization.Encoding.PEM)

    def chain_pem(self) -> list[bytes]:
        """Signer certificate first, root last."""
        return [self.signer_pem, self.root_pem]

    def __repr__(self) -> str:
        return f"EmbeddedTSA(name={self.name!r}, embedded=True)"


# --------------------------------------------------------------------------- creation
def _create(directory: Path, name: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # A per-deployment tag keeps two deployments' roots from sharing a subject,
    # which would confuse path building in a trust store holding both.
    instance = f"instance {secrets.token_hex(8)}"
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root CA"),
                           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, instance)])
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=365 * _ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(root_ski, critical=False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                 x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                                                    instance)]))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=365 * _SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        # RFC 3161 §2.3: the timeStamping purpose, and only it, marked critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            root_ski), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    contents = {
        "root.key": (_pkcs8(root_key), 0o600),
        "root.pem": (root.public_bytes(pem), 0o600),
        "signer.key": (_pkcs8(signer_key), 0o600),
        "signer.pem": (signer.public_bytes(pem), 0o600),
    }
    for filename in _FILES:  # signer.pem last: its presence means "complete"
        data, mode = contents[filename]
        write_atomic(directory / filename, data, mode)
    fsync_dir(directory)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _state_error(detail: str) -> FieldProofError:
    return TsaStateInvalid(detail)


__all__ = ["EMBEDDED_POLICY_OID", "EmbeddedTSA"]
