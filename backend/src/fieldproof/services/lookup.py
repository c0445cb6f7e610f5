"""Public verification helpers: "was this file anchored?" and "what does this token say?".

Both answer anyone, without an account (the /verify page calls them), so they
say no more than the public log already does:

* :meth:`Lookup.find` takes a SHA-256 and tells whether a capture with that
  media (or manifest) hash is in the log, and since when: the capture's kind,
  the server's receipt time, its leaf index and the first timestamped
  checkpoint holding it with its TSA genTimes. Never the owner, the device,
  the location, the capture id or the file. Knowing a hash only shows that the
  caller holds the file (or its hash); the leaf index, receipt time and hashes
  are public in ``GET /log/entries`` anyway, and the kind is what the holder of
  the file can see by opening it.
* :func:`explain_timestamp` checks one RFC 3161 token over a checkpoint text
  step by step, against the TSAs this server is configured with, so a browser
  (which cannot verify CMS) can show why a token is or is not good. Only the
  token and the checkpoint are sent, never the media.

:class:`TokenBucket` rate-limits both per client address.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from sqlalchemy import or_, select

from ..core.timestamp import (
    ACCEPTED_HASHES,
    EMBEDDED_POLICY_OID,
    TimestampInvalid,
    TokenInfo,
    parse_token,
    verify_token,
)
from ..db import Capture, Database, LogCheckpoint, LogEntry, LogTimestamp
from ..errors import BadRequest, RateLimited
from ..tsa import TimestampAuthority
from .ingest import iso

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_MATCHES = 20


# --------------------------------------------------------------------------- rate limit
@dataclass
class TokenBucket:
    """Per-key token bucket: ``capacity`` requests at once, then ``per_second``.

    In memory, per process (each gunicorn worker keeps its own buckets). Full
    buckets are forgotten once more than ``max_keys`` are tracked, so memory
    stays bounded however many addresses call.
    """

    capacity: float = 30.0
    per_second: float = 0.5
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key: (tokens, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key``'s bucket or raise :class:`RateLimited`."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((cost - tokens) / self.per_second)
                raise RateLimited(f"too many verification requests from this address; try "
                                  f"again in {wait} s", retry_after=wait)
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > self.max_keys:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        for k, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.per_second >= self.capacity:
                del self._buckets[k]


# --------------------------------------------------------------------------- lookup
def normalize_sha256(text: Any) -> str:
    if not isinstance(text, str) or not _HEX64.fullmatch(text.strip().lower()):
        raise BadRequest("expected a SHA-256 as 64 hex digits", code="hash_invalid")
    return text.strip().lower()


@dataclass
class Lookup:
    db: Database

    def find(self, sha256: Any) -> dict[str, Any]:
        """Anchoring facts for every capture whose media or manifest hashes to ``sha256``."""
        digest = normalize_sha256(sha256)
        with self.db.reading() as s:
            rows = s.execute(
                select(Capture.id, Capture.kind, Capture.received_at, Capture.partial,
                       Capture.media_sha256, LogEntry.leaf_index)
                .outerjoin(LogEntry, (LogEntry.capture_id == Capture.id)
                           & (LogEntry.kind == "capture"))
                .where(or_(Capture.media_sha256 == digest, Capture.manifest_hash == digest))
                .order_by(Capture.received_at, Capture.seq)
                .limit(MAX_MATCHES + 1)).all()
            matches = []
            for _cid, kind, received_at, partial, media_sha256, leaf_index in rows[:MAX_MATCHES]:
                checkpoint = None
                if leaf_index is not None:
                    # The receipt's checkpoint: the first timestamped one holding the leaf.
                    cp = s.scalar(
                        select(LogCheckpoint)
                        .where(LogCheckpoint.size > leaf_index,
                               select(LogTimestamp.id).where(
                                   LogTimestamp.checkpoint_size == LogCheckpoint.size,
                                   LogTimestamp.token.is_not(None)).exists())
                        .order_by(LogCheckpoint.size).limit(1))
                    if cp is not None:
                        stamps = s.scalars(
                            select(LogTimestamp)
                            .where(LogTimestamp.checkpoint_size == cp.size,
                                   LogTimestamp.token.is_not(None))
                            .order_by(LogTimestamp.id)).all()
                        checkpoint = {
                            "tree_size": cp.size, "created_at": iso(cp.created_at),
                            "timestamps": [{"tsa": t.tsa, "embedded": t.embedded,
                                            "gen_time": iso(t.gen_time)} for t in stamps]}
                matches.append({
                    "matched": "media" if media_sha256 == digest else "manifest",
                    "kind": kind, "partial": bool(partial),
                    "received_at": iso(received_at),
                    "anchored": checkpoint is not None,
                    "leaf_index": leaf_index,
                    "checkpoint": checkpoint})
        return {"sha256": digest, "found": bool(matches), "matches": matches,
                "truncated": len(rows) > MAX_MATCHES}


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
