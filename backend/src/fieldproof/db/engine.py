"""Engine, sessions and migrations."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATION_LOCK_KEY = 0x46504D4947  # "FPMIG": one migration at a time (PostgreSQL)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite (SQLAlchemy's documented
        # recipe) so that every transaction starts with BEGIN IMMEDIATE: a
        # read-then-write transaction can then never fail to upgrade its lock.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives power loss
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        # Checkpoints copy the WAL into the database file; the commit that trips
        # one does it while every other writer waits. Live streams commit their
        # bytes many times a second, so a serving process checkpoints in the
        # background instead (Database.start_checkpointer); this is only the
        # backstop for processes that do not (about 64 MiB of WAL).
        cur.execute("PRAGMA wal_autocheckpoint=16000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-only units of work need no write lock (and must not queue
        # behind ingest commits and sequencer batches).
        if conn.get_execution_options().get("fieldproof_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        # Every live stream is a thread that touches the database per chunk:
        # a pool much smaller than the thread count makes them queue.
        kwargs["pool_size"], kwargs["max_overflow"] = 16, 48
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
            # A peer that vanished (a node's host, the sequencer leader's lock
            # session) is noticed in about a minute, not the kernel's two hours.
            kwargs["connect_args"] = {"keepalives": 1, "keepalives_idle": 30,
                                      "keepalives_interval": 10, "keepalives_count": 3}
        self.engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(fieldproof_readonly=True),
                                     expire_on_commit=False)
        self._checkpointer: tuple[threading.Thread, threading.Event] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def start_checkpointer(self, interval: float = 0.5) -> None:
        """SQLite: checkpoint the WAL from a thread of its own, without blocking
        writers (PASSIVE), so no commit pays for it. Nothing to do elsewhere."""
        if self.dialect != "sqlite" or self._checkpointer is not None:
            return
        stop = threading.Event()

        def run() -> None:
            failures = 0
            while not stop.wait(interval):
                try:
                    self.checkpoint()
                    failures = 0
                except Exception as exc:  # busy or closing: the next round catches up
                    failures += 1
                    (log.warning if failures % 100 == 1 else log.debug)(
                        "WAL checkpoint failed (%d in a row): %s", failures, exc)

        thread = threading.Thread(target=run, name="wal-checkpoint", daemon=True)
        self._checkpointer = (thread, stop)
        thread.start()

    def wait_ready(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the database to answer (a container that
        starts before its database); the last error is raised after that."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("database not ready (%s); retrying in %.1f s",
                            type(exc.orig).__name__, delay)
                time.sleep(delay)  # a retry backoff, not a wait for a condition
                delay = min(5.0, delay * 2)

    def migrate(self) -> None:
        """Apply every Alembic migration (idempotent)."""
        cfg = Config()
        cfg.set_main_option("script_location",
                            str(resources.files("fieldproof.db").joinpath("migrations")))
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # The nodes of a cluster start together: one migrates, the others
                # wait here and then find nothing left to do.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work (on SQLite: no write lock is taken)."""
        with self._readers() as s, s.begin():
            yield s

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE WAL checkpoint (SQLite): (busy, WAL frames, frames copied).

        Outside any transaction (the pool's connections open one with BEGIN
        IMMEDIATE, inside which SQLite refuses a checkpoint): on the raw
        connection, which pysqlite leaves in autocommit here."""
        raw = self.engine.raw_connection()
        try:
            row = raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        return int(row[0]), int(row[1]), int(row[2])

    def dispose(self) -> None:
        if self._checkpointer is not None:
            thread, stop = self._checkpointer
            stop.set()
            thread.join(5)
            self._checkpointer = None
        self.engine.dispose()
