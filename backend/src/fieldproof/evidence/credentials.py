"""C2PA Content Credentials: a copy of the original that carries its provenance inside.

The credentialed copy is the original with a C2PA manifest store embedded
(c2pa-python, the Rust c2pa SDK). It is signed with the server's "c2pa"
identity (services/server_identity.py) and its signature is RFC 3161
timestamped. The manifest holds:

- the original as the ``parentOf`` ingredient (its SHA-256 in the ingredient's
  ``instanceID`` and ``metadata``);
- ``c2pa.actions.v2``: ``c2pa.created`` with the IPTC digital source type
  ``digitalCapture`` (``screenCapture`` for screen recordings), ``when`` = the
  device's capture start, the capture app as ``softwareAgent``; for files the
  device imported (manifest ``kind: import``) ``c2pa.opened`` of the ingredient
  and no source type, since nobody here saw the file being made;
- ``c2pa.metadata``: the signed GPS fix and the capture time as EXIF (XMP)
  fields, the C2PA 2.x home for them (``stds.exif`` is deprecated);
- ``org.fieldproof.capture``: the capture id, the exact signed manifest, its
  SHA-256, the device signature and key id, device metadata, device and
  server times, the original's SHA-256/size/MIME and, once sequenced, the
  log origin and leaf index.

For JPEG and PNG the SDK only inserts the manifest, so the copy's hard binding
(``c2pa.hash.data``, the hash of every byte outside the manifest) equals the
original's SHA-256. Other containers rewrite a header (RIFF sizes, BMFF
offsets) and their binding hash differs from the file hash.

WebM, Matroska and Ogg (what browsers record), which C2PA cannot carry, are
first converted to MP4 (services/remux.py, in a child process): a stream copy
of every packet where MP4 takes the codec (Opus, VP9, H.264, ...), a
re-encode only where it does not (VP8 to H.264, Vorbis/PCM to AAC). The
original stays the ``parentOf`` ingredient, and a second action,
``c2pa.repackaged`` (stream copy) or ``c2pa.transcoded``, records the
conversion in its ``org.fieldproof.derivation`` parameter: codecs, method,
encoder and settings, PyAV/FFmpeg versions and per-stream payload hashes of
source and copy (equal for copied streams).

Each copy is signed anew: the manifest label, the ECDSA signature and the
timestamp differ between two copies of the same capture, so unlike the
display/privacy copies it is not a pure function of the original.

Every copy is read back with our root as the only trust anchor before it is
returned; anything but ``Trusted`` without failures raises.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import c2pa

from fieldproof import __version__
from fieldproof.bundle.layout import safe_name
from fieldproof.capture.records import CaptureRecord
from fieldproof.core.checks import same_container
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.formats import extension, normalize
from fieldproof.core.manifest import parse_time
from fieldproof.errors import (
    C2paSelfCheckFailed,
    C2paSigningFailed,
    C2paUnreadable,
    CredentialError,
    TooLarge,
    UnsupportedFormat,
)
from fieldproof.evidence import remux
from fieldproof.evidence.identity import SigningIdentity
from fieldproof.evidence.remux import Remux
from fieldproof.tsa.embedded import EmbeddedTSA
from fieldproof.tsa.loopback import loopback_tsa

log = logging.getLogger(__name__)

DIGITAL_CAPTURE: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
SCREEN_CAPTURE: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/screenCapture"
CAPTURE_ASSERTION: Final = "org.fieldproof.capture"
METADATA_ASSERTION: Final = "c2pa.metadata"
INGREDIENT_ID: Final = "fieldproof-original"  # builder-side label, for ingredientIds
DERIVATION_PARAMETER: Final = "org.fieldproof.derivation"  # in the remux/transcode action
TRUSTED: Final = "Trusted"

# Captures are pictures and recordings; c2pa also signs documents and SVG,
# which no capture is.
_MEDIA_PREFIXES: Final = ("image/", "audio/", "video/")
_NOT_MEDIA: Final = frozenset({"image/svg+xml"})

# Builder settings: no thumbnails (the copy IS the picture, and a 12 MP photo's
# thumbnails cost ~0.7 s and ~0.5 MB), and never reach out while reading an
# ingredient (OCSP, remote manifests named by a user's file).
_BUILD_SETTINGS: Final = {"builder": {"thumbnail": {"enabled": False}},
                          "verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}


# --------------------------------------------------------------------------- formats
def _normalize(mime: str) -> str:
    return normalize(mime)


@cache
def _c2pa_types() -> frozenset[str]:
    return frozenset(m.lower() for m in c2pa.Builder.get_supported_mime_types())


def embeddable(mime: str) -> bool:
    """True when c2pa can embed a manifest in a ``mime`` file itself (image/audio/video only)."""
    fmt = _normalize(mime)
    return fmt.startswith(_MEDIA_PREFIXES) and fmt not in _NOT_MEDIA and fmt in _c2pa_types()


def supported(mime: str) -> bool:
    """True when a ``mime`` capture can have a credentialed copy.

    Either c2pa embeds a manifest in the file's own container, or the
    container is one converted to MP4 first (WebM, Matroska, Ogg: what
    browsers record; see services/remux.py). Parameters such as
    ``;codecs=opus`` are ignored.
    """
    return embeddable(mime) or remux.remuxable(_normalize(mime))


def copy_format(mime: str) -> str:
    """The credentialed copy's type, as far as the name tells (see remux.target_mime)."""
    fmt = _normalize(mime)
    return remux.target_mime(fmt) if remux.remuxable(fmt) and not embeddable(fmt) else fmt


