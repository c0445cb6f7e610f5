"""SQLAlchemy 2 models. Schema changes go through Alembic (db/migrations)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A disabled account signs in no more and its tokens stop working; its
    # evidence stays (nothing is ever deleted by disabling).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Only the SHA-256 of a token is kept: a database leak yields no usable token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Tokens expire (FIELDPROOF_TOKEN_TTL_DAYS); renewing issues a new one.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(43), unique=True)
    jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hash of the last manifest accepted from this device: the chain head.
    head_manifest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    capture_count: Mapped[int] = mapped_column(Integer, default=0)
    # A revoked key signs nothing new; what it signed before stays valid.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The server's web recorder for this account (webcap/keys.py), not a phone.
    server_held: Mapped[bool] = mapped_column(default=False)


class Nonce(Base):
    __tablename__ = "nonces"

    value: Mapped[str] = mapped_column(String(86), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Capture(Base):
    __tablename__ = "captures"

    # seq orders and pages captures; id is the public, unguessable name.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    manifest_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manifest: Mapped[str] = mapped_column(Text)  # the canonical (JCS) bytes, as UTF-8
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[str] = mapped_column(String(86), unique=True)
    prev_manifest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    media_sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_size: Mapped[int] = mapped_column(BigInteger)
    media_mime: Mapped[str] = mapped_column(String(127))
    sniffed_mime: Mapped[str | None] = mapped_column(String(127), nullable=True)
    object_key: Mapped[str] = mapped_column(String(512), index=True)
    checks: Mapped[list[Any]] = mapped_column(JSON)
    exif: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Live recordings: the stream it came from; partial = the stream was
    # interrupted and this capture holds the chunks received until then.
    stream_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    partial: Mapped[bool] = mapped_column(default=False)
    # Where the signed fix is, as a place name (offline reverse geocoding at
    # ingest; not part of the signed evidence): {name, name_zh, admin1, country,
    # distance_km}. None without a fix.
    place: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


# ----------------------------------------------------------------- stored media objects
class StoredObject(Base):
    """A content-addressed media object the server has put into the store.

    Objects are never deleted by a failing request: another request, possibly
    another user's, may have found the same bytes already stored and be about to
    commit a capture that refers to them. The garbage collector removes an
    object only when no capture refers to it and no ingest holds a pin on it,
    under this row's lock (services/objects.py).
    """

    __tablename__ = "stored_objects"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ObjectPin(Base):
    """An ingest in flight that may commit a capture referring to ``key``.

    Removed in the transaction that commits the capture (or when the ingest
    fails); a pin left by a crashed process expires at ``expires_at``.
    """

    __tablename__ = "object_pins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(512), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ----------------------------------------------------------------- the transparency log
class LogEntry(Base):
    """A leaf waiting for, or holding, its place in the Merkle log.

    Written in the same transaction that accepts a capture, so no acknowledged
    capture can miss the log; the sequencer assigns ``leaf_index`` later.
    """

    __tablename__ = "log_entries"
    # The sequencer's work queue: only entries still without a place.
    __table_args__ = (Index("ix_log_entries_pending", "seq",
                            sqlite_where=text("leaf_index IS NULL"),
                            postgresql_where=text("leaf_index IS NULL")),
                      # One capture leaf per capture; custody leaves are many.
                      Index("ux_log_entries_capture", "capture_id", unique=True,
                            sqlite_where=text("kind = 'capture'"),
                            postgresql_where=text("kind = 'capture'")),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))  # "capture" or "custody"
    data: Mapped[str] = mapped_column(Text)  # canonical JSON: the leaf data
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def for_data(cls, *, kind: str, data: bytes, capture_id: str | None) -> LogEntry:
        return cls(kind=kind, data=data.decode("utf-8"), capture_id=capture_id,
                   leaf_hash=hashlib.sha256(b"\x00" + data).digest())  # RFC 9162 leaf hash


class LogNode(Base):
    """Every perfect subtree of the log: (level, index) -> hash (RFC 9162)."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogState(Base):
    """One row: the integrated tree size. Locked by the sequencer while it writes."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)


class LogCheckpoint(Base):
    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)  # the signed note, exactly as served
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LogTimestamp(Base):
    """An RFC 3161 token over a checkpoint's note, or a pending request for one."""

    __tablename__ = "log_timestamps"
    __table_args__ = (Index("ix_log_timestamps_pending", "next_attempt_at",
                            sqlite_where=text("token IS NULL"),
                            postgresql_where=text("token IS NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_size: Mapped[int] = mapped_column(ForeignKey("log_checkpoints.size"), index=True)
    tsa: Mapped[str] = mapped_column(String(512))  # a name, or the external TSA's URL
    embedded: Mapped[bool] = mapped_column(default=False)
    token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    gen_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LogCosignature(Base):
    """A witness's cosignature (C2SP tlog-cosignature) on a checkpoint: a note signature line."""

    __tablename__ = "log_cosignatures"

    checkpoint_size: Mapped[int] = mapped_column(ForeignKey("log_checkpoints.size"),
                                                 primary_key=True)
    witness: Mapped[str] = mapped_column(String(256), primary_key=True)  # its key name
    line: Mapped[str] = mapped_column(Text)  # "— <name> <base64>\n", exactly as returned
    cosigned_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the time inside it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ----------------------------------------------------------------- live streams (protocol v2)
class Stream(Base):
    __tablename__ = "streams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the header
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    header: Mapped[str] = mapped_column(Text)  # canonical JSON, as signed
    header_sig: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(127))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open|complete|interrupted
    next_seq: Mapped[int] = mapped_column(Integer, default=0)  # durable chunks so far
    chain_head: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    capture_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class StreamChunk(Base):
    __tablename__ = "stream_chunks"

    stream_id: Mapped[str] = mapped_column(ForeignKey("streams.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))
    header: Mapped[str] = mapped_column(Text)  # the signed chunk header (JCS)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    # The chunk's bytes, committed in the same transaction as the row (one commit,
    # one fsync, per chunk); emptied once the recording is stored as a capture.
    # Chunks of an older version were staged as objects and name their key.
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    object_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustodyEvent(Base):
    """One chain-of-custody event: a read of a capture or a change of its status.

    ``record`` is the full event (who, when, what, from where, a random salt) as
    canonical JSON; the log leaf (``entry_seq``) commits to its SHA-256 only, so
    the public log carries no personal data and the salt defeats guessing.
    """

    __tablename__ = "custody_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    record: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_seq: Mapped[int] = mapped_column(ForeignKey("log_entries.seq"), unique=True)


# ----------------------------------------------------------------- web captures
class WebCapture(Base):
    """A task: the server records a URL in a clean browser (webcap/).

    scheduled -> recording -> awaiting_confirmation -> confirmed | abandoned;
    or failed (``reason``). ``capture_id`` is set, with status
    awaiting_confirmation, in the transaction that commits the capture.
    """

    __tablename__ = "web_captures"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200), default="")
    applicant: Mapped[str] = mapped_column(String(200), default="")
    # the owner's zone (IANA), for the recorder's manifest: times shown where they live
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    duration_s: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the recorder that holds it, and when it last said it is alive
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # user | auto
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), nullable=True,
                                                   unique=True)
    # the newest frame while recording (a small JPEG), for the app's live thumbnail
    frame: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    frame_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebCaptureFile(Base):
    """A file of a web capture besides its video: the store keeps it for the capture."""

    __tablename__ = "web_capture_files"

    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(512), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(127))


