"""A recording's transcript versions and its machine transcription jobs.

Every version is a signed document (core/transcript.py) kept byte for byte with
its signature, and its log leaf is queued in the same transaction, so no
acknowledged version can miss the log. Versions of one capture form a chain:
each names the one before; the unique (capture, version) pair makes two saves
of "version 3" race to one winner, the other gets ``transcript_conflict``.

Machine versions are signed here with the server's transcriber key (a key the
server CA certifies, like the web recorder's); human versions arrive signed by
one of the owner's devices.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.core import merkle
from fieldproof.core.canonical import canonicalize
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.keys import DeviceKey
from fieldproof.core.manifest import iso, utc_text
from fieldproof.core.transcript import (
    Binding,
    Transcript,
    check_binding,
    parse_transcript,
    transcript_entry,
)
from fieldproof.db import Capture, Database, Device, LogEntry, TranscriptJob, TranscriptVersion
from fieldproof.db.models import utcnow
from fieldproof.errors import (
    AsrUnavailable,
    DeviceNotFound,
    NotARecording,
    TranscriptBusy,
    TranscriptConflict,
    TranscriptInvalid,
)
from fieldproof.webcap.keys import RecorderKey

ACTIVE = ("queued", "running")
LANGUAGE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}", re.ASCII)  # the schema's
MAX_ATTEMPTS = 3  # a job whose worker died this many times fails (it may be what kills it)


class JobLost(Exception):
    """This worker no longer holds the job (it was taken back as lost): stop, store nothing."""


def is_recording(capture: CaptureRecord) -> bool:
    """Whether a capture has sound to transcribe: audio, video, a screen or web recording."""
    mime = (capture.sniffed_mime or capture.media_mime).split(";")[0]
    return capture.kind in ("audio", "video", "screen", "web") or \
        mime.startswith(("audio/", "video/"))


@dataclass(frozen=True)
class StoredVersion:
    """One version as kept, with its place in the log once it has one."""

    version: int
    sha256: str
    origin: str
    key_id: str
    document: str
    signature: bytes
    signer_jwk: str | None
    created_at: datetime
    entry: str  # the leaf data
    leaf_index: int | None
    signer_cert: str | None = None  # a machine version: the transcriber's certificate (PEM)

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "sha256": self.sha256, "origin": self.origin,
                "key_id": self.key_id, "created_at": iso(self.created_at),
                "leaf_index": self.leaf_index}

    def full(self) -> dict[str, Any]:
        return {**self.summary(), "document": self.document,
                "signature": b64url_encode(self.signature)}


def job_json(job: TranscriptJob) -> dict[str, Any]:
    return {"id": job.id, "state": job.state, "code": job.code, "language": job.language,
            "created_at": iso(job.created_at), "finished_at": iso(job.finished_at),
            "version": job.version}


class Transcripts:
    def __init__(self, db: Database, captures: Captures, transcriber: Callable[[], RecorderKey],
                 *, available: Callable[[], bool], on_new: Callable[[], None] | None = None,
                 on_job: Callable[[], None] | None = None) -> None:
        self.db = db
        self.captures = captures
        self.transcriber = transcriber
        self.available = available  # a speech model is installed
        self.on_new = on_new or (lambda: None)  # a leaf was queued: wake the sequencer
        self.on_job = on_job or (lambda: None)  # a job was queued: wake the runner

    # -- reads -------------------------------------------------------------
    def state(self, principal: Principal, capture_id: str) -> dict[str, Any]:
        """GET .../transcript: the newest job, the latest version and every version."""
        self.captures.get(principal, capture_id)  # 404 unless the caller's
        with self.db.reading() as s:
            job = s.scalar(select(TranscriptJob).where(TranscriptJob.capture_id == capture_id)
                           .order_by(TranscriptJob.created_at.desc()).limit(1))
            job_out = job_json(job) if job is not None else None
        # The job first, the versions after: a job's version commits with its
        # "done" (_store), so a job read as done always finds its version. In the
        # other order a worker finishing in between gave "done" with no version.
        versions = self.versions(capture_id)
        return {"job": job_out, "latest": versions[-1].full() if versions else None,
                "versions": [v.summary() for v in versions]}

    def versions(self, capture_id: str) -> list[StoredVersion]:
        with self.db.reading() as s:
            rows = s.execute(select(TranscriptVersion, LogEntry.data, LogEntry.leaf_index)
                             .join(LogEntry, LogEntry.seq == TranscriptVersion.entry_seq)
                             .where(TranscriptVersion.capture_id == capture_id)
                             .order_by(TranscriptVersion.version)).all()
        return [StoredVersion(v.version, v.sha256, v.origin, v.key_id, v.document,
                              bytes(v.signature), v.signer_jwk, v.created_at, data, leaf,
                              v.signer_cert)
                for v, data, leaf in rows]

    def bundle_lines(self, capture_id: str, tree_size: int | None,
                     getter: Callable[[Session], merkle.GetNodes]
                     ) -> list[tuple[StoredVersion, dict[str, Any]]]:
        """Each version with its transcript/log.jsonl line: its leaf and, inside
        ``tree_size``, its inclusion proof."""
        out = []
        versions = self.versions(capture_id)
        with self.db.reading() as s:
            nodes = getter(s)
            for v in versions:
                line: dict[str, Any] = {"version": v.version, "entry": v.entry,
                                        "leaf_index": v.leaf_index}
                if v.leaf_index is not None and tree_size is not None and \
                        v.leaf_index < tree_size:
                    line["inclusion_proof"] = [
                        base64.b64encode(p).decode()
                        for p in merkle.inclusion_proof(v.leaf_index, tree_size, nodes)]
                out.append((v, line))
        return out

    # -- jobs --------------------------------------------------------------
    def request(self, principal: Principal, capture_id: str,
                language: str | None) -> dict[str, Any]:
        """POST .../transcript: queue a machine transcription of the caller's recording."""
        capture = self.captures.get(principal, capture_id)
        if not is_recording(capture):
            raise NotARecording("a photo has no sound to transcribe")
        if language is not None and (not isinstance(language, str)
                                     or not LANGUAGE.fullmatch(language)):
            raise TranscriptInvalid("language must be a language tag such as 'zh' or 'en'")
        if not self.available():
            raise AsrUnavailable("this server has no speech recognition model installed "
                                 "(FIELDPROOF_ASR_MODEL); type the transcript instead")
        with self.db.session() as s:
            s.execute(select(Capture.seq).where(Capture.id == capture_id).with_for_update())
            busy = s.scalar(select(TranscriptJob.id).where(
                TranscriptJob.capture_id == capture_id, TranscriptJob.state.in_(ACTIVE)))
            if busy is not None:
                raise TranscriptBusy("this recording is being transcribed already", job=busy)
            job = TranscriptJob(id=str(uuid.uuid4()), capture_id=capture_id,
                                language=language, state="queued", created_at=utcnow())
            s.add(job)
            s.flush()
            out = job_json(job)
        self.on_job()
        return out

    def claim(self, worker: str) -> tuple[dict[str, Any], CaptureRecord] | None:
        """Take the oldest queued job (one claimer at a time across processes)."""
        with self.db.reading() as s:
            if s.scalar(select(TranscriptJob.id).where(TranscriptJob.state == "queued")
                        .limit(1)) is None:
                return None
        with self.db.session() as s:
            if self.db.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(7402)"))
            job = s.scalar(select(TranscriptJob).where(TranscriptJob.state == "queued")
                           .order_by(TranscriptJob.created_at).limit(1))
            if job is None:
                return None
            job.state, job.claimed_by, job.heartbeat_at = "running", worker, utcnow()
            job.attempts = (job.attempts or 0) + 1
            out = job_json(job)
            capture_id = job.capture_id
        return out, self._capture(capture_id)

    def _capture(self, capture_id: str) -> CaptureRecord:
        with self.db.reading() as s:
            user_id = s.scalar(select(Capture.user_id).where(Capture.id == capture_id))
        assert user_id is not None
        return self.captures.get(Principal(user_id=user_id, email=""), capture_id)

    def heartbeat(self, job_id: str, worker: str) -> None:
        """Say the job is still worked on; JobLost when it was taken back meanwhile."""
        with self.db.session() as s:
            result = s.execute(update(TranscriptJob).where(TranscriptJob.id == job_id,
                                                           TranscriptJob.claimed_by == worker,
                                                           TranscriptJob.state == "running")
                               .values(heartbeat_at=utcnow()))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise JobLost(job_id)

    def fail(self, job_id: str, code: str, worker: str | None = None) -> None:
        """The job failed with ``code`` (only while ``worker``, when given, still holds it)."""
        with self.db.session() as s:
            held = TranscriptJob.claimed_by == worker if worker is not None else true()
            s.execute(update(TranscriptJob).where(TranscriptJob.id == job_id,
                                                  TranscriptJob.state.in_(ACTIVE), held)
                      .values(state="failed", code=code, finished_at=utcnow()))

    def reap_lost(self, older_than: timedelta) -> int:
        """Running jobs whose worker stopped saying it is alive are queued again, or
        fail after MAX_ATTEMPTS (a file that crashes its worker must not loop)."""
        stale = (TranscriptJob.state == "running") & (
            TranscriptJob.heartbeat_at < utcnow() - older_than)
        with self.db.session() as s:
            s.execute(update(TranscriptJob).where(stale,
                                                  TranscriptJob.attempts >= MAX_ATTEMPTS)
                      .values(state="failed", code="asr_failed", finished_at=utcnow()))
            result = s.execute(update(TranscriptJob).where(stale)
                               .values(state="queued", claimed_by=None))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def pending(self) -> int:
        with self.db.reading() as s:
            return int(s.scalar(select(func.count()).select_from(TranscriptJob)
                                .where(TranscriptJob.state.in_(ACTIVE))) or 0)

    # -- writes ------------------------------------------------------------
    def add_machine(self, job_id: str, worker: str, capture: CaptureRecord, *,
                    segments: Sequence[dict[str, Any]], language: str | None,
                    engine: dict[str, Any]) -> StoredVersion:
        """The machine version of a finished job, signed with the transcriber key.

        It goes on top of the versions there are, but never over one a person
        checked after the job was asked for: a draft must not bury the check
        (TranscriptConflict; the person asks again if they want a new draft).
        """
        key = self.transcriber()
        with self.db.reading() as s:
            asked = s.scalar(select(TranscriptJob.created_at).where(TranscriptJob.id == job_id))
        latest = self.versions(capture.id)
        prev = latest[-1] if latest else None
        if prev is not None and prev.origin == "human" and asked is not None and \
                prev.created_at >= asked:
            raise TranscriptConflict("a person saved a checked version while this "
                                     "transcription ran; the draft is not stored over it")
        doc = {"v": 1, "type": "fieldproof.transcript", "capture_id": capture.id,
               "manifest_sha256": capture.manifest_hash, "media_sha256": capture.media_sha256,
               "version": (prev.version if prev else 0) + 1,
               "prev": prev.sha256 if prev else None, "origin": "machine",
               "based_on": None, "language": language, "created_at": utc_text(utcnow()),
               "signer": {"key_id": key.device.key_id}, "engine": engine,
               "segments": list(segments), "key_points": []}
        t = parse_transcript(canonicalize(doc))
        return self._store(capture, t, key.sign(t.canonical), signer_jwk=None,
                           signer_cert=key.cert_pem.decode("ascii"), job=(job_id, worker))

    def add_human(self, principal: Principal, capture_id: str, document: Any,
                  signature: Any) -> StoredVersion:
        """POST .../transcript/versions: a version signed on one of the owner's devices."""
        capture = self.captures.get(principal, capture_id)
        if not isinstance(document, str) or not isinstance(signature, str):
            raise TranscriptInvalid("send {document: the canonical JSON text, "
                                    "signature: base64url}")
        t = parse_transcript(document)
        if t.origin != "human":
            raise TranscriptInvalid("only the server makes machine versions")
        same = next((v for v in self.versions(capture_id) if v.sha256 == t.sha256), None)
        if same is not None:  # the same signed version again (a retry after a lost answer)
            return same
        try:
            sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        except (binascii.Error, ValueError) as exc:
            raise TranscriptInvalid("signature is not base64url") from exc
        with self.db.reading() as s:
            device = s.scalar(select(Device).where(Device.key_id == t.key_id,
                                                   Device.user_id == principal.user_id,
                                                   Device.server_held.is_(False)))
            if device is None or device.revoked_at is not None:
                raise DeviceNotFound("the signer is not an enrolled device of this account")
            jwk = dict(device.jwk)
        DeviceKey.from_jwk(jwk).verify_fast(sig, t.canonical)  # signature_invalid
        return self._store(capture, t, sig, signer_jwk=canonicalize(jwk).decode(),
                           signer_cert=None)

    def _store(self, capture: CaptureRecord, t: Transcript, signature: bytes, *,
               signer_jwk: str | None, signer_cert: str | None,
               job: tuple[str, str] | None = None) -> StoredVersion:
        try:
            with self.db.session() as s:
                s.execute(select(Capture.seq).where(Capture.id == capture.id)
                          .with_for_update())  # one version at a time per capture
                rows = s.execute(select(TranscriptVersion.version, TranscriptVersion.sha256,
                                        TranscriptVersion.origin)
                                 .where(TranscriptVersion.capture_id == capture.id)
                                 .order_by(TranscriptVersion.version)).all()
                check_binding(t, Binding(
                    capture.id, capture.manifest_hash, capture.media_sha256,
                    rows[-1][0] if rows else 0, rows[-1][1] if rows else None,
                    frozenset(r[1] for r in rows if r[2] == "machine")))
                data = transcript_entry(transcript_sha256=t.sha256, signature=signature)
                entry = LogEntry.for_data(kind="transcript", capture_id=capture.id, data=data)
                s.add(entry)
                s.flush()
                now = utcnow()
                s.add(TranscriptVersion(capture_id=capture.id, version=t.version,
                                        sha256=t.sha256, origin=t.origin, key_id=t.key_id,
                                        document=t.canonical.decode("utf-8"),
                                        signature=signature, signer_jwk=signer_jwk,
                                        signer_cert=signer_cert,
                                        entry_seq=entry.seq, created_at=now))
                if job is not None:  # only while this worker still holds the job
                    done = s.execute(update(TranscriptJob).where(
                        TranscriptJob.id == job[0], TranscriptJob.claimed_by == job[1],
                        TranscriptJob.state == "running")
                        .values(state="done", finished_at=now, version=t.version))
                    if not done.rowcount:  # type: ignore[attr-defined]
                        raise JobLost(job[0])  # rolls the version back
        except IntegrityError as exc:  # another save of this version number won
            raise TranscriptConflict("another version was saved first") from exc
        self.on_new()
        return StoredVersion(t.version, t.sha256, t.origin, t.key_id,
                             t.canonical.decode("utf-8"), signature, signer_jwk, now,
                             data.decode("utf-8"), None, signer_cert)
