"""Ingest one signed capture: check every claim, keep the original byte-exact.

Order matters for "nothing lost, nothing half-written":
1. every check that can reject runs before anything is stored;
2. the media goes into the object store and is read back and re-hashed;
3. one database transaction consumes the nonce, advances the device chain and
   inserts the capture. Only after that commit does the caller answer 201.
If step 3 fails, the object stays: another request may share it (objects are
content-addressed). services/objects.py pins it for the duration and collects
it later if no capture refers to it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.objects import ObjectRefs
from fieldproof.capture.places import place_of
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.spool import HashingSpool
from fieldproof.config import Settings
from fieldproof.core import checks as ck
from fieldproof.core.keys import DeviceKey
from fieldproof.core.logentry import capture_entry
from fieldproof.core.manifest import Manifest, iso, parse_manifest, parse_time
from fieldproof.core.media import exif_checks, read_exif, sniff_mime
from fieldproof.db import Capture, Database, Device, LogEntry, Nonce
from fieldproof.db.models import utcnow
from fieldproof.errors import (
    Conflict,
    DeviceRevoked,
    DeviceUnknown,
    HashMismatch,
    IntegrityFailure,
    InvalidManifest,
    NonceError,
    NonceExpired,
    NonceReused,
    SignatureInvalid,
    SizeMismatch,
)
from fieldproof.evidence.remux import probe
from fieldproof.storage import ObjectStore, media_key

log = logging.getLogger(__name__)
MAX_SIGNATURE_TEXT = 200


def decode_signature(text: str) -> bytes:
    """base64 or base64url text of a raw r||s (or DER) signature."""
    text = (text or "").strip()
    if not text or len(text) > MAX_SIGNATURE_TEXT:
        raise SignatureInvalid("signature missing or too long")
    s = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("signature is not base64") from exc


@dataclass(frozen=True)
class Claim:
    """What a stored capture asserts: a v1 manifest, or for an interrupted
    stream its signed header plus the media actually received."""

    hash: str  # the identity: manifest hash, or the stream id
    canonical: bytes  # the signed bytes
    kind: str
    nonce: str
    prev: str | None
    media_sha256: str
    media_size: int
    media_mime: str

    @classmethod
    def of(cls, m: Manifest) -> Claim:
        return cls(m.hash, m.canonical, m.kind, m.nonce, m.prev, m.media_sha256,
                   m.media_size, m.media_mime)


@dataclass(frozen=True)
class IngestResult:
    capture: CaptureRecord
    created: bool


class Ingest:
    def __init__(self, db: Database, store: ObjectStore, settings: Settings,
                 on_stored: Callable[[], None] | None = None) -> None:
        self.db = db
        self.store = store
        self.objects = ObjectRefs(db, store)
        self.settings = settings
        # Told after each commit, e.g. to wake the sequencer.
        self.on_stored = on_stored or (lambda: None)

    # -- nonces -----------------------------------------------------------
    def issue_nonce(self, principal: Principal) -> dict[str, Any]:
        now = utcnow()
        value = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.settings.nonce_ttl_seconds)
        with self.db.session() as s:
            s.add(Nonce(value=value, user_id=principal.user_id, issued_at=now,
                        expires_at=expires))
        return {"nonce": value, "issued_at": iso(now), "expires_at": iso(expires)}

    # -- ingest -----------------------------------------------------------
    def precheck(self, principal: Principal, manifest_raw: bytes | str,
                 signature_text: str) -> Manifest:
        """What can be refused before the media is read: the manifest, its
        device and its signature (a raw upload asks this first, so a phone
        does not send 256 MiB to hear that its key was revoked)."""
        manifest = self._parse(manifest_raw)
        signature = decode_signature(signature_text)
        with self.db.reading() as s:
            jwk = self._device(s, principal, manifest).jwk
        # OpenSSL's verify, as for stream chunks: python-ecdsa's took 7% of a node's
        # time at 70 uploads/s (bench delay on the cluster); both pass Wycheproof
        DeviceKey.from_jwk(jwk).verify_fast(signature, manifest.canonical)
        return manifest

    @staticmethod
    def _parse(manifest_raw: bytes | str) -> Manifest:
        manifest = parse_manifest(manifest_raw)
        if manifest.stream is not None:
            raise InvalidManifest("a streamed recording is finalized with the stream's 'stop' "
                                  "message, not uploaded here")
        return manifest

    @staticmethod
    def _device(s: Session, principal: Principal, manifest: Manifest) -> Device:
        """The caller's enrolled, unrevoked device that signed ``manifest``."""
        device = s.scalar(select(Device).where(Device.key_id == manifest.key_id))
        if device is None or device.user_id != principal.user_id or device.server_held:
            raise DeviceUnknown("the manifest's device key is not enrolled for this account")
        if device.revoked_at is not None:
            raise DeviceRevoked("this device key was revoked; enroll a new one")
        return device

    def ingest(self, principal: Principal, manifest_raw: bytes | str, signature_text: str,
               media: HashingSpool, received_at: datetime | None = None) -> IngestResult:
        received_at = received_at or utcnow()
        manifest = self._parse(manifest_raw)
        signature = decode_signature(signature_text)

        with self.db.session() as s:
            device = self._device(s, principal, manifest)
            existing = s.scalar(select(Capture).where(
                Capture.manifest_hash == manifest.hash))
            nonce = s.get(Nonce, manifest.nonce)
        DeviceKey.from_jwk(device.jwk).verify_fast(signature, manifest.canonical)
        self._check_media(manifest, media)
        if existing is not None:
            # The same signed manifest sent again (a retry after a lost
            # response): answer with the capture it already made.
            return IngestResult(CaptureRecord.of(existing, device.key_id), created=False)
        if nonce is None or nonce.user_id != principal.user_id:
            raise NonceError("this nonce was not issued to this account")
        if nonce.used_at is not None:
            raise NonceReused("this nonce was already used by another capture")
        if nonce.expires_at < received_at:
            raise NonceExpired("this nonce has expired; request a new one")

        identity = (
            ck.Check.of("schema", True, "schema.v1"),
            ck.Check.of("signature", True, "signature.device", key_id=device.key_id),
            ck.Check.of("nonce", True, "nonce.single_use", issued_at=iso(nonce.issued_at)),
        )
        checks = [
            ck.Check.of("media_sha256", True, "media_sha256.ok",
                        sha256=manifest.media_sha256),
            ck.Check.of("media_size", True, "media_size.ok", size=manifest.media_size),
        ]
        sniffed = sniff_mime(media.head)
        checks.append(ck.mime_check(manifest.media_mime, sniffed))
        checks.append(ck.kind_check(manifest.kind, manifest.media_mime))
        skew = timedelta(seconds=self.settings.clock_skew_seconds)
        checks.append(ck.capture_time_check(manifest.started_at, manifest.ended_at,
                                            nonce.issued_at, received_at, skew=skew))
        call = (manifest.data.get("context") or {}).get("call") or {}
        if call.get("method") == "dialer_import" and call.get("started_at"):
            # The dialer's own file: its container time against the claimed call time.
            checks.append(ck.call_time_check(parse_time(call["started_at"]),
                                             probe(Path(media.path)).created_at))
        exif: dict[str, Any] = {}
        if manifest.kind == "photo" or (sniffed or "").startswith("image/"):
            media.seek(0)
            exif = read_exif(media)  # type: ignore[arg-type]  # file-like enough
            if manifest.kind == "photo":
                checks.extend(exif_checks(
                    exif, manifest.geo, manifest.started_at, manifest.ended_at,
                    manifest.data["device"].get("timezone", ""),
                    time_tolerance=timedelta(seconds=self.settings.exif_time_tolerance_seconds),
                    min_distance_m=self.settings.exif_min_distance_m))

        return self.record(principal, device, Claim.of(manifest), signature, media,
                           ck.CheckList(identity, tuple(checks)), exif=exif, sniffed=sniffed,
                           received_at=received_at, place=place_of(manifest.geo))

    def record(self, principal: Principal, device: Device, claim: Claim, signature: bytes,
               media: HashingSpool, checks: ck.CheckList, *, received_at: datetime,
               exif: dict[str, Any] | None = None, sniffed: str | None = None,
               nonce_consumed: bool = False, stream_id: str | None = None,
               partial: bool = False, log_entry: bytes | None = None,
               place: dict[str, Any] | None = None,
               on_commit: Callable[[Session, Capture], None] | None = None) -> IngestResult:
        """Store checked media byte-exact, then commit the capture and its log entry.

        Shared by single uploads, finished or interrupted streams and web
        captures; every check that can reject has already run. ``on_commit``
        adds what belongs with the capture to its transaction.
        """
        key = media_key(claim.media_sha256)
        pin = self.objects.pin(key)  # before the store is looked at; see services/objects.py
        try:
            self._store(media, key, claim.media_sha256, claim.media_size)
            capture = self._commit(principal, device.id, claim, signature, sniffed, key,
                                   checks, exif or {}, received_at,
                                   nonce_consumed=nonce_consumed, stream_id=stream_id,
                                   partial=partial, log_entry=log_entry, pin=pin, place=place,
                                   on_commit=on_commit)
        except _AlreadyThere as again:
            self.objects.unpin(pin)
            return IngestResult(again.capture, created=False)
        except BaseException:
            # Never delete the object here: a concurrent ingest of the same
            # bytes may be committing a capture that refers to it. The
            # collector removes it later if nothing does.
            self.objects.unpin(pin)
            raise
        self.on_stored()
        return IngestResult(capture, created=True)

    def store_file(self, path: Path, sha256: str, size: int) -> int:
        """Put a checked file into the store under its hash, proven by reading it back.

        Returns the pin that keeps it until a capture's transaction refers to
        it (and unpins it); on failure the pin is dropped and nothing deleted.
        """
        key = media_key(sha256)
        pin = self.objects.pin(key)
        try:
            info = self.store.stat(key)
            if info is None or info.size != size or not self._reads_back(key, sha256, size):
                self.store.put_file(key, path, consume=True)
                if not self._reads_back(key, sha256, size):
                    raise IntegrityFailure("the stored object did not read back intact")
        except BaseException:
            self.objects.unpin(pin)
            raise
        return pin

    def _check_media(self, manifest: Manifest, media: HashingSpool) -> None:
        if media.size != manifest.media_size:
            raise SizeMismatch(f"the manifest says {manifest.media_size} bytes, "
                               f"{media.size} arrived")
        if media.sha256 != manifest.media_sha256:
            raise HashMismatch(f"the media hashes to {media.sha256}, the manifest says "
                               f"{manifest.media_sha256}")

    def _store(self, media: HashingSpool, key: str, sha256: str, size: int) -> None:
        """Make ``key`` hold the media, proven by reading it back.

        An object already there is used if it reads back intact; otherwise (a
        missing or damaged object) this request's own bytes replace it.
        Nothing is ever deleted here. The read-back is skipped only when the
        store moved the spool itself into place: the spool's hash, taken as its
        bytes were written and fsynced, is then the object's (one SHA-256 pass
        less per upload; bench/ingest.py).
        """
        info = self.store.stat(key)
        if info is not None and info.size == size and self._reads_back(key, sha256, size):
            return
        media.finish()  # fsync'd; the spool keeps its lock until the store owns it
        stored = self.store.put_file(key, media.path, consume=True)
        media.owned = False
        if stored.moved and (media.sha256, media.size, stored.size) == (sha256, size, size):
            return
        if not self._reads_back(key, sha256, size):
            log.error("read-back mismatch for %s", key)
            raise IntegrityFailure("the stored object did not read back intact")

    def _reads_back(self, key: str, sha256: str, size: int) -> bool:
        digest = hashlib.sha256()
        length = 0
        for block in self.store.iter_range(key):
            digest.update(block)
            length += len(block)
        return digest.hexdigest() == sha256 and length == size

    def _commit(self, principal: Principal, device_id: int, claim: Claim, signature: bytes,
                sniffed: str | None, key: str, checks: ck.CheckList, exif: dict[str, Any],
                received_at: datetime, *, nonce_consumed: bool, stream_id: str | None,
                partial: bool, log_entry: bytes | None, pin: int,
                place: dict[str, Any] | None,
                on_commit: Callable[[Session, Capture], None] | None = None) -> CaptureRecord:
        try:
            with self.db.session() as s:
                device = s.scalar(select(Device).where(Device.id == device_id)
                                  .with_for_update())
                assert device is not None
                if not nonce_consumed:  # a stream consumed its nonce when it started
                    used = s.execute(
                        update(Nonce)
                        .where(Nonce.value == claim.nonce, Nonce.used_at.is_(None))
                        .values(used_at=received_at))
                    if used.rowcount != 1:  # type: ignore[attr-defined]
                        raise NonceReused("this nonce was already used by another capture")
                all_checks = checks.with_chain(self._chain_check(s, device, claim))
                capture = Capture(
                    id=str(uuid.uuid4()), user_id=principal.user_id, device_id=device.id,
                    kind=claim.kind, status="stored", manifest_hash=claim.hash,
                    manifest=claim.canonical.decode("utf-8"), signature=signature,
                    nonce=claim.nonce,
                    prev_manifest=claim.prev, media_sha256=claim.media_sha256,
                    media_size=claim.media_size, media_mime=claim.media_mime,
                    sniffed_mime=sniffed, object_key=key,
                    checks=[c.as_dict() for c in all_checks], exif=exif, received_at=received_at,
                    stream_id=stream_id, partial=partial, place=place)
                s.add(capture)
                device.head_manifest = claim.hash
                device.capture_count += 1
                s.flush()
                # Queued for the log in the same transaction: an acknowledged
                # capture can never be missing from it.
                entry = log_entry or capture_entry(
                    manifest_sha256=claim.hash, signature=signature, key_id=device.key_id,
                    media_sha256=claim.media_sha256, received_at=received_at)
                s.add(LogEntry.for_data(kind="capture", capture_id=capture.id, data=entry))
                ObjectRefs.unpin_in(s, pin)  # the capture now keeps the object
                if on_commit is not None:
                    on_commit(s, capture)
                return CaptureRecord.of(capture, device.key_id)
        except (IntegrityError, Conflict) as exc:
            # A concurrent request with the same manifest won the race.
            with self.db.session() as s:
                row = s.execute(select(Capture, Device.key_id)
                                .join(Device, Device.id == Capture.device_id)
                                .where(Capture.manifest_hash == claim.hash)).first()
            if row is not None:
                raise _AlreadyThere(CaptureRecord.of(row[0], row[1])) from exc
            raise

    @staticmethod
    def _chain_check(s: Session, device: Device, claim: Claim) -> ck.Check:
        head, prev = device.head_manifest, claim.prev
        if prev == head:
            return (ck.Check.of("device_chain", True, "device_chain.first") if prev is None
                    else ck.Check.of("device_chain", True, "device_chain.follows", prev=prev))
        if prev is None:
            return ck.Check.of("device_chain", False, "device_chain.claims_first", head=head)
        known = s.scalar(select(Capture.seq).where(Capture.manifest_hash == prev,
                                                   Capture.device_id == device.id))
        if known is not None:
            return ck.Check.of("device_chain", False, "device_chain.fork", prev=prev,
                               head=head)
        return ck.Check.of("device_chain", False, "device_chain.missing", prev=prev)


class _AlreadyThere(Exception):
    def __init__(self, capture: CaptureRecord) -> None:
        super().__init__("already stored")
        self.capture = capture
