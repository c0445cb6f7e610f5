"""Group commit (db/group.py): callers that arrive while a commit runs share the
next one, written with one call; each returns only once its own item is
committed; one item's error is its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import Connection, text

from fieldproof.db import Database
from fieldproof.db.group import GroupCommit
from tests.support.waiting import wait_until

INSERT = text("INSERT INTO grouped (id, note) VALUES (:i, :n)")


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


class Writer:
    """Inserts (id, note) rows, one executemany per round; id 0 holds its round
    open until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[list[int]] = []

    def __call__(self, conn: Connection, items: Sequence[tuple[int, str | None]]) -> list[int]:
        self.calls.append([i for i, _ in items])
        conn.execute(INSERT, [{"i": i, "n": n} for i, n in items])
        if any(i == 0 for i, _ in items):
            self.release.wait(30)
        return [i for i, _ in items]


def held(group: GroupCommit[tuple[int, str | None], int]) -> threading.Thread:
    """A first caller whose round stays open until the writer is released."""
    leader = threading.Thread(target=group.run, args=((0, "first"),))
    leader.start()
    wait_until("the first caller leads", lambda: group._busy, timeout=10)
    return leader


def queue_then_release(group: GroupCommit[tuple[int, str | None], int], writer: Writer,
                       leader: threading.Thread, callers: list[threading.Thread]) -> None:
    """Start the callers, wait until all of them queue behind the held round, release
    it, and wait for everyone."""
    for t in callers:
        t.start()
    wait_until(f"all {len(callers)} callers wait",
               lambda: len(group._waiting) == len(callers), timeout=10)
    writer.release.set()
    for t in [leader, *callers]:
        t.join(30)


def test_a_caller_alone_commits_at_once_and_its_row_is_durable_when_it_returns(
        db: Database) -> None:
    group = GroupCommit(db.engine, Writer())
    for i in range(1, 4):
        assert group.run((i, "ok")) == i
        assert i in rows(db)
    assert (group.rounds, group.items) == (3, 3)


def test_callers_that_arrive_during_a_commit_share_the_next_one(db: Database) -> None:
    writer = Writer()
    group = GroupCommit(db.engine, writer)
    leader = held(group)
    results: dict[int, int] = {}

    def call(i: int) -> None:
        results[i] = group.run((i, "ok"))

    callers = [threading.Thread(target=call, args=(i,)) for i in range(1, 21)]
    for t in callers:
        t.start()
    wait_until("all 20 callers wait", lambda: len(group._waiting) == 20, timeout=10)
    assert rows(db) == {}  # nothing is visible, so nothing has returned
    assert results == {}
    writer.release.set()
    for t in [leader, *callers]:
        t.join(30)
    assert results == {i: i for i in range(1, 21)}
    assert set(rows(db)) == set(range(21))
    assert (group.rounds, group.items) == (2, 21)  # the first alone, then the 20 together
    assert [len(c) for c in writer.calls] == [1, 20]  # the 20 in one call
    assert not group._busy and not group._waiting


def test_one_items_error_is_its_own_and_the_others_commit(db: Database) -> None:
    writer = Writer()
    group = GroupCommit(db.engine, writer)
    leader = held(group)
    outcomes: dict[int, object] = {}

    def call(i: int, note: str | None) -> None:
        try:
            outcomes[i] = group.run((i, note))
        except Exception as exc:  # the NOT NULL violation
            outcomes[i] = type(exc).__name__

    queue_then_release(group, writer, leader,
                       [threading.Thread(target=call, args=(i, None if i == 3 else "ok"))
                        for i in range(1, 6)])
    assert outcomes == {1: 1, 2: 2, 3: "IntegrityError", 4: 4, 5: 5}
    assert set(rows(db)) == {0, 1, 2, 4, 5}
    # the round of five failed as a whole, then each was written alone
    assert writer.calls[1:] == [[1, 2, 3, 4, 5], [1], [2], [3], [4], [5]]
    assert not group._busy and not group._waiting


def test_a_round_holds_at_most_max_batch_and_the_rest_follow(db: Database) -> None:
    writer = Writer()
    group = GroupCommit(db.engine, writer, max_batch=4)
    leader = held(group)
    queue_then_release(group, writer, leader,
                       [threading.Thread(target=group.run, args=((i, "ok"),))
                        for i in range(1, 11)])
    assert set(rows(db)) == set(range(11))
    assert (group.rounds, group.items) == (4, 11)
    assert [len(c) for c in writer.calls] == [1, 4, 4, 2]
