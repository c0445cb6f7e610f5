"""Live streams (protocol v2): verify each chunk, make it durable, then ack.

A chunk is acknowledged only after its row, with its bytes, is committed (one
transaction, shared with the chunks of other recordings that arrive at the same
moment: one fsync for them all), so whatever was acknowledged survives a server crash,
and any node of a cluster can continue the stream. On ``stop`` the chunks are
concatenated (read one by one, never held together in memory) into the
original, checked against the device's final manifest and stored like any
capture. A stream silent for longer than the timeout is
closed as ``interrupted``: its chunks become a partial capture proven by the
last signed chain head.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, insert, or_, select, update

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.ingest import Claim, Ingest, decode_signature
from fieldproof.capture.places import place_of
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.capture.spool import HashingSpool
from fieldproof.config import Settings
from fieldproof.core import checks as ck
from fieldproof.core.checkpoint import Signer
from fieldproof.core.keys import DeviceKey
from fieldproof.core.logentry import capture_entry
from fieldproof.core.manifest import Manifest, iso, parse_manifest, parse_time
from fieldproof.core.media import sniff_mime
from fieldproof.core.stream import ChunkHeader, StreamHeader, ack_statement, next_chain
from fieldproof.db import Database, Device, Nonce, Stream, StreamChunk
from fieldproof.db.group import GroupCommit
from fieldproof.db.models import utcnow
from fieldproof.errors import (
    BadChain,
    BadHash,
    BadSignature,
    DeviceRevoked,
    DeviceUnknown,
    DuplicateMismatch,
    FieldProofError,
    Gap,
    IntegrityFailure,
    ManifestMismatch,
    NonceError,
    NonceExpired,
    NonceReused,
    SignatureInvalid,
    StreamClosed,
    TooLarge,
    UnknownStream,
)
from fieldproof.storage import ObjectStore

log = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_STREAMS = cast(Table, Stream.__table__)
_CHUNKS = cast(Table, StreamChunk.__table__)
# Built once: constructing statements cost more per chunk than executing them.
_ADVANCE = (update(_STREAMS)
            .where(_STREAMS.c.id == bindparam("sid"), _STREAMS.c.next_seq == bindparam("seq"),
                   _STREAMS.c.chain_head == bindparam("prev"), _STREAMS.c.status == "open")
            .values(next_seq=bindparam("next"), chain_head=bindparam("chain"),
                    bytes=_STREAMS.c.bytes + bindparam("size"),
                    last_activity=bindparam("now")))
_ADD_CHUNK = insert(_CHUNKS)
_STREAM_AND_DEVICE = (select(Stream, Device).join(Device, Device.id == Stream.device_id)
                      .where(Stream.id == bindparam("sid")))


@dataclass(frozen=True)
class _ChunkWrite:
    advance: dict[str, Any]  # _ADVANCE's parameters
    row: dict[str, Any]      # the chunk's row


class _MovedOn(Exception):
    """A stream of the round moved on meanwhile: the round is written again, chunk by chunk."""


def _write_chunks(conn: Connection, chunks: Sequence[_ChunkWrite]) -> list[bool]:
    """Commit chunks, each only at its stream's expected seq and chain head
    (False: closed, or moved on through another node; nothing written for it).
    Core statements, one executemany each, not the ORM unit of work: this runs
    once per chunk per recording phone (see bench/streams.py and db/group.py)."""
    if conn.execute(_ADVANCE, [c.advance for c in chunks]).rowcount != len(chunks):
        if len(chunks) == 1:
            return [False]
        raise _MovedOn("a stream moved on")
    conn.execute(_ADD_CHUNK, [c.row for c in chunks])
    return [True] * len(chunks)


@dataclass(frozen=True)
class _Open:
    """What a chunk needs of its open stream, kept on this node between chunks.

    The database stays the truth: a chunk is committed only by an UPDATE that
    requires the stream to be open at exactly this ``next_seq``, so a stale copy
    (the stream moved on through another node, or was closed) can never commit;
    it is dropped and read again. Only the happy path uses the copy: every
    refusal (a gap, a resend, a wrong chain, a closed stream) is decided on a
    fresh read.
    """

    user_id: int
    status: str
    capture_id: str | None
    device: Device
    kind: str
    started_at: datetime
    next_seq: int
    chain_head: str
    bytes: int
    device_checked: float  # time.monotonic() of the device's last read


@dataclass(frozen=True)
class StreamParts:
    """What a streamed capture's evidence bundle carries besides the media."""

    header: str  # the signed stream header (canonical JSON)
    header_signature: bytes
    chunks: tuple[StreamChunk, ...]


