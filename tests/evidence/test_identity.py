"""The server's document-signing CA: one root, a leaf per purpose, made once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from fieldproof.core.timestamp import make_request, parse_token, verify_token
from fieldproof.errors import FieldProofError
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.tsa import EmbeddedTSA


def test_leaves_share_one_root_and_have_the_shape_c2pa_needs(tmp_path: Path) -> None:
    ident = ServerIdentity(tmp_path / "ca")
    c2pa, pdf = ident.get("c2pa"), ident.get("pdf")
    assert c2pa.root_pem == pdf.root_pem
    for leaf in (c2pa, pdf):
        cert = leaf.certificate
        cert.verify_directly_issued_by(leaf.root)
        assert cert.subject != cert.issuer  # not self-signed
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
        ekus = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        assert leaf.chain_pem == leaf.cert_pem  # no intermediates, no root
        assert leaf.key.public_key() == cert.public_key()
    assert (tmp_path / "ca" / "root.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "ca" / "pdf.key").stat().st_mode & 0o077 == 0


def test_created_once_even_by_concurrent_first_starts(tmp_path: Path) -> None:
    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(
        ServerIdentity(tmp_path / "ca").get("pdf").cert_pem)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1
    assert ServerIdentity(tmp_path / "ca").get("pdf").cert_pem == got[0]


def test_unknown_purpose_and_damaged_state(tmp_path: Path) -> None:
    ident = ServerIdentity(tmp_path / "ca")
    with pytest.raises(ValueError):
        ident.get("tls")
    ident.get("pdf")
    (tmp_path / "ca" / "pdf.key").unlink()
    with pytest.raises(FieldProofError) as err:
        ident.get("pdf")
    assert err.value.code == "signing_identity_invalid"


def test_embedded_tsa_answers_a_clients_own_request(tmp_path: Path) -> None:
    tsa = EmbeddedTSA.load_or_create(tmp_path / "tsa")
    token = tsa.respond(make_request(b"document digest", nonce=42, cert_req=True))
    info = parse_token(token)
    assert info.status == "granted" and info.nonce == 42
    verify_token(token, b"document digest", roots_pem=[tsa.root_pem])
    with pytest.raises(FieldProofError):
        tsa.respond(b"\x30\x03\x02\x01\x01")
