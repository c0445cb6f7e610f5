"""The custody hash chain: each record names the previous record of its capture,
so a bundle's custody.jsonl cannot lose or reorder a line unnoticed, and
concurrent events never fork the chain."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from fieldproof.bundle.layout import CUSTODY, SUMS, SUMS_SIGNATURE, sums_text
from fieldproof.bundle.verify import verify_bundle
from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.logentry import CUSTODY_RECORD, chain_hash
from fieldproof.db import Capture, CustodyEvent
from fieldproof.errors import CustodyChainConflict
from fieldproof.log.custody import SYSTEM, PreparedEvent, add_prepared, prepare_event
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg


@dataclass(frozen=True)
class Ref:
    id: str
    manifest_hash: str


def _uploaded(user: User, services: Services) -> Ref:
    r = user.upload(user.enroll(), jpeg(make="chain"))
    assert r.status_code == 201, r.json
    cid = str(r.json["id"])
    with services.db.reading() as s:
        return Ref(cid, s.scalar(select(Capture.manifest_hash).where(Capture.id == cid)) or "")


def _records(services: Services, cid: str) -> list[bytes]:
    with services.db.reading() as s:
        return [r.encode() for r in s.scalars(
            select(CustodyEvent.record).where(CustodyEvent.capture_id == cid)
            .order_by(CustodyEvent.entry_seq))]


def _assert_one_chain(records: list[bytes]) -> None:
    prevs = [parse_json(r)["prev"] for r in records]
    assert prevs == [None] + [chain_hash(r) for r in records[:-1]], prevs


def _bundle(client: Any, user: User, cid: str) -> dict[str, bytes]:
    r = client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth)
    assert r.status_code == 200, r.data[:300]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _resummed(files: dict[str, bytes]) -> dict[str, bytes]:
    out = {n: d for n, d in files.items() if n != SUMS_SIGNATURE}  # and the p7s dropped
    out[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in out.items()
                           if n != SUMS})
    return out


def test_a_removed_or_moved_custody_line_fails_verification(
        user: User, client: Any, services: Services) -> None:
    ref = _uploaded(user, services)
    services.sequencer.integrate()  # "anchored"
    for path in ("", "/original", "/derived/display"):
        assert client.get(f"/api/v1/captures/{ref.id}{path}",
                          headers=user.auth).status_code == 200
    services.sequencer.integrate()
    files = _bundle(client, user, ref.id)
    lines = files[CUSTODY].splitlines(keepends=True)
    records = [json.loads(line)["record"].encode() for line in lines]
    assert len(lines) >= 4
    _assert_one_chain(records)
    report = verify_bundle(files)
    assert report.ok, report.lines()
    [custody] = [r for r in report.results if r.name == "custody"]
    assert "chained: each record names the one before it" in custody.detail, custody.detail

    # the middle line removed, SHA256SUMS recomputed, the signature over it dropped
    removed = _resummed({**files, CUSTODY: b"".join(lines[:1] + lines[2:])})
    failed = {r.name: r.detail for r in verify_bundle(removed).failed()}
    assert "custody" in failed and "a line was removed, added or moved" in failed["custody"]
    assert set(failed) == {"custody", "sums_signature"}, failed
    # two lines swapped
    swapped = _resummed({**files, CUSTODY: b"".join([lines[0], lines[2], lines[1],
                                                     *lines[3:]])})
    failed = {r.name: r.detail for r in verify_bundle(swapped).failed()}
    assert "custody" in failed, failed
    # the first line removed: the new first names a predecessor
    first = _resummed({**files, CUSTODY: b"".join(lines[1:])})
    assert "custody" in {r.name for r in verify_bundle(first).failed()}


def test_records_from_before_the_chain_verify_as_not_chained(
        user: User, client: Any, services: Services) -> None:
    ref = _uploaded(user, services)
    # a record as the server wrote them before the chain: no prev member
    legacy = canonicalize({
        "v": 1, "type": CUSTODY_RECORD, "capture_id": ref.id,
        "manifest_sha256": ref.manifest_hash, "event": "view",
        "at": "2026-11-25T05:00:01.000000Z", "actor": {"system": "old"}, "origin": {},
        "detail": {}, "salt": "0" * 32})
    from fieldproof.db.models import utcnow

    with services.db.session() as s:
        add_prepared(s, PreparedEvent(ref.id, "view", utcnow(), legacy, {"system": "old"},
                                      None))
    services.sequencer.integrate()
    services.sequencer.integrate()
    records = _records(services, ref.id)
    assert records[0] == legacy and parse_json(records[1])["prev"] == chain_hash(legacy)
    files = _bundle(client, user, ref.id)
    report = verify_bundle(files)
    assert report.ok, report.lines()
    [custody] = [r for r in report.results if r.name == "custody"]
    assert "the first 1 not chained (recorded before the chain existed)" in custody.detail
    # a record without prev after chained ones is refused
    lines = files[CUSTODY].splitlines(keepends=True)
    moved = _resummed({**files, CUSTODY: b"".join([*lines[1:2], lines[0], *lines[2:]])})
    assert "custody" in {r.name for r in verify_bundle(moved).failed()}


def test_an_event_made_on_a_stale_head_is_refused(user: User, services: Services) -> None:
    ref = _uploaded(user, services)
    a = prepare_event(ref, "view", actor={"system": "a"}, origin=SYSTEM, prev=None)
    b = prepare_event(ref, "view", actor={"system": "b"}, origin=SYSTEM, prev=None)
    with services.db.session() as s:
        add_prepared(s, a)
    with pytest.raises(CustodyChainConflict), services.db.session() as s:
        add_prepared(s, b)
    assert len(_records(services, ref.id)) == 1
    # a record nobody has seen yet is remade on the new head instead
    with services.db.session() as s:
        add_prepared(s, b, rebind=True)
    records = _records(services, ref.id)
    assert len(records) == 2 and parse_json(records[1])["salt"] == parse_json(b.record)["salt"]
    _assert_one_chain(records)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_events_never_fork_the_chain(user: User, services: Services) -> None:
    ref = _uploaded(user, services)
    n = 8
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def read(i: int) -> None:
        try:
            start.wait()
            services.custody.record({"system": f"reader-{i}"}, ref, "view", origin=SYSTEM)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    records = _records(services, ref.id)
    assert len(records) == n
    _assert_one_chain(records)


def test_an_event_landing_while_a_bundle_is_written_makes_it_write_again(
        user: User, client: Any, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _uploaded(user, services)
    services.sequencer.integrate()
    exporter = services.exporter
    real_write = exporter._write
    calls: list[int] = []

    def write_while_someone_reads(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        real_write(*args, **kwargs)
        if len(calls) == 1:  # another read lands before the export is committed
            services.custody.record({"system": "someone else"}, ref, "view", origin=SYSTEM)

    monkeypatch.setattr(exporter, "_write", write_while_someone_reads)
    files = _bundle(client, user, ref.id)
    assert len(calls) == 2
    records = _records(services, ref.id)
    assert [parse_json(r)["event"] for r in records] == ["anchored", "view", "export"]
    _assert_one_chain(records)
    bundled = [json.loads(line)["record"].encode() for line in files[CUSTODY].splitlines()]
    assert bundled == records
    assert verify_bundle(files).ok
