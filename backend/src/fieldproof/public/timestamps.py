"""Explain one RFC 3161 token over a checkpoint, step by step.

Against the TSAs this server is configured with, so that a browser (which
cannot verify CMS) can show why a token is or is not good. Only the token and
the checkpoint are sent, never the media.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from fieldproof.core.manifest import iso
from fieldproof.core.timestamp import (
    ACCEPTED_HASHES,
    EMBEDDED_POLICY_OID,
    TokenInfo,
    parse_token,
    verify_token,
)
from fieldproof.errors import TimestampInvalid
from fieldproof.tsa import TimestampAuthority

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_MATCHES = 20


# --------------------------------------------------------------------------- timestamps
@dataclass
class _Steps:
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, ok: bool, detail: str) -> bool:
        self.steps.append({"step": step, "ok": ok, "detail": detail})
        return ok


@dataclass(frozen=True)
class _KnownTsa:
    name: str
    embedded: bool
    chain: list[bytes]  # PEM, root last

    @property
    def certs(self) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(p) for p in self.chain]


def _known(tsas: Sequence[TimestampAuthority]) -> list[_KnownTsa]:
    out = []
    for tsa in tsas:
        chain_fn = getattr(tsa, "chain_pem", None)
        chain = list(chain_fn()) if chain_fn else []
        if chain:
            out.append(_KnownTsa(tsa.name, tsa.embedded, chain))
    return out


def _fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def _valid_at(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _chain_to(signer: x509.Certificate, tsa: _KnownTsa,
              when: datetime) -> list[x509.Certificate] | None:
    """signer, ..., root of ``tsa`` by issuer signatures (validity checked at ``when``)."""
    certs = tsa.certs
    root = certs[-1]
    path = [signer]
    cert = signer
    for _ in range(len(certs) + 1):
        if cert == root:
            return path if all(_valid_at(c, when) for c in path) else None
        issuer = next((c for c in certs if c.subject == cert.issuer and c != cert), None)
        if issuer is None:
            return None
        try:
            cert.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return None
        path.append(issuer)
        cert = issuer
    return None


def explain_timestamp(token: bytes, checkpoint: bytes,
                      tsas: Sequence[TimestampAuthority]) -> dict[str, Any]:
    """Check ``token`` over ``checkpoint`` step by step; every step says why."""
    out = _Steps()
    result: dict[str, Any] = {"ok": False, "tsa": None, "embedded": None, "gen_time": None,
                              "steps": out.steps}
    try:
        info: TokenInfo = parse_token(token)
    except TimestampInvalid as exc:
        if exc.detail.startswith("TSA answered"):  # well formed, but not granted
            out.add("parse", True, f"a DER TimeStampResp ({len(token)} bytes)")
            out.add("status", False, exc.detail)
        else:
            out.add("parse", False, exc.detail)
        return result
    out.add("parse", True, f"a DER TimeStampResp ({len(token)} bytes) holding a CMS "
                           "SignedData TSTInfo")
    out.add("status", True, "PKIStatus granted")
    result["gen_time"] = iso(info.gen_time)
    result["tsa"] = info.tsa_name
    out.add("tsa", info.tsa_name is not None,
            f"{info.tsa_name}, serial {info.serial:#x}" if info.tsa_name else
            "the token names no signer certificate")
    acc = (f"accuracy ±{info.accuracy.total_seconds():g} s" if info.accuracy is not None
           else "no accuracy stated (unknown)")
    out.add("gen_time", True, f"{info.gen_time.isoformat()} ({acc})")
    out.add("policy", True, info.policy + (" (the FieldProof embedded TSA's policy)"
                                           if info.policy == EMBEDDED_POLICY_OID else ""))
    alg_ok = out.add("hash_algorithm", info.hash_alg in ACCEPTED_HASHES,
                     f"{info.hash_alg}" + ("" if info.hash_alg in ACCEPTED_HASHES else
                                           f" is not accepted (only "
                                           f"{', '.join(ACCEPTED_HASHES)})"))
    imprint_ok = False
    if alg_ok:
        mine = hashlib.new(info.hash_alg, checkpoint).digest()
        imprint_ok = out.add(
            "message_imprint", mine == info.message_imprint,
            f"{info.hash_alg} of the checkpoint ({len(checkpoint)} bytes) is {mine.hex()}, "
            "as the token says" if mine == info.message_imprint else
            f"the token time-stamps {info.message_imprint.hex()}, the checkpoint "
            f"({len(checkpoint)} bytes) hashes to {mine.hex()}: it is a token over "
            "other data")
    else:
        out.add("message_imprint", False, "not checked: hash algorithm not accepted")

    signer: x509.Certificate | None = None
    if info.signer_cert_der is None:
        out.add("signer_certificate", False, "the token carries no signer certificate")
    else:
        signer = x509.load_der_x509_certificate(info.signer_cert_der)
        valid = _valid_at(signer, info.gen_time)
        out.add("signer_certificate", valid,
                f"{signer.subject.rfc4514_string()}, issued by "
                f"{signer.issuer.rfc4514_string()}, {_fingerprint(signer)}; "
                + ("valid at genTime" if valid else
                   f"NOT valid at genTime (valid {signer.not_valid_before_utc.isoformat()} "
                   f"to {signer.not_valid_after_utc.isoformat()})"))

    known = _known(tsas)
    match: _KnownTsa | None = None
    if signer is not None:
        for tsa in known:
            path = _chain_to(signer, tsa, info.gen_time)
            if path is not None:
                match = tsa
                root = path[-1]
                out.add("chain", True,
                        f"{len(path)} certificates to the root {root.subject.rfc4514_string()} "
                        f"({_fingerprint(root)}) of '{tsa.name}', a TSA this server is "
                        "configured with")
                break
        else:
            names = ", ".join(f"'{t.name}'" for t in known) or "none"
            out.add("chain", False,
                    f"the signer's issuer {signer.issuer.rfc4514_string()} does not chain to "
                    f"a TSA this server knows ({names})")
    else:
        out.add("chain", False, "not checked: no signer certificate")

    if match is None:
        out.add("signature", False, "not checked: no trusted root for this token's TSA")
    elif not imprint_ok:
        out.add("signature", False, "not checked: the token does not time-stamp this "
                                    "checkpoint")
    else:
        try:
            verify_token(token, checkpoint, roots_pem=match.chain[-1:],
                         intermediates_pem=match.chain[:-1])
        except TimestampInvalid as exc:
            out.add("signature", False, exc.detail)
        else:
            out.add("signature", True,
                    "the CMS signature over the TSTInfo verifies with the signer "
                    "certificate, which the signed ESSCertIDv2 names and which is "
                    "authorised for timeStamping (rfc3161-client)")

    if match is None:
        out.add("independence", False, "unknown TSA: neither this server's own nor one it "
                                       "is configured to trust"
                + ("; its policy is the FieldProof embedded TSA's, so it is another "
                   "FieldProof server's own TSA" if info.policy == EMBEDDED_POLICY_OID
                   else ""))
    elif match.embedded:
        result["embedded"] = True
        out.add("independence", True, "embedded: this server's own TSA, not an independent "
                                      "witness")
    else:
        result["embedded"] = False
        out.add("independence", True, f"external TSA '{match.name}': a witness independent "
                                      "of this server")
    result["ok"] = all(s["ok"] for s in out.steps)
    return result
