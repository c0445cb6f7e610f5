"""Group commit (db/group.py): callers that arrive while a commit runs share the
next one; each returns only once its own unit is committed; one unit's error
is its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from fieldproof.db import Database
from fieldproof.db.group import GroupCommit
from tests.support.waiting import wait_until


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE grouped (id INTEGER PRIMARY KEY, note TEXT NOT NULL)"))
    yield database
    database.dispose()


def rows(db: Database) -> dict[int, str]:
    with db.reading() as s:  # another connection: sees only what is committed
        return {r.id: r.note for r in s.execute(text("SELECT id, note FROM grouped"))}


def insert(i: int, note: str = "ok") -> object:
    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO grouped (id, note) VALUES (:i, :n)"), {"i": i, "n": note})
        return i
    return work


def test_a_caller_alone_commits_at_once_and_its_row_is_durable_when_it_returns(
        db: Database) -> None:
    group = GroupCommit(db.engine)
    for i in range(3):
        assert group.run(insert(i)) == i  # type: ignore[arg-type]
        assert i in rows(db)
    assert (group.rounds, group.units) == (3, 3)


def held_leader(db: Database, group: GroupCommit) -> tuple[threading.Event, threading.Thread]:
    """A first caller whose unit holds its round open until released."""
    release = threading.Event()

    def slow(conn: Connection) -> int:
        conn.execute(text("INSERT INTO grouped (id, note) VALUES (0, 'first')"))
        release.wait(30)
        return 0

    leader = threading.Thread(target=group.run, args=(slow,))
    leader.start()
    wait_until("the first caller leads", lambda: group._busy, timeout=10)
    return release, leader


def test_callers_that_arrive_during_a_commit_share_the_next_one(db: Database) -> None:
    group = GroupCommit(db.engine)
    release, leader = held_leader(db, group)
    results: dict[int, object] = {}

    def call(i: int) -> None:
        results[i] = group.run(insert(i))  # type: ignore[arg-type]

    callers = [threading.Thread(target=call, args=(i,)) for i in range(1, 21)]
    for t in callers:
        t.start()
    wait_until("all 20 callers wait", lambda: len(group._waiting) == 20, timeout=10)
    assert rows(db) == {}  # nothing is visible, so nothing has returned
    assert results == {}
    release.set()
    for t in [leader, *callers]:
        t.join(30)
    assert results == {i: i for i in range(1, 21)}
    assert set(rows(db)) == set(range(21))
    assert (group.rounds, group.units) == (2, 21)  # the first alone, then the 20 together
    assert not group._busy and not group._waiting


def test_one_units_error_is_its_own_and_the_others_commit(db: Database) -> None:
    group = GroupCommit(db.engine)
    release, leader = held_leader(db, group)
    outcomes: dict[int, object] = {}

    def call(i: int, note: str | None) -> None:
        try:
            outcomes[i] = group.run(insert(i, note))  # type: ignore[arg-type]
        except Exception as exc:  # the NOT NULL violation
            outcomes[i] = type(exc).__name__

    callers = [threading.Thread(target=call, args=(i, None if i == 3 else "ok"))
               for i in range(1, 6)]
    for t in callers:
        t.start()
    wait_until("all 5 callers wait", lambda: len(group._waiting) == 5, timeout=10)
    release.set()
    for t in [leader, *callers]:
        t.join(30)
    assert outcomes == {1: 1, 2: 2, 3: "IntegrityError", 4: 4, 5: 5}
    assert set(rows(db)) == {0, 1, 2, 4, 5}
    assert not group._busy and not group._waiting


def test_a_round_holds_at_most_max_batch_and_the_rest_follow(db: Database) -> None:
    group = GroupCommit(db.engine, max_batch=4)
    release, leader = held_leader(db, group)
    callers = [threading.Thread(target=group.run, args=(insert(i),)) for i in range(1, 11)]
    for t in callers:
        t.start()
    wait_until("all 10 callers wait", lambda: len(group._waiting) == 10, timeout=10)
    release.set()
    for t in [leader, *callers]:
        t.join(30)
    assert set(rows(db)) == set(range(11))
    assert (group.rounds, group.units) == (4, 11)  # 1, then 4, 4 and 2
