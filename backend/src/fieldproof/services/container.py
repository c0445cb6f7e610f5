"""Wire settings into a database, a store, the log and the services that use them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..db import Database
from ..storage import FilesystemStore, ObjectStore, S3Store
from ..storage.private import private_file, tighten
from ..tsa import EmbeddedTSA, HttpTSA, TimestampAuthority
from .accounts import Accounts
from .custody import Custody
from .derived import Deriver
from .export import Exporter
from .housekeeping import Housekeeping
from .ingest import Ingest
from .log import TransparencyLog
from .logkeys import load_or_create_signer
from .sequencer import Sequencer
from .server_identity import ServerIdentity
from .streams import Streams


def make_store(settings: Settings) -> ObjectStore:
    if settings.s3 is not None:
        s3 = settings.s3
        return S3Store(s3.endpoint, s3.access_key, s3.secret_key, s3.bucket, secure=s3.secure,
                       region=s3.region, retention_days=s3.retention_days,
                       tmp_dir=settings.data_dir / "tmp")
    return FilesystemStore(settings.data_dir / "store")


def make_tsas(settings: Settings) -> list[TimestampAuthority]:
    tsas: list[TimestampAuthority] = []
    if settings.embedded_tsa:
        tsas.append(EmbeddedTSA.load_or_create(settings.data_dir / "keys" / "tsa"))
    for spec in settings.tsa_urls:
        url, _, chain_file = spec.partition("|")
        chain = _pem_blocks(Path(chain_file).read_bytes()) if chain_file else []
        tsas.append(HttpTSA(url, roots_pem=chain[-1:], intermediates_pem=chain[:-1]))
    return tsas


def _pem_blocks(data: bytes) -> list[bytes]:
    marker = b"-----END CERTIFICATE-----"
    return [block.strip() + b"\n" + marker + b"\n" for block in data.split(marker)
            if block.strip()]


@dataclass
class Services:
    settings: Settings
    db: Database
    store: ObjectStore
    accounts: Accounts
    ingest: Ingest
    log: TransparencyLog
    sequencer: Sequencer
    streams: Streams
    exporter: Exporter
    deriver: Deriver
    custody: Custody
    identity: ServerIdentity  # signs certificate PDFs and C2PA credentials
    housekeeping: Housekeeping  # interrupted streams, leftover temp files, unused objects

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        tighten(settings.data_dir)  # 0700, and 0600 for the files in it
        if settings.database_url is None:  # SQLite makes its -wal/-shm with this mode
            private_file(settings.data_dir / "fieldproof.sqlite3")
        db = Database(settings.db_url)
        if migrate:
            db.migrate()
        store = make_store(settings)
        keys = settings.data_dir / "keys"
        tlog = TransparencyLog(db, load_or_create_signer(keys, settings.log_origin),
                               make_tsas(settings))
        sequencer = Sequencer(db, tlog, interval=settings.sequencer_interval)
        ingest = Ingest(db, store, settings, on_stored=sequencer.notify)
        streams = Streams(db, store, settings, ingest, tlog.signer)
        custody = Custody(db)
        identity = ServerIdentity(keys / "server-ca")
        deriver = Deriver(ingest, store, identity, tlog)
        exporter = Exporter(ingest, tlog, store, custody, deriver, identity,
                            tmp_dir=settings.data_dir / "tmp", public_url=settings.public_url)
        housekeeping = Housekeeping(streams, ingest.objects, store.tmp_dir,  # type: ignore[attr-defined]
                                    stream_timeout=settings.stream_timeout_seconds)
        return cls(settings=settings, db=db, store=store, accounts=Accounts(db, settings),
                   ingest=ingest, log=tlog, sequencer=sequencer, streams=streams,
                   exporter=exporter, deriver=deriver, custody=custody, identity=identity,
                   housekeeping=housekeeping)

    def start_background(self, *, sequencer: bool = True) -> None:
        """The sequencer and the housekeeping thread."""
        if sequencer:
            self.sequencer.start()
        self.housekeeping.start()

    def close(self) -> None:
        self.housekeeping.stop()
        self.sequencer.stop()
        self.db.dispose()
