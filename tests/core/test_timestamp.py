"""RFC 3161 tokens from core/timestamp.py and the embedded TSA, checked by two
independent verifiers: ``openssl ts -verify`` (subprocess) and rfc3161-client
(through verify_token). No mocks: real keys, real tools."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from fieldproof.core.timestamp import (
    TokenInfo,
    issue_token,
    make_rejection,
    make_request,
    parse_token,
    verify_token,
)
from fieldproof.errors import FieldProofError
from fieldproof.tsa import EMBEDDED_POLICY_OID, EmbeddedTSA, TimestampAuthority

CHECKPOINT = (b"fieldproof.example/log\n4242\n"
              b"2u2Yy0yqAfqBRGN7DsMz7x3h5ZzJX2l6K8f8C0sQxkA=\n\n"
              b"\xe2\x80\x94 fieldproof.example/log AbCdEfGh0123456789==\n")


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTSA:
    return EmbeddedTSA.load_or_create(tmp_path_factory.mktemp("tsa") / "state")


@pytest.fixture(scope="module")
def token(tsa: EmbeddedTSA) -> bytes:
    return tsa.stamp(CHECKPOINT)


def openssl_verify(tmp: Path, data: bytes, token: bytes, root_pem: bytes,
                   tsa_pem: bytes) -> subprocess.CompletedProcess[str]:
    for name, content in (("data", data), ("t.tsr", token), ("root.pem", root_pem),
                          ("tsa.pem", tsa_pem)):
        (tmp / name).write_bytes(content)
    return subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(tmp / "data"), "-in", str(tmp / "t.tsr"),
         "-CAfile", str(tmp / "root.pem"), "-untrusted", str(tmp / "tsa.pem")],
        capture_output=True, text=True)


def assert_openssl_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr


def assert_invalid(exc: pytest.ExceptionInfo[FieldProofError], *words: str) -> None:
    assert exc.value.code == "timestamp_invalid"
    for word in words:
        assert word in exc.value.detail, exc.value.detail


def other_tsa(tmp: Path) -> EmbeddedTSA:
    return EmbeddedTSA.load_or_create(tmp / "other")


# --------------------------------------------------------------------------- embedded tokens
def test_embedded_token_verifies_with_openssl(tsa: EmbeddedTSA, token: bytes,
                                              tmp_path: Path) -> None:
    assert_openssl_ok(openssl_verify(tmp_path, CHECKPOINT, token, tsa.root_pem,
                                     tsa.signer_pem))


def test_embedded_token_verifies_with_rfc3161_client(tsa: EmbeddedTSA, token: bytes) -> None:
    info = verify_token(token, CHECKPOINT, roots_pem=[tsa.root_pem])
    assert info.status == "granted"
    assert info.hash_alg == "sha256"
    assert info.message_imprint == hashlib.sha256(CHECKPOINT).digest()
    assert info.policy == EMBEDDED_POLICY_OID
    assert info.nonce is not None
    assert info.accuracy is None  # the embedded TSA claims no accuracy it cannot back
    assert info.tsa_name is not None and "CN=FieldProof embedded TSA" in info.tsa_name
    assert info.signer_cert_der == x509.load_pem_x509_certificate(tsa.signer_pem).public_bytes(
        serialization.Encoding.DER)
    # Pinning the exact TSA certificate also passes.
    assert verify_token(token, CHECKPOINT, roots_pem=[tsa.root_pem],
                        tsa_cert_pem=tsa.signer_pem) == info


def test_served_chain_as_intermediates_verifies(tsa: EmbeddedTSA, token: bytes) -> None:
    """How the auditor calls it: the served chain, root last, split into trust + rest."""
    chain = tsa.chain_pem()
    verify_token(token, CHECKPOINT, roots_pem=chain[-1:], intermediates_pem=chain[:-1])


def test_gen_time_is_now_utc_with_microseconds(tsa: EmbeddedTSA) -> None:
    before = datetime.now(UTC)
    infos = [parse_token(tsa.stamp(CHECKPOINT)) for _ in range(3)]
    after = datetime.now(UTC)
    for info in infos:
        assert info.gen_time.tzinfo is UTC
        assert before - timedelta(seconds=1) <= info.gen_time <= after + timedelta(seconds=1)
    # Sub-second precision survives the encoding (all three at .000000 is ~impossible).
    assert any(info.gen_time.microsecond for info in infos)


def test_serials_unique_and_increasing(tsa: EmbeddedTSA) -> None:
    serials = [parse_token(tsa.stamp(b"x")).serial for _ in range(20)]
    assert serials == sorted(set(serials))
    assert all(0 < s < 1 << 160 for s in serials)


def test_token_over_other_data_fails(tsa: EmbeddedTSA, token: bytes, tmp_path: Path) -> None:
    with pytest.raises(FieldProofError) as exc:
        verify_token(token, CHECKPOINT + b" ", roots_pem=[tsa.root_pem])
    assert_invalid(exc, "different data")
    proc = openssl_verify(tmp_path, CHECKPOINT + b" ", token, tsa.root_pem, tsa.signer_pem)
    assert proc.returncode != 0 and "message imprint mismatch" in proc.stderr


def test_token_against_other_root_fails(tsa: EmbeddedTSA, token: bytes,
                                        tmp_path: Path) -> None:
    other = other_tsa(tmp_path)
    with pytest.raises(FieldProofError) as exc:
        verify_token(token, CHECKPOINT, roots_pem=[other.root_pem])
    assert_invalid(exc, "chain")
    # Handing over the genuine TSA certificate must not let it stand in for a root.
    with pytest.raises(FieldProofError) as exc:
        verify_token(token, CHECKPOINT, roots_pem=[other.root_pem],
                     tsa_cert_pem=tsa.signer_pem)
    assert_invalid(exc, "chain")
    proc = openssl_verify(tmp_path, CHECKPOINT, token, other.root_pem, tsa.signer_pem)
    assert proc.returncode != 0


def test_pinned_tsa_cert_must_match(tsa: EmbeddedTSA, token: bytes, tmp_path: Path) -> None:
    other = other_tsa(tmp_path)
    with pytest.raises(FieldProofError) as exc:
        verify_token(token, CHECKPOINT, roots_pem=[tsa.root_pem, other.root_pem],
                     tsa_cert_pem=other.signer_pem)
    assert_invalid(exc)


def test_every_flipped_byte_is_caught_or_harmless(tsa: EmbeddedTSA, token: bytes) -> None:
    """Flip one bit in every byte: verification must fail, or (for the few fields
    CMS leaves unsigned, e.g. SignedData.version) report exactly the same facts."""
    original = verify_token(token, CHECKPOINT, roots_pem=[tsa.root_pem])
    accepted = []
    for i in range(len(token)):
        tampered = bytearray(token)
        tampered[i] ^= 0x01 if i % 2 else 0x80
        try:
            info = verify_token(bytes(tampered), CHECKPOINT, roots_pem=[tsa.root_pem])
        except FieldProofError as exc:
            assert exc.code == "timestamp_invalid"
            continue
        assert info == original, f"flip at {i} changed what the token asserts"
        accepted.append(i)
    assert len(accepted) < 20, accepted  # a handful of unsigned framing bytes at most


def test_flipped_byte_in_tstinfo_fails_openssl(tsa: EmbeddedTSA, token: bytes,
                                               tmp_path: Path) -> None:
    resp = tsp.TimeStampResp.load(token)
    tst_der = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].contents
    at = token.index(tst_der) + len(tst_der) - 1  # the last byte of the nonce
    tampered = bytearray(token)
    tampered[at] ^= 0x01
    proc = openssl_verify(tmp_path, CHECKPOINT, bytes(tampered), tsa.root_pem, tsa.signer_pem)
    assert proc.returncode != 0
    with pytest.raises(FieldProofError) as exc:
        verify_token(bytes(tampered), CHECKPOINT, roots_pem=[tsa.root_pem])
    assert_invalid(exc)


def test_reattributed_signer_is_caught(tmp_path: Path) -> None:
    """Same key, second certificate: swap it and the (unsigned) sid into the token.
    The CMS signature still verifies, so only the ESSCertIDv2 check can notice."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(root_key, root_key, "Root", None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert1 = _cert(key, root_key, "TSA one", root)
    cert2 = _cert(key, root_key, "TSA two", root)
    der = serialization.Encoding.DER
    token = issue_token(make_request(b"data"), signer_key=key,
                        signer_cert_der=cert1.public_bytes(der), serial=1,
                        gen_time=datetime.now(UTC), policy_oid="1.2.3")
    resp = tsp.TimeStampResp.load(token)
    sd = resp["time_stamp_token"]["content"]
    c2 = asn1_x509.Certificate.load(cert2.public_bytes(der))
    sd["certificates"] = [cms.CertificateChoices(name="certificate", value=c2)]
    sd["signer_infos"][0]["sid"] = cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value={"issuer": c2.issuer, "serial_number": c2.serial_number})
    swapped = resp.dump(force=True)
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(FieldProofError) as exc:
        verify_token(swapped, b"data", roots_pem=[root_pem])
    assert_invalid(exc, "ESSCertID")
    proc = openssl_verify(tmp_path, b"data", swapped, root_pem,
                          cert2.public_bytes(serialization.Encoding.PEM))
    assert proc.returncode != 0