def header_mismatches(header: StreamHeader, manifest: Manifest) -> list[str]:
    """Every field the signed stream header binds that the final manifest changes.

    The header was signed when recording began, before any chunk: its start
    time, kind, format, nonce, position, device, context (a call or a meeting, the
    lawful-recording notice) and chain link are what the
    chunks were recorded under, so the closing manifest may not restate them.
    """
    h = header.data
    problems = []
    for field in ("kind", "nonce", "prev", "geo", "device"):
        if manifest.data[field] != h[field]:
            problems.append(f"{field} differs from the stream header")
    if manifest.data.get("context") != h.get("context"):
        problems.append("context differs from the stream header")
    if manifest.media_mime != h["mime"]:
        problems.append("media.mime differs from the stream header's mime")
    if manifest.started_at != header.started_at:
        problems.append("captured.start differs from the stream header's started_at")
    if manifest.ended_at < header.started_at:
        problems.append("captured.end is before the stream header's started_at")
    return problems


class Streams:
    # A stop's claim older than this was left by a process that died finishing
    # (a finish takes seconds: a 4 GiB recording assembles in well under a
    # minute); the reaper then keeps the recording as interrupted. A finish
    # that is alive renews its claim every third of this (_holding), however
    # long a slow store makes it.
    STUCK_FINALIZING_SECONDS = 1800

    def __init__(self, db: Database, store: ObjectStore, settings: Settings, ingest: Ingest,
                 captures: Captures, signer: Signer, *,
                 on_progress: Callable[[int, dict[str, Any]], None] | None = None) -> None:
        self.db = db
        self.captures = captures
        self.store = store
        self.settings = settings
        self.ingest = ingest
        self.signer = signer
        self.on_progress = on_progress or (lambda _user, _event: None)
        self._keys: dict[str, DeviceKey] = {}
        self._open: dict[str, _Open] = {}  # stream id -> its state on this node
        self._open_lock = threading.Lock()
        self._commits: GroupCommit[_ChunkWrite, bool] = GroupCommit(db.engine, _write_chunks)

    # A device revoked is refused at once on the node that revoked it and, through
    # the cluster's Redis, on the others (forget_device); should that message be
    # lost (Redis down), within this time.
    DEVICE_RECHECK_SECONDS = 10.0
    MAX_OPEN = 10_000

    def forget_device(self, device_id: int | None) -> None:
        """A device was revoked: read it again before its next chunk."""
        with self._open_lock:
            for sid in [k for k, v in self._open.items() if v.device.id == device_id]:
                del self._open[sid]

    def _forget(self, stream_id: str) -> None:
        with self._open_lock:
            self._open.pop(stream_id, None)

    def _load(self, stream_id: str) -> _Open | None:
        with self.db.reading() as s:  # one lock-free read for the stream and its device
            row = s.execute(_STREAM_AND_DEVICE, {"sid": stream_id}).first()
        if row is None:
            return None
        stream, device = row
        st = _Open(user_id=stream.user_id, status=stream.status, capture_id=stream.capture_id,
                   device=device, kind=stream.kind,
                   started_at=parse_time(json.loads(stream.header)["started_at"]),
                   next_seq=stream.next_seq, chain_head=stream.chain_head,
                   bytes=stream.bytes, device_checked=time.monotonic())
        with self._open_lock:
            if st.status != "open":
                self._open.pop(stream_id, None)
                return st
            if len(self._open) >= self.MAX_OPEN:
                self._open.clear()  # a bound, not a policy: they are read again
            self._open[stream_id] = st
        return st

    # -- helpers --------------------------------------------------------------
    def _device(self, principal: Principal, key_id: str) -> Device:
        with self.db.reading() as s:
            device = s.scalar(select(Device).where(Device.key_id == key_id))
        if device is None or device.user_id != principal.user_id or device.server_held:
            raise DeviceUnknown("the device key is not enrolled for this account")
        if device.revoked_at is not None:
            raise DeviceRevoked("this device key was revoked")
        return device

    def _key(self, device: Device) -> DeviceKey:
        """Parsed device keys, kept: a stream verifies with the same key once per chunk."""
        key = self._keys.get(device.key_id)
        if key is None:
            key = DeviceKey.from_jwk(device.jwk)
            self._keys[device.key_id] = key
        return key

    def _verify(self, device: Device, signature_text: str, message: bytes, *,
                fast: bool = False) -> bytes:
        try:
            sig = decode_signature(signature_text)
            key = self._key(device)
            (key.verify_fast if fast else key.verify)(sig, message)
        except SignatureInvalid as exc:
            raise BadSignature(exc.detail) from exc
        return sig

    def _stream(self, principal: Principal, stream_id: str) -> Stream:
        with self.db.reading() as s:
            stream = s.get(Stream, stream_id)
        if stream is None or stream.user_id != principal.user_id:
            raise UnknownStream("no such stream")
        return stream

    def bundle_parts(self, stream_id: str) -> StreamParts:
        with self.db.reading() as s:
            stream = s.get(Stream, stream_id)
            assert stream is not None
            chunks = tuple(s.scalars(select(StreamChunk)
                                     .where(StreamChunk.stream_id == stream_id)
                                     .order_by(StreamChunk.seq)))
            return StreamParts(stream.header, stream.header_sig, chunks)

    def state(self, stream: Stream) -> dict[str, Any]:
        return {"stream_id": stream.id, "status": stream.status, "next_seq": stream.next_seq,
                "last_seq": stream.next_seq - 1, "chain": stream.chain_head,
                "bytes": stream.bytes, "capture_id": stream.capture_id,
                "max_chunk_bytes": self.settings.stream_max_chunk_bytes}

    # -- start ----------------------------------------------------------------
    def start(self, principal: Principal, header_raw: str, signature_text: str) -> dict[str, Any]:
        header = StreamHeader.parse(header_raw)
        device = self._device(principal, header.key_id)
        sig = self._verify(device, signature_text, header.canonical)
        now = utcnow()
        with self.db.session() as s:
            existing = s.get(Stream, header.id)
            if existing is not None:  # the same start sent again (a lost ack)
                if existing.user_id != principal.user_id:
                    raise UnknownStream("no such stream")
                return self.state(existing)
            nonce = s.get(Nonce, header.nonce)
            if nonce is None or nonce.user_id != principal.user_id:
                raise NonceError("this nonce was not issued to this account")
            if nonce.used_at is not None:
                raise NonceReused("this nonce was already used")
            if nonce.expires_at < now:
                raise NonceExpired("this nonce has expired")
            continues = header.data.get("continues")
            if continues is not None:
                prior = s.get(Stream, continues)
                if prior is None or prior.device_id != device.id:
                    raise UnknownStream("'continues' names no stream of this device")
            nonce.used_at = now
            stream = Stream(id=header.id, user_id=principal.user_id, device_id=device.id,
                            header=header.canonical.decode("utf-8"), header_sig=sig,
                            kind=header.data["kind"], mime=header.data["mime"], status="open",
                            next_seq=0, chain_head=header.id, bytes=0, created_at=now,
                            last_activity=now)
            s.add(stream)
            s.flush()
            log.info("stream %s started (%s)", header.id[:16], header.data["kind"])
            return self.state(stream)

    def resume(self, principal: Principal, stream_id: str) -> dict[str, Any]:
        return self.state(self._stream(principal, stream_id))

    # -- chunks -----------------------------------------------------------------
    def chunk(self, principal: Principal, header_raw: str, signature_text: str,
              data: bytes, *, _stale: bool = False) -> dict[str, Any]:
        if len(data) > self.settings.stream_max_chunk_bytes:
            raise TooLarge(f"chunks are at most {self.settings.stream_max_chunk_bytes} bytes")
        ch = ChunkHeader.parse(header_raw)
        sid = ch.data["stream"]
        st = self._open.get(sid)
        if st is None or time.monotonic() - st.device_checked > self.DEVICE_RECHECK_SECONDS:
            st = self._load(sid)
        digest = hashlib.sha256(data).digest()
        fits = st is not None and self._fits(st, ch, digest)
        if st is not None and not fits:
            st = self._load(sid)  # decide every refusal on what the database says
            fits = st is not None and self._fits(st, ch, digest)
        if st is None or st.user_id != principal.user_id:
            raise UnknownStream("no such stream")
        device = st.device
        if device.revoked_at is not None:
            raise DeviceRevoked("this device key was revoked")
        if st.status != "open":
            raise StreamClosed(f"the stream is {st.status}", capture_id=st.capture_id)
        if len(data) != ch.size or digest.hex() != ch.sha256:
            raise BadHash("the chunk's bytes do not match its signed size and SHA-256")
        if ch.seq < st.next_seq:
            return self._duplicate(sid, ch)
        if ch.seq > st.next_seq:
            raise Gap(f"chunk {ch.seq} arrived but {st.next_seq} is next",
                      next_seq=st.next_seq)
        if not fits:  # the seq is the next one, so its chain is what does not follow
            raise BadChain("the chunk's chain does not follow from the previous chunk")
        sig = self._verify(device, signature_text, ch.canonical, fast=True)
        if st.bytes + len(data) > self.settings.max_upload_bytes:
            raise TooLarge("the recording exceeds the upload limit")
        now = utcnow()
        write = _ChunkWrite(
            advance={"sid": sid, "seq": ch.seq, "prev": st.chain_head, "next": ch.seq + 1,
                     "chain": ch.chain, "size": len(data), "now": now},
            row={"stream_id": sid, "seq": ch.seq, "size": len(data), "sha256": ch.sha256,
                 "chain": ch.chain, "header": ch.canonical.decode("utf-8"),
                 "signature": sig, "data": data, "object_key": None, "received_at": now})
        # The bytes go into the row, so one commit makes the chunk durable and
        # recorded at once, before it is acknowledged; the chunks of other
        # recordings that arrive meanwhile share that commit (db/group.py).
        if not self._commits.run(write):  # nothing was written
            self._forget(sid)
            if _stale:
                raise Gap("the stream moved on concurrently; resume")
            # decide again on what the database says now
            return self.chunk(principal, header_raw, signature_text, data, _stale=True)
        total = st.bytes + len(data)
        with self._open_lock:  # a new copy, never a half-updated one
            if self._open.get(sid) is st:
                self._open[sid] = replace(st, next_seq=ch.seq + 1, chain_head=ch.chain,
                                          bytes=total)
        ack = self._ack(sid, ch.seq, ch.chain, now)
        seconds = max(0.0, (parse_time(ch.data["at"]) - st.started_at).total_seconds())
        self.on_progress(principal.user_id, {
            "stream_id": sid, "kind": st.kind, "seq": ch.seq,
            "chunks": ch.seq + 1, "bytes": total, "seconds": seconds,
            "acked_at": ack["durable_at"]})
        return {**ack, "bytes": total}

    @staticmethod
    def _fits(st: _Open, ch: ChunkHeader, digest: bytes) -> bool:
        """Would this node's copy accept the chunk? (If not, read the stream again.)"""
        return (ch.seq == st.next_seq
                and ch.chain == next_chain(bytes.fromhex(st.chain_head), ch.seq, digest).hex())

    def _duplicate(self, stream_id: str, ch: ChunkHeader) -> dict[str, Any]:
        with self.db.reading() as s:
            prior = s.get(StreamChunk, (stream_id, ch.seq))
        if prior is None or prior.sha256 != ch.sha256 or prior.chain != ch.chain:
            raise DuplicateMismatch(f"chunk {ch.seq} was already received with other bytes")
        # Byte-identical resend (its ack was lost): acknowledge it again.
        return {**self._ack(stream_id, ch.seq, prior.chain, prior.received_at),
                "duplicate": True}

    def _ack(self, stream_id: str, seq: int, chain: str, when: datetime) -> dict[str, Any]:
        durable_at = iso(when) or ""
        sig = self.signer.sign_statement(ack_statement(stream_id=stream_id, seq=seq,
                                                       chain=chain, durable_at=durable_at))
        return {"stream_id": stream_id, "seq": seq, "chain": chain, "durable_at": durable_at,
                "server_sig": _b64(sig)}

    # -- assembling -----------------------------------------------------------
    def _assemble(self, stream: Stream) -> HashingSpool:
        """Concatenate the durable chunks into a spool, re-hashing each one (read
        one at a time: a recording is never held in memory)."""
        spool = HashingSpool(self.store.tmp_dir)  # type: ignore[attr-defined]
        try:
            with self.db.reading() as s:
                chunks = s.execute(select(StreamChunk.seq, StreamChunk.sha256,
                                          StreamChunk.object_key)
                                   .where(StreamChunk.stream_id == stream.id)
                                   .order_by(StreamChunk.seq)).all()
                if [c.seq for c in chunks] != list(range(stream.next_seq)):
                    raise IntegrityFailure("stream chunks are missing from the database")
                for seq, sha, key in chunks:
                    h = hashlib.sha256()
                    if key is None:
                        block = s.scalar(select(StreamChunk.data).where(
                            StreamChunk.stream_id == stream.id, StreamChunk.seq == seq))
                        if block is None:  # emptied: a concurrent stop (or the reaper) won
                            raise StreamClosed("the stream was finished meanwhile")
                        blocks: Iterable[bytes] = [block]
                    else:  # staged as an object by an older version
                        blocks = self.store.iter_range(key)
                    for block in blocks:
                        h.update(block)
                        spool.write(block)
                    if h.hexdigest() != sha:
                        raise IntegrityFailure(f"stream chunk {seq} did not read back intact")
            spool.finish()
        except BaseException:
            spool.discard()
            raise
        return spool

    # -- stop -------------------------------------------------------------------
    def stop(self, principal: Principal, stream_id: str, manifest_raw: str,
             signature_text: str) -> CaptureRecord:
        stream = self._stream(principal, stream_id)
        manifest = parse_manifest(manifest_raw)
        if stream.status == "complete" and stream.capture_id:
            return self._finished(principal, stream, manifest)
        if stream.status != "open":
            raise StreamClosed(f"the stream is {stream.status}", capture_id=stream.capture_id)
        header = StreamHeader.parse(stream.header)
        problems = header_mismatches(header, manifest)
        want = {"id": stream.id, "chunks": stream.next_seq, "chain_head": stream.chain_head}
        if manifest.stream != want:
            problems.append(f"manifest 'stream' must be {want}")
        if stream.next_seq == 0:
            problems.append("no chunk was received")
        if problems:
            raise ManifestMismatch("; ".join(problems),
                              problems=problems)
        device = self._device(principal, header.key_id)
        sig = self._verify(device, signature_text, manifest.canonical)
        received_at = utcnow()
        if not self._claim(stream, received_at):
            # another stop (a resend, maybe on another node) or the reaper took
            # it first, or a chunk came in since: say what the stream is now
            stream = self._stream(principal, stream_id)
            if stream.status == "complete" and stream.capture_id:
                return self._finished(principal, stream, manifest)
            if stream.status == "open":
                why = (f"a chunk arrived after this manifest was made: {stream.next_seq} "
                       "are recorded now")
                raise ManifestMismatch(why, problems=[why])
            raise StreamClosed(f"the stream is {stream.status}", capture_id=stream.capture_id)
        try:
            with self._holding(stream.id):
                return self._finish(principal, stream, header, manifest, device, sig,
                                    received_at)
        except BaseException:
            self._give_back(stream.id)
            raise

    @contextmanager
    def _holding(self, stream_id: str) -> Iterator[None]:
        """While the body runs, renew the claim on a finalizing stream every third
        of STUCK_FINALIZING_SECONDS, so that the reaper (on any node) takes back
        only a claim whose holder died, not one held by a slow finish."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.STUCK_FINALIZING_SECONDS / 3):
                try:
                    with self.db.session() as s:
                        held = s.execute(update(Stream).where(
                            Stream.id == stream_id, Stream.status == "finalizing")
                            .values(last_activity=utcnow()))
                except Exception:
                    log.exception("could not renew the claim on stream %s", stream_id[:16])
                    continue
                if held.rowcount != 1:  # type: ignore[attr-defined]
                    return  # finished (or given back) meanwhile

        renewer = threading.Thread(target=renew, name="stream-claim", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _claim(self, stream: Stream, now: datetime) -> bool:
        """Take the stream for finishing: from now on its chunks are refused
        (stream_closed), and no other stop or the reaper takes it too. Its
        last_activity becomes the claim's time (see reap: a claim whose
        holder died is taken back)."""
        with self.db.session() as s:
            claimed = s.execute(update(Stream).where(
                Stream.id == stream.id, Stream.status == "open",
                Stream.next_seq == stream.next_seq, Stream.chain_head == stream.chain_head)
                .values(status="finalizing", last_activity=now))
        self._forget(stream.id)
        return claimed.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def _give_back(self, stream_id: str) -> None:
        """A claimed stream whose finishing failed is open again (unless it got
        finished); its last_activity stays the claim's time."""
        with self.db.session() as s:
            s.execute(update(Stream).where(Stream.id == stream_id,
                                           Stream.status == "finalizing")
                      .values(status="open"))

    def _finish(self, principal: Principal, stream: Stream, header: StreamHeader,
                manifest: Manifest, device: Device, sig: bytes,
                received_at: datetime) -> CaptureRecord:
        spool = self._assemble(stream)
        try:
            if spool.sha256 != manifest.media_sha256 or spool.size != manifest.media_size:
                raise BadHash(
                    f"the chunks concatenate to {spool.size} bytes with SHA-256 {spool.sha256}; "
                    f"the manifest says {manifest.media_size} bytes, {manifest.media_sha256}")
            checks = self._checks(stream, header, device, spool, complete=True,
                                  received_at=received_at, end=manifest.ended_at)
            result = self.ingest.record(
                principal, device, Claim.of(manifest), sig, spool, checks,
                received_at=received_at, sniffed=sniff_mime(spool.head), nonce_consumed=True,
                stream_id=stream.id, place=place_of(header.data.get("geo")),
                log_entry=capture_entry(
                    manifest_sha256=manifest.hash, signature=sig, key_id=device.key_id,
                    media_sha256=manifest.media_sha256, received_at=received_at,
                    stream={"id": stream.id, "chunks": stream.next_seq,
                            "chain_head": stream.chain_head, "partial": False}))
        finally:
            spool.discard()
        self._close(stream.id, "complete", result.capture.id)
        return result.capture

    def _finished(self, principal: Principal, stream: Stream,
                  manifest: Manifest) -> CaptureRecord:
        """A stop of a stream already finished: its capture, if this stop is a
        resend of the one that finished it."""
        assert stream.capture_id is not None
        capture = self.captures.get(principal, stream.capture_id)
        if manifest.hash != capture.manifest_hash:
            # Not a resend of the stop that finished it: never answer ok
            # with a capture that another manifest describes.
            raise StreamClosed("the stream was already finished with another manifest",
                               capture_id=capture.id)
        return capture

    def _checks(self, stream: Stream, header: StreamHeader, device: Device,
                spool: HashingSpool, *, complete: bool, received_at: datetime,
                end: datetime) -> ck.CheckList:
        with self.db.session() as s:
            nonce = s.get(Nonce, header.nonce)
        issued = nonce.issued_at if nonce else received_at
        skew = timedelta(seconds=self.settings.clock_skew_seconds)
        identity = (
            ck.Check.of("schema", True, "schema.v2"),
            ck.Check.of("signature", True,
                        "signature.stream_final" if complete else "signature.stream",
                        key_id=device.key_id),
            ck.Check.of("nonce", True, "nonce.stream", issued_at=iso(issued)),
        )
        checks = [
            ck.Check.of("stream_chain", True, "stream_chain.ok", chunks=stream.next_seq,
                        chain_head=stream.chain_head),
            ck.Check.of("stream_complete", True, "stream_complete.finished") if complete
            else ck.Check.of("stream_complete", False, "stream_complete.interrupted",
                             timeout_s=self.settings.stream_timeout_seconds,
                             last_seq=stream.next_seq - 1),
            ck.Check.of("media_sha256", True, "media_sha256.ok", sha256=spool.sha256),
            ck.Check.of("media_size", True, "media_size.ok", size=spool.size),
            ck.mime_check(stream.mime, sniff_mime(spool.head)),
            ck.kind_check(stream.kind, stream.mime),
            ck.capture_time_check(header.started_at, end, issued, received_at, skew=skew),
        ]
        return ck.CheckList(identity, tuple(checks))

    def _close(self, stream_id: str, status: str, capture_id: str | None) -> None:
        """The stream is finished and its capture stored: in one transaction, its
        status and the end of its chunks' bytes (their signed headers stay, for
        the bundle); then objects an older version staged."""
        self._forget(stream_id)
        with self.db.session() as s:
            stream = s.get(Stream, stream_id)
            assert stream is not None
            stream.status = status
            stream.capture_id = capture_id
            keys = s.scalars(select(StreamChunk.object_key).where(
                StreamChunk.stream_id == stream_id, StreamChunk.object_key.is_not(None))).all()
            s.execute(update(StreamChunk).where(StreamChunk.stream_id == stream_id)
                      .values(data=None))
        for key in keys:
            try:
                self.store.delete(str(key))
            except FieldProofError:
                log.warning("could not remove staged chunk %s", key)
        log.info("stream %s %s (capture %s)", stream_id[:16], status, capture_id)

    # -- interrupted streams ---------------------------------------------------
    def reap(self, now: datetime | None = None) -> int:
        """Close as interrupted every stream silent for longer than the timeout,
        and every one a stop claimed but never finished (its process died)."""
        now = now or utcnow()
        silent = and_(Stream.status == "open", Stream.last_activity < now - timedelta(
            seconds=self.settings.stream_timeout_seconds))
        stuck = and_(Stream.status == "finalizing", Stream.last_activity < now - timedelta(
            seconds=self.STUCK_FINALIZING_SECONDS))
        with self.db.session() as s:
            ids = s.scalars(select(Stream.id).where(or_(silent, stuck))).all()
        done = 0
        for stream_id in ids:
            with self.db.session() as s:
                # Claim it: a chunk arriving from now on is refused (stream_closed).
                claimed = s.execute(update(Stream)
                                    .where(Stream.id == stream_id, or_(silent, stuck))
                                    .values(status="finalizing", last_activity=now))
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
            try:
                with self._holding(stream_id):
                    self.finalize_interrupted(stream_id)
                done += 1
            except Exception:
                log.exception("could not finalize interrupted stream %s", stream_id[:16])
                self._give_back(stream_id)
        return done

    def finalize_interrupted(self, stream_id: str) -> str | None:
        with self.db.session() as s:
            stream = s.get(Stream, stream_id)
            assert stream is not None
            device = s.get(Device, stream.device_id)
            assert device is not None
            last = s.get(StreamChunk, (stream_id, stream.next_seq - 1))
        if stream.next_seq == 0 or last is None:
            self._close(stream_id, "interrupted", None)  # nothing was recorded
            return None
        header = StreamHeader.parse(stream.header)
        principal = Principal(user_id=stream.user_id, email="")
        received_at = utcnow()
        spool = self._assemble(stream)
        try:
            claim = Claim(hash=stream.id, canonical=header.canonical, kind=stream.kind,
                          nonce=header.nonce, prev=header.data["prev"],
                          media_sha256=spool.sha256, media_size=spool.size,
                          media_mime=stream.mime)
            end = parse_time(json.loads(last.header)["at"])
            checks = self._checks(stream, header, device, spool, complete=False,
                                  received_at=received_at, end=end)
            result = self.ingest.record(
                principal, device, claim, stream.header_sig, spool, checks,
                received_at=received_at, sniffed=sniff_mime(spool.head), nonce_consumed=True,
                stream_id=stream.id, partial=True, place=place_of(header.data.get("geo")),
                log_entry=capture_entry(
                    manifest_sha256=stream.id, signature=stream.header_sig,
                    key_id=device.key_id, media_sha256=spool.sha256, received_at=received_at,
                    stream={"id": stream.id, "chunks": stream.next_seq,
                            "chain_head": stream.chain_head, "partial": True,
                            "last_chunk_signature": _b64(last.signature)}))
        finally:
            spool.discard()
        self._close(stream_id, "interrupted", result.capture.id)
        return result.capture.id
