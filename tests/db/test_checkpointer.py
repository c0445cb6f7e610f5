"""SQLite's WAL is copied into the database file by the serving process's own
thread (Database.start_checkpointer), not by the commit that trips a checkpoint."""

from __future__ import annotations

from pathlib import Path

from fieldproof.db import Database
from tests.support.waiting import wait_until


def test_the_background_checkpointer_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = Database(f"sqlite:///{path}")
    try:
        db.migrate()
        assert db.checkpoint()[0] == 0  # callable outside any transaction
        before = path.stat().st_size
        with db.engine.begin() as conn:  # ~2 MB: far below the autocheckpoint backstop
            conn.exec_driver_sql("CREATE TABLE filler (x BLOB)")
            for _ in range(200):
                conn.exec_driver_sql("INSERT INTO filler VALUES (randomblob(10000))")
        assert path.stat().st_size == before  # still only in the WAL
        db.start_checkpointer(interval=0.05)
        wait_until("the checkpointer copied the WAL into the database file",
                   lambda: path.stat().st_size > before + 1_000_000, timeout=30)
    finally:
        db.dispose()