def c2pa_format(mime: str, sniffed: str | None = None) -> str:
    """The original's format for a capture: the claimed type, unless the bytes say otherwise.

    A claim in the same container family as the sniffed type stays (the claim
    names audio vs video, the sniffer only sees the container); a claim the
    bytes contradict gives way to the sniffed type. Raises UnsupportedFormat.
    The copy has this format, or MP4 for a WebM/Matroska/Ogg original.
    """
    fmt = _normalize(mime)
    if sniffed and not same_container(fmt, sniffed):
        fmt = _normalize(sniffed)
    if not supported(fmt):
        raise UnsupportedFormat(
            f"content credentials cannot be embedded in {fmt or 'this file'}; "
            "C2PA supports e.g. JPEG, PNG, WebP, HEIC, MP4/M4A/MOV, WAV, MP3, "
            "and WebM/Matroska/Ogg recordings are converted to MP4")
    return fmt


def file_extension(mime: str) -> str:
    return extension(mime)


def credential_filename(mime: str) -> str:
    """The copy's name inside an evidence bundle's ``derived/`` folder, e.g. ``c2pa.jpg``.

    ``mime`` is the copy's type or the original's: ``audio/webm`` gives
    ``c2pa.m4a``, ``video/webm`` ``c2pa.mp4`` (a video/webm holding only
    audio becomes an ``audio/mp4`` copy: name it from Derived.mime).
    """
    return "c2pa" + file_extension(copy_format(mime))


# --------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class CaptureFacts:
    """What the manifest says about one capture (all of it signed or server-recorded)."""

    capture_id: str
    kind: str
    manifest: dict[str, Any]  # the signed manifest (a partial stream: its signed header)
    manifest_jcs: str  # the exact signed bytes, as text
    manifest_sha256: str
    media_sha256: str
    media_size: int
    media_mime: str
    received_at: datetime  # server clock
    signature_b64url: str | None = None  # the device's signature over manifest_jcs
    partial: bool = False
    leaf_index: int | None = None  # log position, once sequenced
    log_origin: str | None = None

    @classmethod
    def from_capture(cls, capture: CaptureRecord, *, leaf_index: int | None = None,
                     log_origin: str | None = None) -> CaptureFacts:
        return cls(capture_id=capture.id, kind=capture.kind,
                   manifest=json.loads(capture.manifest), manifest_jcs=capture.manifest,
                   manifest_sha256=capture.manifest_hash, media_sha256=capture.media_sha256,
                   media_size=capture.media_size, media_mime=capture.media_mime,
                   received_at=capture.received_at,
                   signature_b64url=b64url_encode(capture.signature) if capture.signature
                   else None,
                   partial=bool(capture.partial), leaf_index=leaf_index,
                   log_origin=log_origin)

    @property
    def imported(self) -> bool:
        return self.kind == "import" or self.manifest.get("kind") == "import"

    @property
    def device(self) -> dict[str, Any]:
        return dict(self.manifest.get("device") or {})

    @property
    def started(self) -> str | None:
        """Device clock: the capture start (a stream header calls it started_at)."""
        captured = self.manifest.get("captured") or {}
        value = captured.get("start") or self.manifest.get("started_at")
        return str(value) if value else None

    @property
    def ended(self) -> str | None:
        value = (self.manifest.get("captured") or {}).get("end")
        return str(value) if value else None

    @property
    def geo(self) -> dict[str, Any] | None:
        geo = self.manifest.get("geo")
        if isinstance(geo, dict) and "lat" in geo and "lon" in geo:
            return geo
        return None