# ----------------------------------------------------------------- people's own words
class CaptureAnnotation(Base):
    """What the owner writes about a capture: a title, a note, tags.

    Not part of the signed evidence (the manifest is); every change is a
    custody event. One row per annotated capture.
    """

    __tablename__ = "capture_annotations"

    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """A dispute's evidence, grouped by its owner (a person or their lawyer)."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{role, name}]: 原告/被告/申请人..., free text
    parties: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseItem(Base):
    """One line of a case's evidence list (证据目录): a capture, its name there and
    what it proves (证明目的). ``position`` orders the list from 1."""

    __tablename__ = "case_items"
    __table_args__ = (Index("ux_case_items_position", "case_id", "position", unique=True),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Share(Base):
    """A read-only link to a case or one capture for someone with no account.

    Only the SHA-256 of the link's secret is kept. Revoked or expired: 404.
    """

    __tablename__ = "shares"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    capture_id: Mapped[str | None] = mapped_column(ForeignKey("captures.id"), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    allow_download: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Invite(Base):
    """A one-time invitation to sign up (FIELDPROOF_SIGNUP=invite)."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasswordReset(Base):
    """A one-time password reset an administrator issued for a user."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TranscriptVersion(Base):
    """One signed version of a recording's transcript (transcripts/, PROTOCOL Transcripts).

    ``document`` is the JCS text exactly as signed; ``entry_seq`` its queued log
    leaf, written in the same transaction. (capture_id, version) is unique, so
    two versions saved at once cannot both follow the same one.
    """

    __tablename__ = "transcript_versions"
    __table_args__ = (UniqueConstraint("capture_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str] = mapped_column(String(8))  # machine | human
    key_id: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    # a human version's signing key (public JWK, canonical JSON), for the bundle
    signer_jwk: Mapped[str | None] = mapped_column(Text, nullable=True)
    # a machine version's: the transcriber certificate it was signed under (PEM)
    signer_cert: Mapped[str | None] = mapped_column(Text, nullable=True)
    entry_seq: Mapped[int] = mapped_column(ForeignKey("log_entries.seq"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TranscriptJob(Base):
    """A machine transcription: queued -> running -> done | failed (``code``)."""

    __tablename__ = "transcript_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    capture_id: Mapped[str] = mapped_column(ForeignKey("captures.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far
