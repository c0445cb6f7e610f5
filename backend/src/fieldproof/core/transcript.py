"""The transcript document (shared/PROTOCOL.md, Transcripts): checks and log leaf.

Pure: a version arrives as JCS text with a signature; :func:`parse_transcript`
checks the schema and the rules a schema cannot say (times in order, the text
canonical), and :func:`check_binding` that it belongs where it claims, after
what it claims. The log leaf (:func:`transcript_entry`) holds only hashes:
the public log says nothing of what was said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldproof.core.canonical import canonicalize, parse_json, sha256_hex
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.manifest import validate
from fieldproof.errors import JsonInvalid, TranscriptConflict, TranscriptInvalid

TRANSCRIPT = "fieldproof.transcript"
TRANSCRIPT_ENTRY = "fieldproof.transcript"
MAX_TRANSCRIPT_BYTES = 2 * 1024 * 1024
MAX_SEGMENTS = 5000  # as the schema says
MAX_TEXT = 2000  # characters of one segment, as the schema says
INAUDIBLE = "[听不清 / inaudible]"
ORIGINS = ("machine", "human")


@dataclass(frozen=True)
class Transcript:
    data: dict[str, Any]
    canonical: bytes  # the exact bytes that are signed

    @property
    def sha256(self) -> str:
        return sha256_hex(self.canonical)

    @property
    def version(self) -> int:
        return int(self.data["version"])

    @property
    def origin(self) -> str:
        return str(self.data["origin"])

    @property
    def key_id(self) -> str:
        return str(self.data["signer"]["key_id"])

    @property
    def prev(self) -> str | None:
        return self.data["prev"]  # type: ignore[no-any-return]

    @property
    def based_on(self) -> str | None:
        return self.data["based_on"]  # type: ignore[no-any-return]


def parse_transcript(raw: bytes | str, *, require_canonical: bool = True) -> Transcript:
    """Parse and check one version. ``require_canonical``: the text must already be
    its JCS form (what a device signed is what is kept, byte for byte)."""
    data_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data_bytes) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptInvalid(f"a transcript is at most {MAX_TRANSCRIPT_BYTES} bytes")
    try:
        data = parse_json(data_bytes)
    except JsonInvalid as exc:  # said as this document's problem
        raise TranscriptInvalid(f"not JSON: {exc}") from exc
    problems = validate(data, "transcript-v1")
    if problems:
        raise TranscriptInvalid("; ".join(problems[:10]), errors=problems[:50])
    canonical = canonicalize(data)
    if require_canonical and canonical != data_bytes:
        raise TranscriptInvalid("the document is not in its canonical (RFC 8785) form: "
                                "sign and send the canonical bytes")
    problems = _rules(data)
    if problems:
        raise TranscriptInvalid("; ".join(problems[:10]), errors=problems[:50])
    return Transcript(data=data, canonical=canonical)


def _rules(data: dict[str, Any]) -> list[str]:
    out = []
    # JSON Schema patterns end in "$", which Python's re also matches before a final
    # newline: "zh\n" would pass the schema (and the browser would refuse it).
    for name in ("capture_id", "language", "created_at"):
        if isinstance(data[name], str) and "\n" in data[name]:
            out.append(f"/{name}: must not hold a line break")
    if "\n" in data["signer"]["key_id"]:
        out.append("/signer/key_id: must not hold a line break")
    last = -1
    for i, seg in enumerate(data["segments"]):
        if seg["end_ms"] < seg["start_ms"]:
            out.append(f"/segments/{i}: ends before it starts")
        if seg["start_ms"] < last:
            out.append(f"/segments/{i}: starts before the segment before it")
        last = seg["start_ms"]
    for i, kp in enumerate(data["key_points"]):
        if kp["end_ms"] < kp["start_ms"]:
            out.append(f"/key_points/{i}: ends before it starts")
    if data["origin"] == "machine" and data["based_on"] is not None:
        out.append("/based_on: a machine version starts from the recording, not a version")
    if data["origin"] == "human" and data["engine"] is not None:
        out.append("/engine: only a machine version names an engine")
    if data["version"] == 1 and data["prev"] is not None:
        out.append("/prev: version 1 has no previous version")
    if data["version"] > 1 and data["prev"] is None:
        out.append(f"/prev: version {data['version']} must name the version before it")
    return out


@dataclass(frozen=True)
class Binding:
    """What a new version must say about where it belongs."""

    capture_id: str
    manifest_sha256: str
    media_sha256: str
    latest_version: int  # 0 before the first
    latest_sha256: str | None
    machine_versions: frozenset[str]  # sha256 of this capture's machine versions


def check_binding(t: Transcript, b: Binding) -> None:
    """TranscriptInvalid unless ``t`` is about this capture; TranscriptConflict unless
    it follows the latest version (someone saved first)."""
    d = t.data
    for name, want in (("capture_id", b.capture_id), ("manifest_sha256", b.manifest_sha256),
                       ("media_sha256", b.media_sha256)):
        if d[name] != want:
            raise TranscriptInvalid(f"{name} is {d[name]!r}, this capture's is {want!r}")
    if d["version"] != b.latest_version + 1 or d["prev"] != b.latest_sha256:
        raise TranscriptConflict(
            f"version {d['version']} after {d['prev']}, but the latest is version "
            f"{b.latest_version} ({b.latest_sha256})", latest_version=b.latest_version)
    if d["based_on"] is not None and d["based_on"] not in b.machine_versions:
        raise TranscriptInvalid("based_on names no machine version of this capture")


def transcript_entry(*, transcript_sha256: str, signature: bytes) -> bytes:
    """The canonical leaf data for one transcript version: its hash and signature."""
    return canonicalize({"v": 1, "type": TRANSCRIPT_ENTRY,
                         "transcript_sha256": transcript_sha256,
                         "signature": b64url_encode(signature)})

