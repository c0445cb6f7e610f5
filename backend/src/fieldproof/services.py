"""Wire settings into a database, a store, the log and the services that use them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fieldproof.accounts.accounts import Accounts
from fieldproof.accounts.resets import PasswordResets
from fieldproof.accounts.signup import Signup
from fieldproof.bundle.transcript import TRANSCRIBER_NAME
from fieldproof.capture import places
from fieldproof.capture.annotations import Annotations
from fieldproof.capture.continuity import Continuity
from fieldproof.capture.ingest import Ingest
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.capture.streams import Streams
from fieldproof.cases.cases import Cases
from fieldproof.cases.export import CaseExporter
from fieldproof.cases.shares import Shares
from fieldproof.config import Settings
from fieldproof.core.encoding import split_pem_certificates
from fieldproof.db import Database
from fieldproof.evidence.certificate import fonts as certificate_fonts
from fieldproof.evidence.derived import Deriver
from fieldproof.evidence.export import Exporter
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.housekeeping import Housekeeping
from fieldproof.log.custody import Custody
from fieldproof.log.keys import load_or_create_signer
from fieldproof.log.log import TransparencyLog
from fieldproof.log.sequencer import Sequencer
from fieldproof.log.tiles import Tiles
from fieldproof.log.witnesses import Witnesses
from fieldproof.ratelimit import make_storage
from fieldproof.storage import FilesystemStore, ObjectStore, S3Store
from fieldproof.storage.private import private_file, tighten
from fieldproof.transcripts import model as asr_model
from fieldproof.transcripts.runner import TranscriptRunner
from fieldproof.transcripts.versions import Transcripts
from fieldproof.tsa import EmbeddedTSA, HttpTSA, TimestampAuthority
from fieldproof.webcap.keys import RecorderKeys
from fieldproof.webcap.runner import WebRunner, capture_files
from fieldproof.webcap.tasks import WebTasks


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
        tsas.append(EmbeddedTSA.load_or_create(settings.keys_dir / "tsa"))
    for spec in settings.external_tsas:
        chain = split_pem_certificates(spec.chain_file.read_bytes()) if spec.chain_file else []
        tsas.append(HttpTSA(spec.url, roots_pem=chain[-1:], intermediates_pem=chain[:-1]))
    return tsas


@dataclass
class Services:
    settings: Settings
    db: Database
    store: ObjectStore
    accounts: Accounts
    signup: Signup  # who may make an account (FIELDPROOF_SIGNUP), invitations
    resets: PasswordResets  # one-time password reset links
    ingest: Ingest
    captures: Captures
    log: TransparencyLog
    sequencer: Sequencer
    tiles: Tiles  # the log as C2SP tlog-tiles in the object store (tiles/...)
    streams: Streams
    exporter: Exporter
    deriver: Deriver
    custody: Custody
    identity: ServerIdentity  # signs certificate PDFs and C2PA credentials
    housekeeping: Housekeeping  # interrupted streams, leftover temp files, unused objects
    annotations: Annotations  # the owner's title, note and tags of a capture
    cases: Cases  # captures grouped by dispute, in the order of their evidence list
    case_exporter: CaseExporter  # the signed evidence list and the case export zip
    shares: Shares  # read-only links for people with no account
    web_tasks: WebTasks  # web captures: the owner's tasks and their states
    web_runner: WebRunner  # records them, one child process per task
    continuity: Continuity  # is a recording continuous: its timeline, gaps and joins
    transcripts: Transcripts  # a recording's signed transcript versions and jobs
    transcript_runner: TranscriptRunner  # machine transcription, one child process per job

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        tighten(settings.data_dir)  # 0700, and 0600 for the files in it
        if settings.database_url is None:  # SQLite makes its -wal/-shm with this mode
            private_file(settings.data_dir / "fieldproof.sqlite3")
        db = Database(settings.db_url)
        if migrate:
            db.wait_ready(settings.db_wait_seconds)
            db.migrate()
        store = make_store(settings)
        keys = settings.keys_dir
        certificate_fonts.configure(settings.cjk_font)
        tlog = TransparencyLog(db, load_or_create_signer(keys, settings.log_origin),
                               make_tsas(settings), witnesses=settings.witness_specs)
        tiles = Tiles(db, store, tlog.signer.verifier, tmp_dir=settings.data_dir / "tmp",
                      lock_file=settings.data_dir / "tiles.lock")
        sequencer = Sequencer(db, tlog, interval=settings.sequencer_interval, tiles=tiles,
                              witnesses=Witnesses(db, settings.witness_specs))
        ingest = Ingest(db, store, settings, on_stored=sequencer.notify)
        captures = Captures(db)
        # Sign-in and sign-up limits: shared by every node of a cluster.
        limits_storage = make_storage(settings.message_queue)
        accounts = Accounts(db, settings, limits_storage=limits_storage)
        streams = Streams(db, store, settings, ingest, captures, tlog.signer)
        accounts.on_revoked.append(lambda what: streams.forget_device(what.device_id))
        custody = Custody(db)
        identity = ServerIdentity(keys / "server-ca")
        deriver = Deriver(captures, store, identity, tlog, settings)
        recorder_keys = RecorderKeys(keys / "web-recorder", identity)

        def web_parts(capture: CaptureRecord) -> tuple[list[tuple[str, str]], bytes]:
            files = [(f.name, f.object_key) for f in capture_files(db, capture.id)]
            return files, recorder_keys.certificate(capture.user_id)

        cases = Cases(db, captures)
        housekeeping = Housekeeping(streams, ingest.objects, store.tmp_dir,  # type: ignore[attr-defined]
                                    stream_timeout=settings.stream_timeout_seconds)
        web_tasks = WebTasks(db, confirm_hours=settings.web_confirm_hours,
                             max_seconds=settings.web_max_seconds,
                             allow_private=settings.web_allow_private,
                             on_custody=sequencer.notify)
        web_runner = WebRunner(db, web_tasks, ingest, accounts,
                               recorder_keys, tlog.tsas,
                               settings)
        web_tasks.on_new = web_runner.notify
        transcriber = RecorderKeys(keys / "transcriber", identity, TRANSCRIBER_NAME)
        transcripts = Transcripts(
            db, captures, lambda: transcriber.named("transcriber"),
            available=lambda: asr_model.find(settings.asr_model) is not None,
            on_new=sequencer.notify)
        transcript_runner = TranscriptRunner(
            transcripts, store, model_dir=settings.asr_model,
            tmp_dir=settings.data_dir / "tmp", timeout=settings.asr_timeout,
            threads=settings.asr_threads)
        transcripts.on_job = transcript_runner.notify
        continuity = Continuity(db, store)
        exporter = Exporter(captures, streams, accounts, tlog, store, custody, deriver, identity,
                            tmp_dir=settings.data_dir / "tmp", public_url=settings.public_url,
                            operator_name=settings.operator_name, web_parts=web_parts,
                            transcripts=transcripts, continuity=continuity,
                            transcriber_cert=lambda: transcriber.named("transcriber").cert_pem)
        return cls(settings=settings, db=db, store=store, accounts=accounts,
                   web_tasks=web_tasks, web_runner=web_runner,
                   transcripts=transcripts, transcript_runner=transcript_runner,
                   continuity=continuity,
                   signup=Signup(db, accounts, settings, limits_storage=limits_storage),
                   resets=PasswordResets(db, accounts, settings.public_url),
                   ingest=ingest, captures=captures, log=tlog, sequencer=sequencer, tiles=tiles,
                   streams=streams,
                   exporter=exporter, deriver=deriver, custody=custody, identity=identity,
                   housekeeping=housekeeping,
                   annotations=Annotations(db, captures, custody), cases=cases,
                   case_exporter=CaseExporter(cases, exporter, tlog, identity,
                                              tmp_dir=settings.data_dir / "tmp"),
                   shares=Shares(db, captures, cases))

    def start_background(self, *, sequencer: bool = True) -> None:
        """The sequencer, the web recorder's queue and the housekeeping thread;
        place names load meanwhile."""
        self.db.start_checkpointer()
        if sequencer:
            self.sequencer.start()
        if self.settings.web_recorder == "thread":
            self.web_runner.start()
        if self.settings.asr_runner == "thread":
            self.transcript_runner.start()
        self.housekeeping.start()
        threading.Thread(target=places.gazetteer, name="place-names", daemon=True).start()

    def close(self) -> None:
        self.web_runner.stop()
        self.transcript_runner.stop()
        self.housekeeping.stop()
        self.sequencer.stop()
        self.db.dispose()