# --------------------------------------------------------------------------- embedded state
def test_state_files_and_modes(tsa: EmbeddedTSA, tmp_path: Path) -> None:
    directory = tmp_path / "fresh"
    EmbeddedTSA.load_or_create(directory)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
    assert modes["root.key"] == 0o600 and modes["signer.key"] == 0o600
    # the data dir is private: certificates too (they are published by the API)
    assert modes["root.pem"] == 0o600 and modes["signer.pem"] == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not [n for n in modes if n.endswith(".tmp")]
    for name in ("root.key", "signer.key"):
        assert (directory / name).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_load_or_create_twice_returns_same_ca(tmp_path: Path) -> None:
    first = EmbeddedTSA.load_or_create(tmp_path / "s", name="Precinct 9 TSA")
    second = EmbeddedTSA.load_or_create(tmp_path / "s", name="ignored once created")
    assert first.root_pem == second.root_pem and first.signer_pem == second.signer_pem
    assert second.name == "Precinct 9 TSA"
    # A token from one instance verifies under the other's root.
    verify_token(first.stamp(b"a"), b"a", roots_pem=[second.root_pem])


def test_concurrent_first_start_creates_one_ca(tmp_path: Path) -> None:
    code = ("import sys, pathlib\n"
            "from fieldproof.tsa import EmbeddedTSA\n"
            "t = EmbeddedTSA.load_or_create(pathlib.Path(sys.argv[1]))\n"
            "sys.stdout.buffer.write(t.root_pem)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "race")],
                              stdout=subprocess.PIPE) for _ in range(4)]
    roots = {p.communicate(timeout=30)[0] for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(roots) == 1 and next(iter(roots)).startswith(b"-----BEGIN CERTIFICATE")


def test_certificate_profile(tsa: EmbeddedTSA) -> None:
    root = x509.load_pem_x509_certificate(tsa.root_pem)
    signer = x509.load_pem_x509_certificate(tsa.signer_pem)
    assert tsa.chain_pem() == [tsa.signer_pem, tsa.root_pem]  # root last
    assert tsa.embedded is True
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)

    ext = root.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    root_ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value

    ext = signer.extensions
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ku_ext = ext.get_extension_for_class(x509.KeyUsage)
    assert ku_ext.critical and ku_ext.value.digital_signature
    assert not ku_ext.value.key_cert_sign
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    life = signer.not_valid_after_utc - signer.not_valid_before_utc
    assert timedelta(days=9 * 365) < life < timedelta(days=11 * 365)
    assert root.not_valid_after_utc >= signer.not_valid_after_utc
    signer.verify_directly_issued_by(root)


