"""The facts a certificate states, gathered from the typed records the server has."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fieldproof.capture.records import CaptureRecord
from fieldproof.core.checkpoint import Checkpoint
from fieldproof.core.encoding import b64
from fieldproof.core.manifest import iso
from fieldproof.core.timestamp import issued_by_any, parse_token
from fieldproof.errors import FieldProofError
from fieldproof.log.log import Receipt, StampRecord

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class TimestampFact:
    """One RFC 3161 token over the capture's checkpoint."""

    tsa: str
    gen_time: str  # RFC 3339, as the receipt reports it
    embedded: bool  # True: this server's own TSA, not an independent witness
    # True only if the token's signer certificate is not the server's own (not
    # issued by the embedded TSA's CA or the server CA): being configured as an
    # external URL is not enough
    independent: bool = False
    root_sha256: str | None = None  # "sha256:<hex>" of the TSA's configured root, if known


@dataclass(frozen=True)
class CheckFact:
    name: str
    ok: bool
    detail: str  # English, as the server recorded it
    code: str = ""  # shared/i18n/server.json "code": the reader's language
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebFacts:
    """A web capture: what the server's recorder was asked and what it saw
    (the manifest's "web" member and environment.json)."""

    url: str
    mode: str  # page | video | live
    started_at: str | None
    ended_at: str | None
    browser: str  # "Chromium <version>"
    user_agent: str
    window: str  # "1280×800"
    os: str
    main_status: int | None
    final_url: str | None
    hosts: Sequence[tuple[str, str]]  # ("host:port", address connected to)
    certificates: Sequence[tuple[str, str, str, str]]  # (origin, subject, issuer, leaf SHA-256)
    clock: str  # the server's clock against a TSA's, in words
    files: Sequence[tuple[str, str]]  # (name, SHA-256) of the kept files


def web_facts(manifest: Mapping[str, Any], env: Mapping[str, Any]) -> WebFacts:
    web = manifest.get("web") or {}
    recorded = env.get("recorded") or {}
    browser = env.get("browser") or {}
    window = browser.get("window") or {}
    main = env.get("main_document") or {}
    network = env.get("network") or {}
    clock = env.get("clock") or {}
    tls = env.get("tls") or {}
    offset = clock.get("offset_s")
    return WebFacts(
        url=str(web.get("url", "")), mode=str(web.get("mode", "")),
        started_at=recorded.get("started_at"), ended_at=recorded.get("ended_at"),
        browser=f"Chromium {browser.get('version', '?')}",
        user_agent=str(browser.get("user_agent", "")),
        window=f"{window.get('width', '?')}×{window.get('height', '?')}",
        os=str((env.get("os") or {}).get("distribution") or (env.get("os") or {}).get("system")
               or ""),
        main_status=main.get("status"), final_url=main.get("url"),
        hosts=tuple(sorted((str(k), str(v)) for k, v in (network.get("connected") or {})
                           .items())),
        certificates=tuple((str(origin), str(c.get("subject", "")), str(c.get("issuer", "")),
                            str((c.get("chain_sha256") or [""])[0]))
                           for origin, c in sorted(tls.items())),
        clock=(f"{clock.get('tsa')}: {offset:+.3f} s" if isinstance(offset, int | float)
               else "—"),
        files=tuple((str(f.get("name")), str(f.get("sha256"))) for f in web.get("files") or ()))


@dataclass(frozen=True)
class CertificateFacts:
    """Everything the certificate prints, and nothing it has to look up."""

    capture_id: str
    kind: str  # photo | audio | video | screen | import
    mime: str
    size: int  # bytes
    media_name: str  # the file name inside the bundle's media/ folder
    media_sha256: str  # hex
    manifest_sha256: str  # hex
    key_id: str  # RFC 7638 thumbprint of the device key
    device: Mapping[str, Any]  # the manifest's "device" object
    geo: Mapping[str, Any] | None  # the manifest's "geo": a fix, {"absent": why} or None
    device_time_start: str | None  # manifest captured.start (the device's clock)
    device_time_end: str | None  # manifest captured.end
    received_at: str  # server receipt time
    timestamps: Sequence[TimestampFact]
    leaf_index: int
    tree_size: int
    checkpoint_origin: str
    checkpoint_size: int
    checkpoint_root: str  # base64, exactly as in checkpoint.txt
    checks: Sequence[CheckFact]
    verify_url: str  # <public base url>/verify?capture=<id>
    exported_at: str
    partial: bool = False  # an interrupted stream: what arrived, under a signed header
    signer_root_sha256: str | None = None  # fingerprint of the CA that signs this PDF
    verdict: Sequence[Mapping[str, Any]] = ()  # core/verdict.py parts, rendered per language
    thumbnail: bytes | None = None  # a JPEG the reader recognises (photo, frame, waveform)
    operator: str | None = None  # who runs the server (FIELDPROOF_OPERATOR_NAME)
    place: Mapping[str, Any] | None = None  # capture/places.py, near the fix
    imported_name: str | None = None  # an import: the file's own name
    device_revoked_at: str | None = None  # the device key was revoked later
    log_key_sha256: str | None = None  # "sha256:<hex>" of the log's Ed25519 public key
    web: WebFacts | None = None  # a web capture (kind "web")
    # a recording's completeness (capture/continuity.py): timeline, gaps, joins
    continuity: Mapping[str, Any] | None = None
    context: Mapping[str, Any] | None = None  # the signed manifest's "context": a call, a meeting

    @property
    def embedded_only(self) -> bool:
        """No independent TSA dated this evidence: the operator could re-date it."""
        return not any(t.independent for t in self.timestamps)


