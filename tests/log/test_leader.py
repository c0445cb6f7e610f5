"""Leader election for the sequencer (log/leader.py) on a real PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg

from fieldproof.db import Database
from fieldproof.log.leader import Leadership
from tests.support.waiting import wait_until


def _pids(db: Database, key: int) -> list[int]:
    """The backends that hold the advisory lock ``key``."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND (classid::bigint << 32 | objid::bigint) = %s", (key,)).fetchall()
    return [r[0] for r in rows]


def test_one_leader_until_its_session_ends(pg_database: str) -> None:
    a, b = Database(pg_database), Database(pg_database)
    key = 0x7E57_1EAD  # a key of this test's own
    first, second = Leadership(a, poll=0.05, key=key), Leadership(b, poll=0.05, key=key)
    stop = threading.Event()
    try:
        assert first.acquire(stop) and first.held()
        assert len(_pids(a, key)) == 1
        # The standby waits: it gets nothing while the leader lives.
        got: list[bool] = []
        waiter = threading.Thread(target=lambda: got.append(second.acquire(stop)))
        waiter.start()
        wait_until("the standby tried three times", lambda: second.attempts >= 3)
        assert waiter.is_alive() and not got
        # The leader's session ends (as when its process is killed): the standby leads.
        (leader_pid,) = _pids(a, key)
        with a.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({leader_pid})")
        waiter.join(30)
        assert got == [True]
        assert not first.held()  # and the old leader knows it lost
        assert second.held()
    finally:
        stop.set()
        first.release()
        second.release()
        a.dispose()
        b.dispose()


def test_sqlite_has_one_machine_and_every_worker_leads(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    leadership = Leadership(db)
    assert leadership.acquire(threading.Event()) and leadership.held()
    db.dispose()