def test_embedded_tsa_is_a_timestamp_authority(tsa: EmbeddedTSA) -> None:
    authority: TimestampAuthority = tsa
    assert authority.embedded and authority.name == "FieldProof embedded TSA"


# --------------------------------------------------------------------------- requests
def test_make_request_fields() -> None:
    req = tsp.TimeStampReq.load(make_request(b"abc", nonce=77, cert_req=False))
    assert req["version"].native == "v1"
    assert req["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert req["message_imprint"]["hashed_message"].native == hashlib.sha256(b"abc").digest()
    assert req["nonce"].native == 77 and req["cert_req"].native is False
    req = tsp.TimeStampReq.load(make_request(b"abc", hash_alg="sha512"))
    assert req["message_imprint"]["hashed_message"].native == hashlib.sha512(b"abc").digest()
    assert req["nonce"].native is None and req["cert_req"].native is True


def test_openssl_parses_our_request(tmp_path: Path) -> None:
    (tmp_path / "q.tsq").write_bytes(make_request(b"abc", nonce=0x1234))
    out = subprocess.run(["openssl", "ts", "-query", "-in", str(tmp_path / "q.tsq"), "-text"],
                         capture_output=True, text=True, check=True).stdout
    assert "Hash Algorithm: sha256" in out and "Nonce: 0x1234" in out
    assert "Certificate required: yes" in out


def _issue(tsa_dir: Path, request: bytes, **kw: object) -> tuple[bytes, EmbeddedTSA]:
    tsa = EmbeddedTSA.load_or_create(tsa_dir)
    key = serialization.load_pem_private_key((tsa_dir / "signer.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    args: dict[str, object] = {
        "signer_key": key, "signer_cert_der": x509.load_pem_x509_certificate(
            tsa.signer_pem).public_bytes(serialization.Encoding.DER),
        "serial": 5, "gen_time": datetime.now(UTC), "policy_oid": EMBEDDED_POLICY_OID}
    args.update(kw)
    return issue_token(request, **args), tsa  # type: ignore[arg-type]


def test_foreign_requests_are_honoured(tmp_path: Path) -> None:
    """Requests built by rfc3161-client (SHA-512) and by openssl (SHA-384)."""
    data = b"checkpoint bytes"
    built = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA512).build()
    token, tsa = _issue(tmp_path / "t", built.as_bytes())
    info = verify_token(token, data, roots_pem=[tsa.root_pem])
    assert info.hash_alg == "sha512" and info.nonce == built.nonce
    assert_openssl_ok(openssl_verify(tmp_path, data, token, tsa.root_pem, tsa.signer_pem))

    (tmp_path / "d").write_bytes(data)
    query = subprocess.run(["openssl", "ts", "-query", "-data", str(tmp_path / "d"),
                            "-sha384", "-cert"], capture_output=True, check=True).stdout
    token, _ = _issue(tmp_path / "t", query, accuracy_ms=1500)
    info = verify_token(token, data, roots_pem=[tsa.root_pem])
    assert info.hash_alg == "sha384" and info.accuracy == timedelta(seconds=1.5)
    assert_openssl_ok(openssl_verify(tmp_path, data, token, tsa.root_pem, tsa.signer_pem))


def test_cert_req_false_leaves_certificate_out(tmp_path: Path) -> None:
    token, tsa = _issue(tmp_path / "t", make_request(b"d", nonce=9, cert_req=False))
    info = parse_token(token)
    assert info.signer_cert_der is None and info.tsa_name is None and info.nonce == 9
    with pytest.raises(FieldProofError) as exc:
        verify_token(token, b"d", roots_pem=[tsa.root_pem])
    assert_invalid(exc, "no TSA certificate")
    verify_token(token, b"d", roots_pem=[tsa.root_pem], tsa_cert_pem=tsa.signer_pem)
    assert_openssl_ok(openssl_verify(tmp_path, b"d", token, tsa.root_pem, tsa.signer_pem))


def test_rsa_signer_verifies_with_both(tmp_path: Path) -> None:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert(root_key, root_key, "RSA Root", None, ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert(key, root_key, "RSA TSA", root)
    token = issue_token(make_request(b"rsa"), signer_key=key,
                        signer_cert_der=cert.public_bytes(serialization.Encoding.DER),
                        serial=7, gen_time=datetime.now(UTC), policy_oid="1.2.3.4")
    pem = serialization.Encoding.PEM
    verify_token(token, b"rsa", roots_pem=[root.public_bytes(pem)])
    assert_openssl_ok(openssl_verify(tmp_path, b"rsa", token, root.public_bytes(pem),
                                     cert.public_bytes(pem)))


@pytest.mark.parametrize(("request_der", "reason"), [
    (b"", "not a DER"),
    (b"\x30\x03\x02\x01\x01", "not a DER"),
    (make_request(b"x") + b"\x00", "not a DER"),  # trailing bytes
    (tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha1"},
        "hashed_message": hashlib.sha1(b"x").digest()}}).dump(), "sha1"),
    (tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"},
        "hashed_message": b"short"}}).dump(), "32 bytes"),
    (make_request(b"x", policy_oid="1.2.3.4.5"), "policy"),
])
def test_malformed_request_rejected(tmp_path: Path, request_der: bytes, reason: str) -> None:
    with pytest.raises(FieldProofError) as exc:
        _issue(tmp_path / "t", request_der)
    assert exc.value.code == "tsa_request_invalid"
    assert reason in exc.value.detail, exc.value.detail


