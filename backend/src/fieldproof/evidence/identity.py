"""The server's signing identity for documents: certificate PDFs and C2PA credentials.

A small private CA, created on first start in ``<data>/keys/server-ca`` (or put
there by the operator, to use a certificate from a real CA), issues one leaf per
purpose. Verifiers pin ``root.pem`` as the trust anchor:

    root.pem, root.key   self-signed CA (ECDSA P-256), 20 years
    <purpose>.pem        leaf, issued by the root: CA:FALSE, digitalSignature,
                         SKI/AKI and an extended key usage (below)
    <purpose>.key        its PKCS#8 key, 0600
    <purpose>-chain.pem  optional: intermediates between the leaf and the root,
                         for an operator-supplied certificate

C2PA readers insist on a leaf that is not self-signed, has an allowed EKU
(emailProtection works) and a chain that stops short of the root; PDF readers
accept the same shape, so both purposes use it. Creation holds a ``flock`` the
way the embedded TSA does, so concurrent first starts produce one CA.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from fieldproof.errors import FieldProofError, SigningIdentityInvalid
from fieldproof.storage.keyfiles import fsync_dir, write_atomic
from fieldproof.tsa.embedded import _key_usage, _pkcs8

DOCUMENT_SIGNING: Final = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # RFC 9336
PURPOSES: Final = {
    # purpose: (common name, extended key usages)
    "c2pa": ("FieldProof content credentials", [ExtendedKeyUsageOID.EMAIL_PROTECTION]),
    "pdf": ("FieldProof certificate signer",
            [ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
}
_ROOT_YEARS: Final = 20
_LEAF_YEARS: Final = 10
_BACKDATE: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class SigningIdentity:
    """One purpose's key and certificates (PEM)."""

    purpose: str
    key_pem: bytes
    cert_pem: bytes
    intermediates_pem: bytes  # may be empty
    root_pem: bytes

    @property
    def chain_pem(self) -> bytes:
        """Leaf then intermediates, no root (what C2PA and CMS signers embed)."""
        return self.cert_pem + self.intermediates_pem

    @property
    def key(self) -> ec.EllipticCurvePrivateKey:
        k = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(k, ec.EllipticCurvePrivateKey):
            raise _state_error(f"the {self.purpose} key is not an EC key")
        return k

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.root_pem)

    def root_fingerprint(self) -> str:
        return self.root.fingerprint(hashes.SHA256()).hex()


class ServerIdentity:
    def __init__(self, directory: Path, name: str = "FieldProof server") -> None:
        self.directory = Path(directory)
        self.name = name

    def get(self, purpose: str) -> SigningIdentity:
        """The identity for ``purpose``, creating the CA and the leaf if missing."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown signing purpose {purpose!r}")
        d = self.directory
        if not (d / f"{purpose}.pem").exists():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not (d / "root.pem").exists():
                    self._create_root()
                if not (d / f"{purpose}.pem").exists():
                    self._issue(purpose)
            finally:
                os.close(fd)
        try:
            chain = d / f"{purpose}-chain.pem"
            return SigningIdentity(
                purpose=purpose, key_pem=(d / f"{purpose}.key").read_bytes(),
                cert_pem=(d / f"{purpose}.pem").read_bytes(),
                intermediates_pem=chain.read_bytes() if chain.exists() else b"",
                root_pem=(d / "root.pem").read_bytes())
        except OSError as exc:
            raise _state_error(f"cannot load the {purpose} signing identity: {exc}") from exc

    # ------------------------------------------------------------------ creation
    def _create_root(self) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, f"{self.name} root CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FieldProof"),
            # Two deployments' roots must not share a subject (path building).
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                               f"instance {secrets.token_hex(8)}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=365 * _ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
        write_atomic(self.directory / "root.key", _pkcs8(key), 0o600)
        write_atomic(self.directory / "root.pem",
                      cert.public_bytes(serialization.Encoding.PEM), 0o600)
        fsync_dir(self.directory)

    def certify(self, public_key: ec.EllipticCurvePublicKey, common_name: str) -> bytes:
        """A leaf for a key the server holds elsewhere (the web recorder's), PEM.

        Issued by the root like the purpose leaves, with digitalSignature only.
        """
        self.get("pdf")  # the CA exists
        cert = self._leaf(public_key, common_name, _leaf_key_usage("web"), ekus=None)
        return cert.public_bytes(serialization.Encoding.PEM)

    def _issue(self, purpose: str) -> None:
        d = self.directory
        cn, ekus = PURPOSES[purpose]
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._leaf(key.public_key(), cn, _leaf_key_usage(purpose), ekus=ekus)
        write_atomic(d / f"{purpose}.key", _pkcs8(key), 0o600)
        write_atomic(d / f"{purpose}.pem", cert.public_bytes(serialization.Encoding.PEM),
                      0o600)  # last: its presence marks the pair complete
        fsync_dir(d)

    def _leaf(self, public_key: ec.EllipticCurvePublicKey, common_name: str,
              usage: x509.KeyUsage, *, ekus: list[ObjectIdentifier] | None) -> x509.Certificate:
        """A certificate for ``public_key`` signed by the root, in this CA's instance."""
        d = self.directory
        root = x509.load_pem_x509_certificate((d / "root.pem").read_bytes())
        root_key = serialization.load_pem_private_key((d / "root.key").read_bytes(),
                                                      password=None)
        if not isinstance(root_key, ec.EllipticCurvePrivateKey):
            raise _state_error("the server CA key is not an EC key")
        ou = root.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        now = datetime.now(UTC).replace(microsecond=0)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                                     x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                        "FieldProof"), *ou]))
            .issuer_name(root.subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=365 * _LEAF_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True))
        if ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        return (builder
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    root_key.public_key()), critical=False)
                .sign(root_key, hashes.SHA256()))


def _leaf_key_usage(purpose: str) -> x509.KeyUsage:
    # A signed document is a statement the server stands behind: PDF validators
    # (pyHanko's default, Adobe's) want nonRepudiation on a document signer.
    return x509.KeyUsage(digital_signature=True, content_commitment=purpose == "pdf",
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _state_error(detail: str) -> FieldProofError:
    return SigningIdentityInvalid(detail)
