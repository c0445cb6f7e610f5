"""A cluster's nodes start together: they migrate one at a time, and wait for a
database that is not up yet (FIELDPROOF_DB_WAIT)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from fieldproof.db import Database
from tests.support.postgres import fresh_pg_schema
from tests.support.waiting import wait_until


def test_nodes_migrating_at_once_take_turns(pg_database: str) -> None:
    url = fresh_pg_schema(pg_database)
    nodes = [Database(url) for _ in range(4)]
    errors: list[BaseException] = []
    go = threading.Barrier(len(nodes))

    def start(db: Database) -> None:
        go.wait()
        try:
            db.migrate()
        except BaseException as exc:
            errors.append(exc)

    # (without the lock they block each other inside PostgreSQL: hence daemons
    # and one deadline for all)
    threads = [threading.Thread(target=start, args=(db,), daemon=True) for db in nodes]
    for t in threads:
        t.start()
    wait_until("every node has migrated", lambda: not any(t.is_alive() for t in threads),
               timeout=90)
    assert errors == []
    with nodes[0].engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1
        assert conn.execute(text("SELECT count(*) FROM captures")).scalar() == 0
    for db in nodes:
        db.engine.dispose()


class _Refused(logging.Handler):
    """Set once wait_ready has been refused and says it retries."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "database not ready" in record.getMessage():
            self.seen.set()


def test_waits_for_a_database_that_comes_up(pg_database: str) -> None:
    """A port that refuses until wait_ready has tried it, then forwards to PostgreSQL."""
    real = make_url(pg_database)
    late = socket.create_server(("127.0.0.1", 0))
    late_port = late.getsockname()[1]
    late.close()  # nothing listens there: connections are refused
    db = Database(real.set(port=late_port).render_as_string(hide_password=False))
    refused = _Refused()
    logging.getLogger("fieldproof.db.engine").addHandler(refused)

    def come_up() -> None:  # the database starts once the node has been turned away
        if not refused.seen.wait(60):
            return
        server = socket.create_server(("127.0.0.1", late_port))
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection((real.host or "127.0.0.1", real.port or 5432))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=come_up, daemon=True).start()
    try:
        db.wait_ready(timeout=60)
    finally:
        logging.getLogger("fieldproof.db.engine").removeHandler(refused)
    assert refused.seen.is_set()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    db.engine.dispose()


def test_gives_up_with_the_last_error() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing")
    with pytest.raises(OperationalError):
        db.wait_ready(timeout=1.0)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