# --------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("reply", [
    b"", b"garbage", b"\x30\x00",
    make_rejection(text="bad alg", fail_info={"bad_alg"}),
    make_rejection("waiting"),
])
def test_parse_token_refuses_non_tokens(reply: bytes) -> None:
    with pytest.raises(FieldProofError) as exc:
        parse_token(reply)
    assert exc.value.code == "timestamp_invalid"


def test_parse_token_reports_refusal_reason() -> None:
    reply = make_rejection(text="bad alg", fail_info={"bad_alg"})
    with pytest.raises(FieldProofError) as exc:
        parse_token(reply)
    assert_invalid(exc, "rejection", "bad_alg", "bad alg")


def test_truncated_token_rejected(token: bytes) -> None:
    for cut in (10, len(token) // 2, len(token) - 1):
        with pytest.raises(FieldProofError) as exc:
            parse_token(token[:cut])
        assert exc.value.code == "timestamp_invalid"


def test_token_info_is_plain_data(token: bytes) -> None:
    info = parse_token(token)
    assert isinstance(info, TokenInfo)
    with pytest.raises(AttributeError):
        info.serial = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- helpers
def _cert(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
          issuer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cn: str,
          issuer: x509.Certificate | None, *, ca: bool = False) -> x509.Certificate:
    now = datetime.now(UTC) - timedelta(minutes=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())
