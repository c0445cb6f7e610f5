"""Settings: a frozen dataclass read once from the environment.

Embedded defaults need nothing else running: SQLite (WAL) and a filesystem
object store, both under one data dir. Production points DATABASE_URL at
PostgreSQL and FIELDPROOF_S3_* at MinIO/S3.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_UPLOAD = 4 * 1024**3  # 4 GiB
SIGNUP_MODES = ("open", "invite", "closed")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str = "fieldproof"
    secure: bool = True
    region: str | None = None
    retention_days: int = 0


@dataclass(frozen=True)
class TsaSpec:
    """An external RFC 3161 TSA: its URL, and optionally its chain (PEM, root last)."""

    url: str
    chain_file: Path | None = None

    @classmethod
    def parse(cls, spec: str) -> TsaSpec:
        """``URL`` or ``URL|chain.pem``."""
        url, _, chain = spec.strip().partition("|")
        if not url:
            raise ValueError(f"not a TSA: {spec!r}")
        return cls(url, Path(chain) if chain else None)


@dataclass(frozen=True)
class WitnessSpec:
    """A witness the sequencer asks for cosignatures: its add-checkpoint prefix and vkey."""

    url: str
    vkey: str

    @classmethod
    def parse(cls, spec: str) -> WitnessSpec:
        """``URL|VKEY``; the vkey is checked when the witness client is built."""
        url, _, vkey = spec.strip().partition("|")
        if not url.startswith(("http://", "https://")) or not vkey:
            raise ValueError(f"a witness is 'URL|VKEY', not {spec!r}")
        return cls(url.rstrip("/"), vkey.strip())

    @property
    def public_url(self) -> str:
        """The URL without credentials or query: safe to log and to publish."""
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str | None = field(default=None, repr=False)
    s3: S3Settings | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    nonce_ttl_seconds: int = 7 * 24 * 3600  # long enough for offline pre-fetched nonces
    clock_skew_seconds: int = 300
    exif_time_tolerance_seconds: int = 120
    exif_min_distance_m: float = 200.0
    log_origin: str = "fieldproof.local/log"
    sequencer: str = "thread"  # "thread": in the server process; "off": run `fieldproof worker`
    sequencer_interval: float = 1.0
    embedded_tsa: bool = True
    # "URL" or "URL|chain.pem" (the TSA's chain, root last): replies are then
    # verified against it and /api/v1/log publishes it.
    tsa_urls: tuple[str, ...] = ()
    # FIELDPROOF_WITNESSES: "URL|VKEY" per witness (C2SP tlog-witness), comma-separated.
    witnesses: tuple[str, ...] = ()
    cjk_font: Path | None = None  # the certificate's Chinese font (default: WenQuanYi)
    operator_name: str | None = None  # who runs this server: printed on every certificate
    stream_timeout_seconds: float = 120.0  # silence after which a stream is interrupted
    stream_max_chunk_bytes: int = 4 * 1024 * 1024
    stream_max_bytes_per_second: int = 16 * 1024 * 1024  # per connection
    stream_max_chunks_per_second: int = 100  # per connection
    pwa_dir: Path | None = None  # the built PWA; default: the repository's pwa/dist
    # Where people reach this server (the certificate's QR code links here);
    # default: the host the request that made the bundle came to.
    public_url: str | None = None
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-* to believe
    token_ttl_days: int = 30  # API tokens expire; the app renews its own before then
    # Who may make an account: "open" (anyone), "invite" (a one-time link from
    # `fieldproof admin invite`) or "closed" (only `fieldproof admin create-user`).
    signup: str = "invite"
    operator_contact: str | None = None  # who runs this server, shown on the sign-in page
    # The public endpoints, per client address: a burst, then a rate (ratelimit.public_limit).
    public_burst: int = 30
    public_per_second: float = 0.5
    # Web captures (webcap/): who records ("thread": a queue in the server
    # process, which starts one recorder process per task; "off": `fieldproof
    # worker` does), how many browsers at once, and their limits.
    web_recorder: str = "thread"
    web_concurrency: int = 1
    web_allow_private: bool = False  # FIELDPROOF_WEB_ALLOW_PRIVATE=1: tests and intranets only
    web_confirm_hours: float = 24.0  # awaiting confirmation this long, a task confirms itself
    web_max_seconds: int = 4 * 3600  # the longest recording (a booked live stream)
    web_max_bytes: int = 2 * 1024**3  # network traffic per recording
    web_trusted_spki: tuple[str, ...] = ()  # extra TLS keys the browser accepts (tests, intranets)
    # Chromium's own sandbox for the pages it records; it cannot run as root (then off,
    # and environment.json says so), and FIELDPROOF_WEB_SANDBOX=0 turns it off where the
    # kernel has no user namespaces (some containers)
    web_sandbox: bool = True
    # Machine transcripts (transcripts/): the faster-whisper model directory (nothing is
    # downloaded; without one, transcription answers asr_unavailable), who runs the
    # jobs ("thread" in the server, "off": `fieldproof worker`) and a job's time limit.
    asr_model: Path | None = None
    asr_runner: str = "thread"
    asr_timeout: int = 1800
    asr_threads: int = 2
    # A cluster (several `serve` nodes behind a load balancer): the Redis (or Valkey)
    # every node shares for Socket.IO rooms and events and for rate limits; the name
    # this node gives in /health; the key directory every node shares (default: the
    # data dir's keys/, made by `fieldproof admin init` or the first start).
    message_queue: str | None = field(default=None, repr=False)
    node_name: str = field(default_factory=socket.gethostname)
    keys_path: Path | None = None
    db_wait_seconds: float = 60.0  # at start, how long to wait for the database to answer
    testing: bool = False

    @property
    def keys_dir(self) -> Path:
        """Where the server's signing keys live (FIELDPROOF_KEYS_DIR)."""
        return self.keys_path or self.data_dir / "keys"

    @property
    def external_tsas(self) -> tuple[TsaSpec, ...]:
        """FIELDPROOF_TSA_URLS, parsed: the independent TSAs, in configured order."""
        return tuple(TsaSpec.parse(u) for u in self.tsa_urls)

    @property
    def witness_specs(self) -> tuple[WitnessSpec, ...]:
        """FIELDPROOF_WITNESSES, parsed."""
        return tuple(WitnessSpec.parse(w) for w in self.witnesses)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fieldproof.sqlite3').resolve()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        s3 = None
        if env.get("FIELDPROOF_S3_ENDPOINT"):
            s3 = S3Settings(
                endpoint=env["FIELDPROOF_S3_ENDPOINT"],
                access_key=env.get("FIELDPROOF_S3_ACCESS_KEY", ""),
                secret_key=env.get("FIELDPROOF_S3_SECRET_KEY", ""),
                bucket=env.get("FIELDPROOF_S3_BUCKET", "fieldproof"),
                secure=env.get("FIELDPROOF_S3_SECURE", "1") not in ("0", "false", "no"),
                region=env.get("FIELDPROOF_S3_REGION") or None,
                retention_days=_int(env, "FIELDPROOF_S3_RETENTION_DAYS", 0),
            )
        settings = cls(
            data_dir=Path(env.get("FIELDPROOF_DATA_DIR") or "var"),
            database_url=env.get("DATABASE_URL") or None,
            s3=s3,
            max_upload_bytes=_int(env, "FIELDPROOF_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD),
            nonce_ttl_seconds=_int(env, "FIELDPROOF_NONCE_TTL", 7 * 24 * 3600),
            log_origin=env.get("FIELDPROOF_LOG_ORIGIN") or "fieldproof.local/log",
            sequencer=env.get("FIELDPROOF_SEQUENCER") or "thread",
            sequencer_interval=float(env.get("FIELDPROOF_SEQUENCER_INTERVAL") or 1.0),
            embedded_tsa=env.get("FIELDPROOF_EMBEDDED_TSA", "1") not in ("0", "false", "no"),
            pwa_dir=Path(env["FIELDPROOF_PWA_DIR"]) if env.get("FIELDPROOF_PWA_DIR") else None,
            public_url=(env.get("FIELDPROOF_PUBLIC_URL") or "").rstrip("/") or None,
            trusted_proxies=_int(env, "FIELDPROOF_TRUSTED_PROXIES", 0),
            token_ttl_days=_int(env, "FIELDPROOF_TOKEN_TTL_DAYS", 30),
            signup=(env.get("FIELDPROOF_SIGNUP") or "invite").strip().lower(),
            operator_contact=(env.get("FIELDPROOF_OPERATOR_CONTACT") or "").strip() or None,
            public_burst=_int(env, "FIELDPROOF_PUBLIC_BURST", 30),
            public_per_second=float(env.get("FIELDPROOF_PUBLIC_PER_SECOND") or 0.5),
            stream_timeout_seconds=float(env.get("FIELDPROOF_STREAM_TIMEOUT") or 120),
            stream_max_chunk_bytes=_int(env, "FIELDPROOF_STREAM_MAX_CHUNK", 4 * 1024 * 1024),
            tsa_urls=tuple(u.strip() for u in env.get("FIELDPROOF_TSA_URLS", "").split(",")
                           if u.strip()),
            witnesses=tuple(w.strip() for w in env.get("FIELDPROOF_WITNESSES", "").split(",")
                            if w.strip()),
            cjk_font=Path(env["FIELDPROOF_CJK_FONT"]) if env.get("FIELDPROOF_CJK_FONT") else None,
            operator_name=(env.get("FIELDPROOF_OPERATOR_NAME") or "").strip() or None,
            web_recorder=env.get("FIELDPROOF_WEB_RECORDER") or "thread",
            web_concurrency=max(1, _int(env, "FIELDPROOF_WEB_CONCURRENCY", 1)),
            web_allow_private=env.get("FIELDPROOF_WEB_ALLOW_PRIVATE", "0") in ("1", "true", "yes"),
            web_confirm_hours=float(env.get("FIELDPROOF_WEB_CONFIRM_HOURS") or 24),
            web_max_seconds=_int(env, "FIELDPROOF_WEB_MAX_SECONDS", 4 * 3600),
            web_max_bytes=_int(env, "FIELDPROOF_WEB_MAX_BYTES", 2 * 1024**3),
            web_sandbox=env.get("FIELDPROOF_WEB_SANDBOX", "1") not in ("0", "false", "no"),
            asr_model=Path(env["FIELDPROOF_ASR_MODEL"]) if env.get("FIELDPROOF_ASR_MODEL")
            else None,
            asr_runner=env.get("FIELDPROOF_ASR_RUNNER") or "thread",
            asr_timeout=max(10, _int(env, "FIELDPROOF_ASR_TIMEOUT", 1800)),
            asr_threads=max(1, _int(env, "FIELDPROOF_ASR_THREADS", 2)),
            message_queue=(env.get("FIELDPROOF_MESSAGE_QUEUE") or "").strip() or None,
            node_name=(env.get("FIELDPROOF_NODE_NAME") or "").strip() or socket.gethostname(),
            keys_path=Path(env["FIELDPROOF_KEYS_DIR"]) if env.get("FIELDPROOF_KEYS_DIR")
            else None,
            db_wait_seconds=float(env.get("FIELDPROOF_DB_WAIT") or 60),
            web_trusted_spki=tuple(k.strip() for k in env.get("FIELDPROOF_WEB_TRUSTED_SPKI",
                                                             "").split(",") if k.strip()),
        )
        settings = replace(settings, **overrides)
        if settings.signup not in SIGNUP_MODES:
            raise ValueError("FIELDPROOF_SIGNUP is 'open', 'invite' or 'closed'")
        if settings.web_recorder not in ("thread", "off"):
            raise ValueError("FIELDPROOF_WEB_RECORDER is 'thread' or 'off'")
        if settings.asr_runner not in ("thread", "off"):
            raise ValueError("FIELDPROOF_ASR_RUNNER is 'thread' or 'off'")
        if settings.sequencer not in ("thread", "off"):
            raise ValueError("FIELDPROOF_SEQUENCER is 'thread' or 'off'")
        if settings.message_queue and urlsplit(settings.message_queue).scheme not in (
                "redis", "rediss"):
            # Valkey speaks the same protocol: redis://valkey-host:6379/0
            raise ValueError("FIELDPROOF_MESSAGE_QUEUE is a redis:// or rediss:// URL")
        if settings.public_burst < 1 or not settings.public_per_second > 0:
            raise ValueError("FIELDPROOF_PUBLIC_BURST is at least 1 and "
                             "FIELDPROOF_PUBLIC_PER_SECOND more than 0")
        if not settings.embedded_tsa and not settings.tsa_urls:
            raise ValueError("with the embedded TSA off, set FIELDPROOF_TSA_URLS")
        settings.external_tsas  # noqa: B018 - refuse a malformed list at start
        settings.witness_specs  # noqa: B018 - and a malformed witness
        return settings
