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
# Every step's codes and each code's parameters, in step order. The page has a
# sentence in English and Chinese for each (shared/vectors/verify/timestamp-steps.json
# is this table; tests/public/test_verify_api.py keeps the two equal).
STEP_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "parse": {"token": ("bytes",), "response": ("bytes",), "unreadable": ("bytes", "reason")},
    "status": {"granted": (), "not_granted": ("status", "fail_info", "text")},
    "tsa": {"named": ("name", "serial"), "unnamed": ()},
    "gen_time": {"accuracy": ("time", "seconds"), "no_accuracy": ("time",)},
    "policy": {"embedded": ("oid",), "other": ("oid",)},
    "hash_algorithm": {"accepted": ("algorithm", "accepted"),
                       "not_accepted": ("algorithm", "accepted")},
    "message_imprint": {"matches": ("algorithm", "bytes", "digest", "stamped"),
                        "other_data": ("algorithm", "bytes", "digest", "stamped"),
                        "not_checked_algorithm": ()},
    "signer_certificate": {
        "valid": ("subject", "issuer", "fingerprint", "not_before", "not_after"),
        "not_valid_then": ("subject", "issuer", "fingerprint", "not_before", "not_after"),
        "missing": ()},
    "chain": {"to_root": ("certificates", "root", "fingerprint", "tsa"),
              "unknown_issuer": ("issuer", "known"), "not_checked_signer": ()},
    "signature": {"verified": (), "rejected": ("reason",), "not_checked_root": (),
                  "not_checked_imprint": ()},
    "independence": {"embedded": (), "external": ("tsa",), "unknown": (),
                     "unknown_fieldproof": ()},
}


@dataclass
class _Steps:
    """Each step as a code and its parameters: the page says it in the reader's language."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str, ok: bool, code: str, **params: Any) -> bool:
        if tuple(params) != STEP_CODES[step][code]:
            raise AssertionError(f"{step}.{code} takes {STEP_CODES[step][code]}, not "
                                 f"{tuple(params)}")
        self.steps.append({"step": step, "ok": ok, "code": code, "params": params})
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
    """Check ``token`` over ``checkpoint`` step by step; every step says why.

    Steps carry a ``code`` and ``params`` (shared/PROTOCOL.md lists them), never
    a sentence: the /verify page words them in English or Chinese. The free
    texts are ``reason`` (a library's words) and the TSA's own status text.
    """
    out = _Steps()
    result: dict[str, Any] = {"ok": False, "tsa": None, "embedded": None, "gen_time": None,
                              "steps": out.steps}
    try:
        info: TokenInfo = parse_token(token)
    except TimestampInvalid as exc:
        if "tsa_status" in exc.extra:  # well formed, but not granted
            out.add("parse", True, "response", bytes=len(token))
            out.add("status", False, "not_granted", status=exc.extra["tsa_status"],
                    fail_info=", ".join(exc.extra["fail_info"]),
                    text="; ".join(exc.extra["status_text"]))
        else:
            out.add("parse", False, "unreadable", bytes=len(token), reason=exc.detail)
        return result
    out.add("parse", True, "token", bytes=len(token))
    out.add("status", True, "granted")
    result["gen_time"] = iso(info.gen_time)
    result["tsa"] = info.tsa_name
    if info.tsa_name:
        out.add("tsa", True, "named", name=info.tsa_name, serial=f"{info.serial:#x}")
    else:
        out.add("tsa", False, "unnamed")
    if info.accuracy is not None:
        out.add("gen_time", True, "accuracy", time=iso(info.gen_time),
                seconds=info.accuracy.total_seconds())
    else:
        out.add("gen_time", True, "no_accuracy", time=iso(info.gen_time))
    out.add("policy", True, "embedded" if info.policy == EMBEDDED_POLICY_OID else "other",
            oid=info.policy)
    alg_ok = out.add("hash_algorithm", info.hash_alg in ACCEPTED_HASHES,
                     "accepted" if info.hash_alg in ACCEPTED_HASHES else "not_accepted",
                     algorithm=info.hash_alg, accepted=", ".join(ACCEPTED_HASHES))
    imprint_ok = False
    if alg_ok:
        mine = hashlib.new(info.hash_alg, checkpoint).digest()
        imprint_ok = mine == info.message_imprint
        out.add("message_imprint", imprint_ok, "matches" if imprint_ok else "other_data",
                algorithm=info.hash_alg, bytes=len(checkpoint), digest=mine.hex(),
                stamped=info.message_imprint.hex())
    else:
        out.add("message_imprint", False, "not_checked_algorithm")

    signer: x509.Certificate | None = None
    if info.signer_cert_der is None:
        out.add("signer_certificate", False, "missing")
    else:
        signer = x509.load_der_x509_certificate(info.signer_cert_der)
        valid = _valid_at(signer, info.gen_time)
        out.add("signer_certificate", valid, "valid" if valid else "not_valid_then",
                subject=signer.subject.rfc4514_string(),
                issuer=signer.issuer.rfc4514_string(), fingerprint=_fingerprint(signer),
                not_before=iso(signer.not_valid_before_utc),
                not_after=iso(signer.not_valid_after_utc))

    known = _known(tsas)
    match: _KnownTsa | None = None
    if signer is not None:
        for tsa in known:
            path = _chain_to(signer, tsa, info.gen_time)
            if path is not None:
                match = tsa
                root = path[-1]
                out.add("chain", True, "to_root", certificates=len(path),
                        root=root.subject.rfc4514_string(), fingerprint=_fingerprint(root),
                        tsa=tsa.name)
                break
        else:
            out.add("chain", False, "unknown_issuer", issuer=signer.issuer.rfc4514_string(),
                    known=", ".join(t.name for t in known))
    else:
        out.add("chain", False, "not_checked_signer")

    if match is None:
        out.add("signature", False, "not_checked_root")
    elif not imprint_ok:
        out.add("signature", False, "not_checked_imprint")
    else:
        try:
            verify_token(token, checkpoint, roots_pem=match.chain[-1:],
                         intermediates_pem=match.chain[:-1])
        except TimestampInvalid as exc:
            out.add("signature", False, "rejected", reason=exc.detail)
        else:
            # the CMS signature over the TSTInfo verifies with the signer certificate,
            # which the signed ESSCertIDv2 names and which may stamp time (rfc3161-client)
            out.add("signature", True, "verified")

    if match is None:
        out.add("independence", False, "unknown_fieldproof" if info.policy == EMBEDDED_POLICY_OID
                else "unknown")
    elif match.embedded:
        result["embedded"] = True
        out.add("independence", True, "embedded")
    else:
        result["embedded"] = False
        out.add("independence", True, "external", tsa=match.name)
    result["ok"] = all(s["ok"] for s in out.steps)
    return result