def verify_url(public_base_url: str, capture_id: str, media_sha256: str | None = None) -> str:
    """The verification page for a capture (the PWA's /verify route). With the
    media hash, anyone who scans it sees, signed out, whether and when that file
    was anchored; the owner, signed in, also gets the receipt checked."""
    url = f"{public_base_url.rstrip('/')}/verify?capture={quote(capture_id, safe='')}"
    return url + (f"&sha256={media_sha256}" if media_sha256 else "")


def facts_from_records(capture: CaptureRecord, receipt: Receipt, *, media_name: str,
                       public_base_url: str, exported_at: str,
                       signer_root_sha256: str | None = None, thumbnail: bytes | None = None,
                       operator: str | None = None, own_roots_pem: Sequence[bytes] = (),
                       tsa_roots_pem: Mapping[str, bytes] | None = None,
                       log_key_sha256: str | None = None,
                       web_environment: Mapping[str, Any] | None = None,
                       continuity: Mapping[str, Any] | None = None) -> CertificateFacts:
    """Facts from the capture and its receipt, as the server has them.

    ``own_roots_pem``: the server's own CAs (the embedded TSA's root, the server
    CA); a token whose signer they issued is not independent. ``tsa_roots_pem``:
    each TSA's configured root by name, for its fingerprint.
    """
    manifest = capture.manifest_data
    captured = manifest.get("captured") or {}
    geo = manifest.get("geo")
    cp = Checkpoint.parse(receipt.checkpoint.split("\n\n", 1)[0].encode("utf-8") + b"\n")
    return CertificateFacts(
        capture_id=capture.id, kind=capture.kind, mime=capture.media_mime,
        size=capture.media_size, media_name=media_name, media_sha256=capture.media_sha256,
        manifest_sha256=capture.manifest_hash, key_id=capture.device_key_id,
        device=dict(manifest.get("device") or {}),
        geo=dict(geo) if isinstance(geo, Mapping) else None,
        # a partial stream's "manifest" is its signed header: started_at, no end
        device_time_start=captured.get("start") or manifest.get("started_at"),
        device_time_end=captured.get("end"),
        received_at=iso(capture.received_at) or "",
        timestamps=tuple(_timestamp_fact(t, own_roots_pem, tsa_roots_pem or {})
                         for t in receipt.timestamps),
        leaf_index=receipt.leaf_index, tree_size=receipt.tree_size,
        checkpoint_origin=cp.origin, checkpoint_size=receipt.tree_size,
        checkpoint_root=b64(receipt.checkpoint_root),
        checks=tuple(CheckFact(c.name, c.ok, c.detail, c.code, dict(c.params))
                     for c in capture.checks),
        verify_url=verify_url(public_base_url, capture.id, capture.media_sha256),
        exported_at=exported_at, partial=capture.partial,
        signer_root_sha256=signer_root_sha256, verdict=tuple(capture.verdict()),
        thumbnail=thumbnail, operator=operator, place=capture.place,
        imported_name=str((manifest.get("media") or {}).get("name") or "") or None
        if capture.kind == "import" else None,
        device_revoked_at=iso(capture.device_revoked_at), log_key_sha256=log_key_sha256,
        web=web_facts(manifest, web_environment)
        if capture.kind == "web" and web_environment is not None else None,
        continuity=continuity,
        context=manifest.get("context") if isinstance(manifest.get("context"), Mapping)
        else None)


def _timestamp_fact(t: StampRecord, own_roots_pem: Sequence[bytes],
                    tsa_roots_pem: Mapping[str, bytes]) -> TimestampFact:
    independent = False
    if not t.embedded:
        try:
            signer = parse_token(t.token).signer_cert_der
            independent = signer is not None and not issued_by_any(signer, own_roots_pem)
        except (FieldProofError, ValueError) as exc:
            log.warning("cannot tell whether TSA %s is independent: %s", t.tsa, exc)
    root = tsa_roots_pem.get(t.tsa)
    return TimestampFact(tsa=t.tsa, gen_time=iso(t.gen_time) or "", embedded=t.embedded,
                         independent=independent,
                         root_sha256=pem_sha256(root) if root else None)


def pem_sha256(pem: bytes) -> str:
    """"sha256:<hex>" of a PEM certificate's DER, as the verifiers print anchors."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return "sha256:" + x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