def _utc(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _xmp_coordinate(value: float, pos: str, neg: str) -> str:
    """XMP GPS coordinate "DDD,MM.mmmmmmK" (EXIF in XMP), integer math for stable digits."""
    micro_minutes = round(abs(value) * 60 * 1_000_000)  # 1e-6 minute: ~2 mm
    deg, rest = divmod(micro_minutes, 60_000_000)
    minutes, frac = divmod(rest, 1_000_000)
    return f"{deg},{minutes}.{frac:06d}{pos if value >= 0 else neg}"


def _rational(value: float, denom: int = 100) -> str:
    return f"{round(abs(value) * denom)}/{denom}"


def _local_time(start: str, tz_name: str) -> str:
    """The capture start as an XMP date in the device's zone (UTC if unknown)."""
    t = parse_time(start)
    try:
        tz: Any = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return str(t.astimezone(tz).isoformat(timespec="milliseconds"))


def _metadata(facts: CaptureFacts) -> dict[str, Any] | None:
    """``c2pa.metadata``: only EXIF fields C2PA 2.x allows there (GPS, DateTimeOriginal)."""
    data: dict[str, Any] = {}
    geo = facts.geo
    if geo is not None:
        lat, lon = float(geo["lat"]), float(geo["lon"])
        data["exif:GPSVersionID"] = "2.3.0.0"
        data["exif:GPSLatitude"] = _xmp_coordinate(lat, "N", "S")
        data["exif:GPSLongitude"] = _xmp_coordinate(lon, "E", "W")
        data["exif:GPSMapDatum"] = "WGS-84"
        alt = geo.get("altitude")
        if isinstance(alt, int | float):
            data["exif:GPSAltitudeRef"] = "0" if alt >= 0 else "1"
            data["exif:GPSAltitude"] = _rational(alt)
        acc = geo.get("accuracy")
        if isinstance(acc, int | float):
            data["exif:GPSHPositioningError"] = _rational(acc)
        if isinstance(geo.get("fixed_at"), str):
            data["exif:GPSTimeStamp"] = geo["fixed_at"]
    started = facts.started
    if started and not facts.imported:  # an import's start is when it was picked
        with suppress(ValueError):
            data["exif:DateTimeOriginal"] = _local_time(
                started, str(facts.device.get("timezone") or ""))
    if not data:
        return None
    return {"@context": {"exif": "http://ns.adobe.com/exif/1.0/"}, **data}


def _capture_assertion(facts: CaptureFacts) -> dict[str, Any]:
    return {
        "v": 1,
        "capture_id": facts.capture_id,
        "kind": facts.kind,
        "imported": facts.imported,
        "partial": facts.partial,
        "manifest_sha256": facts.manifest_sha256,
        "manifest": facts.manifest_jcs,  # hashes to manifest_sha256; what the device signed
        "device_signature": facts.signature_b64url,  # ECDSA P-256 r||s, base64url
        "device": facts.device,  # includes key_id (the device key's JWK thumbprint)
        "original": {"sha256": facts.media_sha256, "size": facts.media_size,
                     "mime": facts.media_mime},
        "time": {"device_start": facts.started, "device_end": facts.ended,
                 "server_received": _utc(facts.received_at)},
        "geo": facts.manifest.get("geo"),
        "log": (None if facts.leaf_index is None
                else {"origin": facts.log_origin, "leaf_index": facts.leaf_index}),
    }


def _action(facts: CaptureFacts) -> dict[str, Any]:
    device = facts.device
    action: dict[str, Any]
    if facts.imported:
        action = {"action": "c2pa.opened",
                  "parameters": {"ingredientIds": [INGREDIENT_ID]},
                  "description": "A file imported from the device's storage: it proves "
                                 "existence from upload time only."}
    else:
        action = {"action": "c2pa.created",
                  "digitalSourceType": SCREEN_CAPTURE if facts.kind == "screen"
                  else DIGITAL_CAPTURE,
                  "description": f"{facts.kind} captured and signed on the device "
                                 f"(key {device.get('key_id', '?')})"}
    if facts.started:
        action["when"] = facts.started
    app = device.get("app_version")
    if isinstance(app, str) and app:
        action["softwareAgent"] = {"name": app}
    return action


def _derivation_action(derivation: Remux, when: datetime) -> dict[str, Any]:
    """``c2pa.repackaged`` (stream copy) or ``c2pa.transcoded``: original -> MP4 copy."""
    return {"action": derivation.action,
            "when": _utc(when),
            "softwareAgent": {"name": "FieldProof", "version": __version__},
            "description": derivation.description(),
            "parameters": {"ingredientIds": [INGREDIENT_ID],
                           DERIVATION_PARAMETER: derivation.parameters()}}


def manifest_definition(fmt: str, facts: CaptureFacts, derivation: Remux | None = None, *,
                        when: datetime | None = None) -> dict[str, Any]:
    """The c2pa Builder's manifest JSON for ``facts`` (without the ingredient).

    ``fmt`` is the copy's format; ``derivation`` what converted the original
    to it (WebM/Ogg to MP4), recorded as a second action at ``when`` (now).
    """
    actions = [_action(facts)]
    if derivation is not None:
        actions.append(_derivation_action(derivation, when or datetime.now(UTC)))
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions.v2", "data": {"actions": actions}}]
    metadata = _metadata(facts)
    if metadata is not None:
        assertions.append({"label": METADATA_ASSERTION, "kind": "Json", "data": metadata})
    assertions.append({"label": CAPTURE_ASSERTION, "kind": "Json",
                       "data": _capture_assertion(facts)})
    return {
        "claim_generator_info": [{"name": "FieldProof", "version": __version__}],
        "title": f"{facts.capture_id}-{credential_filename(fmt)}",
        "format": fmt,
        "assertions": assertions,
    }


def _ingredient(fmt: str, facts: CaptureFacts) -> dict[str, Any]:
    name = (facts.manifest.get("media") or {}).get("name")
    title = safe_name(name, default="original") if isinstance(name, str) and name.strip() \
        else "original" + file_extension(fmt)
    return {
        "title": title,
        "relationship": "parentOf",
        "label": INGREDIENT_ID,
        "instance_id": f"fieldproof:sha256:{facts.media_sha256}",
        "description": "The original, as signed by the device and stored byte-exact",
        "metadata": {"dateTime": _utc(facts.received_at),
                     "org.fieldproof.sha256": facts.media_sha256,
                     "org.fieldproof.capture_id": facts.capture_id},
    }


# --------------------------------------------------------------------------- TSA
def _url_name(url: str) -> str:
    """host[:port]/path: no credentials, as tsa/http.py names external TSAs."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname}{port}{parts.path}".rstrip("/")


@contextmanager
def _tsa_url(target: EmbeddedTSA | str | None) -> Iterator[str | None]:
    if target is None or isinstance(target, str):
        yield target
    else:
        with loopback_tsa(target) as url:
            yield url


def _tsa_name(target: EmbeddedTSA | str | None) -> str:
    if target is None:
        return "none"
    if isinstance(target, str):
        return _url_name(target)
    return f"{target.name} (embedded)"


# --------------------------------------------------------------------------- signing
def _settings(extra: dict[str, Any] | None = None) -> Any:
    data = json.loads(json.dumps(_BUILD_SETTINGS))
    if extra:
        data.update(extra)
    return c2pa.Settings.from_dict(data)


def _sign_once(src: IO[bytes], dst: IO[bytes], fmt: str, definition: dict[str, Any],
               ingredient: dict[str, Any], identity: SigningIdentity,
               tsa_url: str | None, original: IO[bytes], original_fmt: str) -> None:
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.chain_pem,
                               identity.key_pem, tsa_url)
    with c2pa.Signer.from_info(info) as signer, \
            c2pa.Context(_settings()) as context, \
            c2pa.Builder(definition, context) as builder:
        original.seek(0)
        builder.add_ingredient(ingredient, original_fmt, original)
        src.seek(0)
        builder.sign(signer, fmt, src, dst)


@dataclass(frozen=True)
class Signed:
    format: str  # the copy's MIME type (MP4 for a converted WebM/Ogg original)
    tsa: str  # which TSA timestamped the signature ("none" when none was given)
    derivation: Remux | None = None  # how a WebM/Ogg original became the MP4 copy


def write_credential_copy(src: IO[bytes], dst: IO[bytes], mime: str, facts: CaptureFacts,
                          identity: SigningIdentity,
                          tsas: Sequence[EmbeddedTSA | str] = (), *,
                          sniffed: str | None = None) -> Signed:
    """Write the credentialed copy of ``src`` (the original) to ``dst``.

    ``src`` must be seekable; ``dst`` seekable, readable and writable (it is
    truncated first and read back for the self-check), e.g. a ``w+b``
    temporary file for recordings too large for memory.

    ``tsas`` are tried in order until one answers: a URL is given to c2pa as
    is (an external RFC 3161 TSA); an EmbeddedTSA is served on 127.0.0.1 for
    the signing (see _loopback_tsa). Empty: no timestamp. All failing raises
    CredentialError ``c2pa_signing_failed`` (503); a file c2pa cannot parse
    raises UnsupportedFormat (409); a copy that does not read back Trusted
    under ``identity.root_pem`` raises CredentialError ``c2pa_self_check_failed``.

    A WebM/Matroska/Ogg original is converted to MP4 first (temporary files,
    a child process; see services/remux.py): one that cannot be raises
    UnsupportedFormat (409), one that takes too long TooLarge (413). The
    returned Signed says what the copy is and how it was derived.
    """
    fmt = c2pa_format(mime, sniffed)
    if embeddable(fmt):
        return _write_signed(src, dst, fmt, facts, identity, tsas, original=src,
                             original_fmt=fmt)
    with tempfile.TemporaryDirectory(prefix="fieldproof-c2pa-") as tmp:
        try:
            path, derivation = remux.to_mp4(src, fmt, Path(tmp))
        except remux.RemuxError as exc:
            if exc.timed_out:
                raise TooLarge(f"converting this {fmt} recording to MP4 for content "
                               f"credentials takes too long: {exc}") from exc
            raise UnsupportedFormat(f"content credentials need an MP4 copy of this {fmt} "
                                    f"file, which cannot be made: {exc}") from exc
        log.info("c2pa copy of %s: %s", facts.capture_id, derivation.description())
        with open(path, "rb") as media:
            return _write_signed(media, dst, derivation.mime, facts, identity, tsas,
                                 original=src, original_fmt=fmt, derivation=derivation)


def _write_signed(src: IO[bytes], dst: IO[bytes], fmt: str, facts: CaptureFacts,
                  identity: SigningIdentity, tsas: Sequence[EmbeddedTSA | str], *,
                  original: IO[bytes], original_fmt: str,
                  derivation: Remux | None = None) -> Signed:
    """Sign ``src`` (a ``fmt`` file) into ``dst`` with ``original`` as the ingredient."""
    definition = manifest_definition(fmt, facts, derivation)
    ingredient = _ingredient(original_fmt, facts)
    targets: list[EmbeddedTSA | str | None] = list(tsas) or [None]
    failures: list[str] = []
    used: EmbeddedTSA | str | None = None
    for target in targets:
        name = _tsa_name(target)
        dst.seek(0)
        dst.truncate()
        try:
            with _tsa_url(target) as url:
                _sign_once(src, dst, fmt, definition, ingredient, identity, url,
                           original, original_fmt)
        except (c2pa.C2paError.Signature, c2pa.C2paError.Verify) as exc:
            # Signature: a TSA that is down or refuses (or, for every TSA alike, a
            # bad key). Verify: c2pa checks its own result before returning and
            # rejects a TSA certificate outside the C2PA profile (e.g. one with no
            # authority key identifier: "signingCredential.invalid").
            reason = str(exc)
            if isinstance(target, str):
                reason = reason.replace(target, name)  # no credentials in messages
            log.warning("c2pa signing with TSA %s failed: %s", name, reason)
            failures.append(f"{name}: {reason}")
            continue
        except c2pa.C2paError as exc:
            raise UnsupportedFormat(f"c2pa cannot embed credentials in this {fmt} file: "
                                    f"{exc}") from exc
        used = target
        break
    else:
        raise C2paSigningFailed("the content credentials could not be signed and "
                              "timestamped: " + "; ".join(failures))
    dst.seek(0)
    report = read_credential(dst, fmt, [identity.root_pem])
    if report.state != TRUSTED or report.failure:
        raise C2paSelfCheckFailed(f"the signed copy reads back as {report.state} "
                              f"({', '.join(report.failure) or 'no failure codes'})")
    dst.seek(0)
    return Signed(format=fmt, tsa=_tsa_name(used), derivation=derivation)


def credential_copy(original: bytes, mime: str, facts: CaptureFacts,
                    identity: SigningIdentity, tsas: Sequence[EmbeddedTSA | str] = (), *,
                    sniffed: str | None = None) -> bytes:
    """The credentialed copy of ``original``, in memory. See write_credential_copy."""
    out = io.BytesIO()
    write_credential_copy(io.BytesIO(original), out, mime, facts, identity, tsas,
                          sniffed=sniffed)
    return out.getvalue()


# --------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class CredentialReport:
    """What c2pa's Reader says about a file, trusting only the given anchors."""

    state: str | None  # "Trusted", "Valid" (signature fine, issuer not trusted), "Invalid"
    success: list[str]
    informational: list[str]
    failure: list[str]
    store: dict[str, Any]  # Reader.json()
    detailed: dict[str, Any]  # Reader.detailed_json(): the raw assertion store
    explanations: dict[str, str] = field(default_factory=dict)

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(self.store["manifests"][self.store["active_manifest"]])

    def assertion(self, label: str) -> Any:
        for a in self.manifest.get("assertions", []):
            if a.get("label") == label:
                return a.get("data")
        return None

    @property
    def assertion_store(self) -> dict[str, Any]:
        m = self.detailed["manifests"][self.detailed["active_manifest"]]
        return dict(m.get("assertion_store") or {})

    @property
    def hard_binding(self) -> tuple[str, dict[str, Any]] | None:
        for label, value in self.assertion_store.items():
            if label.startswith("c2pa.hash."):
                return label, value
        return None

    @property
    def ingredients(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("ingredients") or [])


def read_credential(data: bytes | IO[bytes], mime: str,
                    trust_anchors: Sequence[bytes] = ()) -> CredentialReport:
    """Read and validate a credentialed file offline; ``trust_anchors`` are PEM roots."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    extra: dict[str, Any] = {}
    if trust_anchors:
        extra["trust"] = {"trust_anchors": b"".join(trust_anchors).decode("ascii")}
    try:
        with c2pa.Context(_settings(extra)) as context, \
                c2pa.Reader(_normalize(mime), stream, context=context) as reader:
            store = json.loads(reader.json())
            detailed = json.loads(reader.detailed_json())
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as exc:
        raise C2paUnreadable(f"no readable content credentials: {exc}") from exc
    active = results.get("activeManifest") or {}
    codes = {k: [str(s.get("code")) for s in active.get(k) or []]
             for k in ("success", "informational", "failure")}
    explanations = {str(s.get("code")): str(s.get("explanation", ""))
                    for k in ("success", "informational", "failure")
                    for s in active.get(k) or []}
    return CredentialReport(state=state, success=codes["success"],
                            informational=codes["informational"], failure=codes["failure"],
                            store=store, detailed=detailed, explanations=explanations)


__all__ = ["CAPTURE_ASSERTION", "DERIVATION_PARAMETER", "DIGITAL_CAPTURE", "SCREEN_CAPTURE",
           "CaptureFacts", "CredentialError", "CredentialReport", "Signed", "UnsupportedFormat",
           "c2pa_format", "copy_format", "credential_copy", "credential_filename",
           "embeddable", "file_extension", "manifest_definition", "read_credential",
           "supported", "write_credential_copy"]
