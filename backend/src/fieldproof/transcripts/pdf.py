"""The 文字稿 of a capture's newest transcript version: facts from the stored
versions, laid out and signed by evidence/transcript_pdf.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldproof.capture.records import CaptureRecord
from fieldproof.core.canonical import parse_json
from fieldproof.core.manifest import iso
from fieldproof.db.models import utcnow
from fieldproof.errors import TranscriptMissing
from fieldproof.evidence.identity import SigningIdentity
from fieldproof.evidence.transcript_pdf import TranscriptFacts, make_transcript_pdf
from fieldproof.transcripts.versions import StoredVersion
from fieldproof.tsa import TimestampAuthority


def facts_for(capture: CaptureRecord, versions: Sequence[StoredVersion], *,
              media_name: str, operator: str | None) -> TranscriptFacts:
    if not versions:
        raise TranscriptMissing("this recording has no transcript yet: make one first")
    newest = versions[-1]
    doc: dict[str, Any] = parse_json(newest.document.encode("utf-8"))
    manifest = capture.manifest_data
    duration = next((int(e["duration_ms"]) for v in reversed(versions)
                     if (e := parse_json(v.document.encode("utf-8")).get("engine"))
                     and "duration_ms" in e), None)
    return TranscriptFacts(
        capture_id=capture.id, kind=capture.kind, title=capture.title or None,
        media_name=media_name, manifest_sha256=capture.manifest_hash,
        media_sha256=capture.media_sha256, duration_ms=duration,
        recorded_start=str(manifest["captured"]["start"]),
        timezone=(manifest.get("device") or {}).get("timezone"),
        version=newest.version, transcript_sha256=newest.sha256, origin=newest.origin,
        created_at=str(doc["created_at"]), signer_key_id=newest.key_id,
        engine=doc["engine"], based_on=doc["based_on"], language=doc["language"],
        history=[{"version": v.version, "origin": v.origin, "sha256": v.sha256,
                  "created_at": iso(v.created_at)} for v in versions[:-1]],
        segments=doc["segments"], key_points=doc["key_points"],
        exported_at=iso(utcnow()) or "", operator=operator)


def transcript_pdf(capture: CaptureRecord, versions: Sequence[StoredVersion], *,
                   media_name: str, operator: str | None, identity: SigningIdentity,
                   tsas: Sequence[TimestampAuthority],
                   on_fallback: Callable[[str, str], None] | None = None) -> bytes:
    return make_transcript_pdf(facts_for(capture, versions, media_name=media_name,
                                         operator=operator),
                               identity, tsas, on_fallback=on_fallback)
