"""RFC 3161 time-stamp tokens: build a request, issue a token, parse it, verify it.

Pure: bytes in, bytes or values out; no clock, no files, no network. The caller
supplies the time (``gen_time``), the serial and the keys, which is what lets the
embedded TSA and the tests drive this deterministically.

Two independent verifiers must accept what :func:`issue_token` produces:
``openssl ts -verify`` and rfc3161-client. Their demands shape the encoding:

* The token carries ONLY the signer certificate (when the request asks for
  one). rfc3161-client rejects a ``SignedData.certificates`` SET that is not
  in DER order, which is what a signer-then-CA list produces.
* The signer is identified by issuerAndSerialNumber (SignerInfo v1):
  rfc3161-client looks the leaf up that way and nothing else.
* The signed attributes carry ESSCertIDv2 (RFC 5816); ``openssl ts -verify``
  refuses a token without a signing-certificate attribute.

Accepted hash algorithms for the message imprint are SHA-256, SHA-384 and
SHA-512 (:data:`ACCEPTED_HASHES`), the set rfc3161-client can verify. SHA-1
and MD5 imprints are refused: a token over a collidable digest proves little.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

from fieldproof.errors import FieldProofError, TimestampInvalid, TsaRequestInvalid

# The embedded TSA's policy: an X.667 UUID OID (2.25.<uuid>), mintable without
# registering an arc and derived from a fixed URL, so every deployment names the
# same policy and any verifier can label such a token "embedded", not a witness.
EMBEDDED_POLICY_OID: Final = "2.25." + str(
    uuid.uuid5(uuid.NAMESPACE_URL, "https://fieldproof.org/tsa/embedded/policy/v1").int)

ACCEPTED_HASHES: Final = ("sha256", "sha384", "sha512")

# A serial is at most 160 bits (RFC 3161 §2.4.2: "up to 160 bits").
_MAX_SERIAL_BITS: Final = 160

SignerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]  # untyped base
    # asn1crypto 1.5 declares timeStampToken mandatory, so it cannot even read a
    # rejection; RFC 3161 §2.4.2 makes it OPTIONAL (absent unless granted).
    _fields = [  # noqa: RUF012 - asn1crypto's own class-attribute schema
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class TokenInfo:
    """What a granted TimeStampResp asserts (not yet a statement of trust)."""

    status: str
    gen_time: datetime
    serial: int
    policy: str
    hash_alg: str
    message_imprint: bytes
    nonce: int | None
    accuracy: timedelta | None
    tsa_name: str | None
    signer_cert_der: bytes | None


# --------------------------------------------------------------------------- request
def make_request(data: bytes, *, nonce: int | None = None, hash_alg: str = "sha256",
                 cert_req: bool = True, policy_oid: str | None = None) -> bytes:
    """DER TimeStampReq over ``hash_alg(data)`` (SHA-256 unless told otherwise)."""
    digest = _digest(hash_alg, data, TsaRequestInvalid)
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_alg},
                            "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy_oid is not None:
        fields["req_policy"] = policy_oid
    return bytes(tsp.TimeStampReq(fields).dump())


def _parse_request(request_der: bytes, policy_oid: str) -> tsp.TimeStampReq:
    try:
        req = tsp.TimeStampReq.load(request_der, strict=True)
        _ = req.native  # asn1crypto parses lazily: force every field now
        version = req["version"].native
        alg = req["message_imprint"]["hash_algorithm"]["algorithm"].native
        digest = req["message_imprint"]["hashed_message"].native
        req_policy = req["req_policy"].dotted if req["req_policy"].native else None
        has_ext = bool(req["extensions"].native)
    except Exception as exc:  # asn1crypto's lazy parser raises a zoo of types
        raise TsaRequestInvalid(f"not a DER TimeStampReq: {exc}") from exc
    if version != "v1":
        raise TsaRequestInvalid(f"unsupported request version {version}")
    size = len(_digest(alg, b"", TsaRequestInvalid))
    if len(digest) != size:
        raise TsaRequestInvalid(f"{alg} imprint must be {size} bytes, got {len(digest)}")
    if req_policy is not None and req_policy != policy_oid:
        raise TsaRequestInvalid(f"policy {req_policy} not offered (only {policy_oid})")
    # RFC 3161 §2.4.1: a TSA must reject extensions it does not understand; we know none.
    if has_ext:
        raise TsaRequestInvalid("request extensions are not supported")
    return req


# --------------------------------------------------------------------------- issue
def issue_token(request_der: bytes, *, signer_key: SignerKey, signer_cert_der: bytes,
                serial: int, gen_time: datetime, policy_oid: str,
                accuracy_ms: int | None = None, signing_time: bool = True) -> bytes:
    """Grant ``request_der``: a DER TimeStampResp with status granted.

    ``accuracy_ms`` defaults to absent: the embedded TSA reads the host clock and
    cannot vouch for how well it is synchronised, and RFC 3161 treats an absent
    accuracy as "unknown", which is the honest claim.
    """
    if gen_time.tzinfo is None:
        raise ValueError("gen_time must be timezone-aware")
    if not 0 < serial < (1 << _MAX_SERIAL_BITS):
        raise ValueError("serial must be a positive integer of at most 160 bits")
    if accuracy_ms is not None and accuracy_ms <= 0:
        raise ValueError("accuracy_ms must be positive")
    req = _parse_request(request_der, policy_oid)

    cert = asn1_x509.Certificate.load(signer_cert_der)
    _check_key_matches(signer_key, signer_cert_der)

    tst: dict[str, Any] = {
        "version": "v1",
        "policy": policy_oid,
        # Echo the imprint byte for byte (RFC 3161 §2.4.2), parameters included.
        "message_imprint": tsp.MessageImprint.load(req["message_imprint"].dump()),
        "serial_number": serial,
        "gen_time": core.GeneralizedTime(gen_time.astimezone(UTC)),
        "tsa": asn1_x509.GeneralName(name="directory_name", value=cert.subject),
    }
    if accuracy_ms is not None:
        secs, millis = divmod(accuracy_ms, 1000)
        tst["accuracy"] = {k: v for k, v in (("seconds", secs), ("millis", millis)) if v}
    if req["nonce"].native is not None:
        tst["nonce"] = req["nonce"].native
    tst_info = tsp.TSTInfo(tst)
    econtent = tst_info.dump()

    ess = {"certs": [{"cert_hash": hashlib.sha256(signer_cert_der).digest(),
                      "issuer_serial": {
                          "issuer": [asn1_x509.GeneralName(name="directory_name",
                                                           value=cert.issuer)],
                          "serial_number": cert.serial_number}}]}
    attrs: list[dict[str, Any]] = [
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [hashlib.sha256(econtent).digest()]},
        {"type": "signing_certificate_v2", "values": [ess]},
    ]
    if signing_time:
        attrs.append({"type": "signing_time",
                      "values": [cms.Time(name="utc_time",
                                          value=gen_time.astimezone(UTC)
                                          .replace(microsecond=0))]})
    signed_attrs = cms.CMSAttributes(attrs)
    # The signature covers the attributes as a universal SET (tag 0x31), not the
    # [0] IMPLICIT form they take inside SignerInfo (RFC 5652 §5.4).
    to_sign = signed_attrs.dump()
    signature, sig_alg = _sign(signer_key, to_sign)

    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value={
            "issuer": cert.issuer, "serial_number": cert.serial_number}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": sig_alg},
        "signature": signature,
    })
    signed_data: dict[str, Any] = {
        # v3: the encapsulated content type is not id-data (RFC 5652 §5.1).
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "tst_info", "content": tst_info},
        "signer_infos": [signer_info],
    }
    if req["cert_req"].native:
        signed_data["certificates"] = [cms.CertificateChoices(name="certificate",
                                                              value=cert)]
    resp = _TimeStampResp({
        "status": {"status": "granted"},
        "time_stamp_token": {"content_type": "signed_data",
                             "content": cms.SignedData(signed_data)},
    })
    return bytes(resp.dump())


def _sign(key: SignerKey, message: bytes) -> tuple[bytes, str]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("ECDSA signer keys must be P-256")
        return key.sign(message, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError("RSA signer keys must have at least 2048 bits")
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256()), "sha256_rsa"
    raise TypeError(f"unsupported signer key type {type(key).__name__}")


def _check_key_matches(key: SignerKey, cert_der: bytes) -> None:
    cert_pub = x509.load_der_x509_certificate(cert_der).public_key()
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert_pub.public_bytes(*spki):
        raise ValueError("signer key does not match the signer certificate")


def make_rejection(status: str = "rejection", *, text: str | None = None,
                   fail_info: Iterable[str] = ()) -> bytes:
    """A DER TimeStampResp refusing a request, e.g. ``fail_info={"bad_alg"}``.

    For a TSA front end answering a :class:`TsaRequestInvalid`; RFC 3161 wants a
    reply with a status rather than silence.
    """
    info: dict[str, Any] = {"status": status}
    if text:
        info["status_string"] = [text]
    if fail_info:
        info["fail_info"] = set(fail_info)
    return bytes(_TimeStampResp({"status": info}).dump())


# --------------------------------------------------------------------------- parse
def parse_token(resp_der: bytes) -> TokenInfo:
    """Decode a TimeStampResp; refuses anything but a well-formed granted token.

    Parsing checks structure only: no signature, no chain, no imprint. Use
    :func:`verify_token` before trusting a single field.
    """
    try:
        resp = _TimeStampResp.load(resp_der, strict=True)
        status = resp["status"]["status"].native
    except Exception as exc:
        raise TimestampInvalid(f"not a DER TimeStampResp: {exc}") from exc
    if status != "granted":
        texts = resp["status"]["status_string"].native or []
        fail = resp["status"]["fail_info"].native
        raise TimestampInvalid(
            f"TSA answered {status}"
            + (f" ({', '.join(sorted(fail))})" if fail else "")
            + (f": {'; '.join(texts)}" if texts else ""),
            tsa_status=status, fail_info=sorted(fail or []), status_text=list(texts))
    try:
        return _token_info(resp, status)
    except Exception as exc:
        # Untrusted bytes run through asn1crypto's lazy parser and cryptography's
        # certificate loader, which between them raise ValueError, TypeError,
        # KeyError, InvalidVersion...; every one of them means "bad token".
        raise TimestampInvalid(f"malformed time-stamp token: {exc}") from exc


def _token_info(resp: _TimeStampResp, status: str) -> TokenInfo:
    token = resp["time_stamp_token"]
    if token["content_type"].native != "signed_data":
        raise ValueError("token is not CMS SignedData")
    sd = token["content"]
    eci = sd["encap_content_info"]
    if eci["content_type"].native != "tst_info":
        raise ValueError("SignedData does not encapsulate a TSTInfo")
    tst = eci["content"].parsed
    if not isinstance(tst, tsp.TSTInfo):
        raise ValueError("eContent is not a TSTInfo")
    _ = tst.native
    if len(sd["signer_infos"]) != 1:
        raise ValueError(f"expected one SignerInfo, got {len(sd['signer_infos'])}")

    gen_time = tst["gen_time"].native
    if not isinstance(gen_time, datetime) or gen_time.tzinfo is None:
        raise ValueError("genTime is not a UTC time")
    signer = _signer_cert(sd)
    signer_der = signer.dump() if signer is not None else None
    return TokenInfo(
        status=status,
        gen_time=gen_time.astimezone(UTC),
        serial=int(tst["serial_number"].native),
        policy=tst["policy"].dotted,
        hash_alg=tst["message_imprint"]["hash_algorithm"]["algorithm"].native,
        message_imprint=bytes(tst["message_imprint"]["hashed_message"].native),
        nonce=tst["nonce"].native,
        accuracy=_accuracy(tst["accuracy"]),
        tsa_name=(x509.load_der_x509_certificate(signer_der).subject.rfc4514_string()
                  if signer_der is not None else None),
        signer_cert_der=signer_der,
    )


def _accuracy(acc: tsp.Accuracy) -> timedelta | None:
    if not acc.native:
        return None
    n = acc.native
    return timedelta(seconds=n["seconds"] or 0, milliseconds=n["millis"] or 0,
                     microseconds=n["micros"] or 0)


def _signer_cert(sd: cms.SignedData) -> asn1_x509.Certificate | None:
    sid = sd["signer_infos"][0]["sid"]
    for choice in sd["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            # Byte equality first: asn1crypto's RFC 5280 name matching is slow.
            if (cert.serial_number == sid.chosen["serial_number"].native
                    and (cert.issuer.dump() == issuer.dump() or cert.issuer == issuer)):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


# --------------------------------------------------------------------------- verify
def verify_token(resp_der: bytes, data: bytes, *, roots_pem: Iterable[bytes],
                 intermediates_pem: Iterable[bytes] = (),
                 tsa_cert_pem: bytes | None = None) -> TokenInfo:
    """Verify that ``resp_der`` time-stamps exactly ``data`` under one of ``roots_pem``.

    Checks, each failing with :class:`TimestampInvalid` and its own reason:
    status granted and structure; imprint algorithm in :data:`ACCEPTED_HASHES`;
    imprint equals the hash of ``data``; a signer certificate is available (in
    the token or ``tsa_cert_pem``) and matches the ESSCertID(v2) the signature
    covers; then rfc3161-client verifies the CMS signature, the chain from the
    signer to a root (at genTime, through ``intermediates_pem``), the critical
    timeStamping EKU and, if given, that the signer IS ``tsa_cert_pem``.
    """
    info = parse_token(resp_der)
    if _digest(info.hash_alg, data, TimestampInvalid) != info.message_imprint:
        raise TimestampInvalid("the token time-stamps different data "
                               "(message imprint does not match)")

    roots = _load_pems(roots_pem)
    if not roots:
        raise ValueError("verify_token needs at least one trust root")
    intermediates = [c for c in _load_pems(intermediates_pem) if c not in roots]
    tsa_cert = _load_pems([tsa_cert_pem])[0] if tsa_cert_pem else None
    signer_der = info.signer_cert_der
    if signer_der is None:
        if tsa_cert is None:
            raise TimestampInvalid("the token carries no TSA certificate and none was given")
        signer_der = tsa_cert.public_bytes(Encoding.DER)
    try:
        _check_ess_cert_id(resp_der, signer_der)
    except TimestampInvalid:
        raise
    except Exception as exc:
        raise TimestampInvalid(f"malformed signed attributes: {exc}") from exc
    _rfc3161_verify(resp_der, data, roots, intermediates, tsa_cert)
    return info


def _check_ess_cert_id(resp_der: bytes, signer_der: bytes) -> None:
    """The signed attributes must name the signer cert (RFC 3161 §2.4.2, RFC 5816).

    rfc3161-client does not check this binding; without it a token could be
    re-attributed to another certificate carrying the same key.
    """
    si = _TimeStampResp.load(resp_der)["time_stamp_token"]["content"]["signer_infos"][0]
    for attr in si["signed_attrs"]:
        kind = attr["type"].native
        if kind not in ("signing_certificate", "signing_certificate_v2"):
            continue
        first = attr["values"][0]["certs"][0]
        # ESSCertID (v1) is SHA-1 by definition; it identifies, it does not bind
        # a signature, so SHA-1 is acceptable there.
        alg = "sha1" if kind == "signing_certificate" else \
            first["hash_algorithm"]["algorithm"].native
        if alg not in ("sha1", *ACCEPTED_HASHES):
            raise TimestampInvalid(f"ESSCertID hash {alg} not accepted")
        if hashlib.new(alg, signer_der).digest() != first["cert_hash"].native:
            raise TimestampInvalid("ESSCertID does not match the signer certificate")
        return
    raise TimestampInvalid("no signing-certificate attribute (ESSCertID) in the token")


def _rfc3161_verify(resp_der: bytes, data: bytes, roots: list[x509.Certificate],
                    intermediates: list[x509.Certificate],
                    tsa_cert: x509.Certificate | None) -> None:
    builder = VerifierBuilder(roots=list(roots), intermediates=list(intermediates),
                              tsa_certificate=tsa_cert)
    try:
        builder.build().verify_message(decode_timestamp_response(resp_der), data)
    except (VerificationError, ValueError) as exc:
        raise TimestampInvalid(f"signature or certificate chain rejected: {exc}") from exc
    except BaseException as exc:
        # rfc3161-client's Rust layer unwraps some parse results, so odd but
        # asn1crypto-acceptable input surfaces as pyo3's PanicException (a
        # BaseException). That is a bad token, not a reason to take the caller down.
        if type(exc).__name__ != "PanicException":
            raise
        raise TimestampInvalid(f"token rejected by rfc3161-client: {exc}") from None


def _load_pems(blobs: Iterable[bytes | None]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for blob in blobs:
        if not blob:
            continue
        try:
            loaded = x509.load_pem_x509_certificates(blob)
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate: {exc}") from exc
        certs.extend(c for c in loaded if c not in certs)
    return certs


def _digest(name: str, data: bytes, error: type[FieldProofError]) -> bytes:
    if name not in ACCEPTED_HASHES:
        raise error(f"hash algorithm {name} not accepted (only {', '.join(ACCEPTED_HASHES)})")
    return hashlib.new(name, data).digest()


__all__ = [
    "ACCEPTED_HASHES",
    "TimestampInvalid",
    "TokenInfo",
    "TsaRequestInvalid",
    "issue_token",
    "make_rejection",
    "make_request",
    "parse_token",
    "verify_token",
]



def issued_by_any(cert_der: bytes, issuers_pem: Iterable[bytes]) -> bool:
    """True if ``cert_der`` is one of ``issuers_pem`` or directly signed by one of them.

    Used to tell an independent TSA from one whose certificate is the server's
    own (issued by the embedded TSA's CA or the server CA): configuring a URL
    does not make a TSA independent, its chain does.
    """
    cert = x509.load_der_x509_certificate(cert_der)
    for issuer in _load_pems(issuers_pem):
        if issuer == cert:
            return True
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False
