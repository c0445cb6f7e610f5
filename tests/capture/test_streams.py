"""Protocol v2 over Flask-SocketIO's in-process test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from sqlalchemy import func, select, update

from fieldproof.client.audit import Expected, check_receipt
from fieldproof.core.checkpoint import Verifier
from fieldproof.core.stream import ack_statement
from fieldproof.db import Capture, Stream
from fieldproof.db.models import utcnow
from fieldproof.errors import FieldProofError
from fieldproof.services import Services
from tests.support.accounts import DeviceKey, User
from tests.support.streams import NS, HandStream
from tests.support.waiting import wait_until


def emit(sio: Any, event: str, msg: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
    return reply


def err(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    return str(reply["error"]["code"])


def events(sio: Any, name: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The events called ``name`` this client receives, once there are ``count``
    (they are sent after the acks, from a thread of the server's own)."""
    seen: list[dict[str, Any]] = []

    def arrived() -> bool:
        seen.extend(m["args"][0] for m in sio.get_received(NS) if m["name"] == name)
        return len(seen) >= count

    wait_until(f"{count} {name} events", arrived, timeout=timeout)
    return seen


def started(sio: Any, user: User, device: DeviceKey | None = None, **kw: Any) -> HandStream:
    hs = HandStream(device or user.enroll(), user.nonce(), **kw)
    reply = emit(sio, "start", hs.start_msg())
    assert reply["ok"] and reply["stream_id"] == hs.id and reply["next_seq"] == 0, reply
    return hs


def test_unauthenticated_connection_refused(app: Flask) -> None:
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": "fp_no"})
    assert not sio.is_connected(NS)


def test_stream_to_anchored_capture(sio: Any, user: User, client: Any, app: Flask,
                                    services: Services) -> None:
    dashboard = app.extensions["socketio"].test_client(app, namespace=NS,
                                                       auth={"token": user.token})
    device = user.enroll()
    hs = started(sio, user, device)
    chunks = [os.urandom(1000 + i) for i in range(5)]
    for seq, data in enumerate(chunks):
        ack = emit(sio, "chunk", hs.chunk_msg(seq, data))
        assert ack["ok"] and ack["seq"] == seq and ack["chain"] == hs.chains[seq + 1].hex()
        assert ack["durable_at"].endswith("Z") and ack["server_sig"]
    # the server's ack signature verifies with the log's published key
    vk = Verifier.parse(client.get("/api/v1/log").json["vkey"])
    Ed25519PublicKey.from_public_bytes(vk.public_key).verify(
        base64.b64decode(ack["server_sig"]),
        ack_statement(stream_id=hs.id, seq=4, chain=ack["chain"], durable_at=ack["durable_at"]))

    # The user's other session is told: one progress per chunk, or fewer when
    # they pile up (the newest stands for those before it), in order, ending
    # with the last chunk. The recording session has its acks instead.
    seen = events(dashboard, "progress", 1)
    while seen[-1]["chunks"] < 5:
        seen += events(dashboard, "progress", 1)
    assert [p["chunks"] for p in seen] == sorted(set(p["chunks"] for p in seen))
    assert seen[-1]["chunks"] == 5 and seen[-1]["bytes"] == sum(map(len, chunks))
    assert [m for m in sio.get_received(NS) if m["name"] == "progress"] == []

    resume = emit(sio, "resume", {"stream_id": hs.id})
    assert resume["next_seq"] == 5 and resume["status"] == "open"

    stop = hs.stop_msg()
    done = emit(sio, "stop", stop)
    assert done["ok"], done
    capture = done["capture"]
    media = b"".join(chunks)
    assert capture["media"]["sha256"] == hashlib.sha256(media).hexdigest()
    assert capture["stream"] == {"id": hs.id, "partial": False}
    assert {c["name"]: c["ok"] for c in capture["checks"]}["stream_complete"] is True
    orig = client.get(f"/api/v1/captures/{capture['id']}/original", headers=user.auth)
    assert orig.data == media
    # nothing is staged as an object; the chunks' bytes left their rows once the
    # original was stored (their signed headers stay, for the bundle)
    staged = list((services.settings.data_dir / "store" / "objects" / "streams").rglob("*"))
    assert [p for p in staged if p.is_file()] == []
    from fieldproof.db import StreamChunk

    with services.db.reading() as s:
        rows = s.execute(select(StreamChunk.data, StreamChunk.header)
                         .where(StreamChunk.stream_id == hs.id)).all()
    assert len(rows) == 5 and all(d is None and h for d, h in rows)
    # stop is idempotent: the same signed stop answers the same capture
    assert emit(sio, "stop", stop)["capture"]["id"] == capture["id"]
    # but another signed manifest never gets the old capture as its answer
    other = emit(sio, "stop", hs.stop_msg())
    assert not other["ok"] and other["error"]["code"] == "stream_closed"
    assert other["error"]["capture_id"] == capture["id"]

    services.sequencer.integrate()
    receipt = client.get(f"/api/v1/captures/{capture['id']}/receipt", headers=user.auth).json
    assert '"partial":false' in receipt["entry"]
    assert check_receipt(receipt, client.get("/api/v1/log").json,
                         expected=Expected(capture_id=capture["id"])).ok


def test_rejections_with_codes(sio: Any, user: User, app: Flask) -> None:
    device = user.enroll()
    hs = started(sio, user, device)
    good = os.urandom(2000)
    assert emit(sio, "chunk", hs.chunk_msg(0, good))["ok"]

    # replayed chunk: byte-identical -> acknowledged again; other bytes -> refused
    again = emit(sio, "chunk", hs.chunk_msg(0, good))
    assert again["ok"] and again["duplicate"] is True
    other = HandStream.__new__(HandStream)
    other.__dict__.update(hs.__dict__, chains=hs.chains[:1], data=[])
    assert err(emit(sio, "chunk", other.chunk_msg(0, b"different"))) == "duplicate_mismatch"

    # tampered: bytes that do not match the signed header
    msg = hs.chunk_msg(1, os.urandom(100))
    msg["data"] = bytes([msg["data"][0] ^ 1]) + msg["data"][1:]
    assert err(emit(sio, "chunk", msg)) == "bad_hash"
    hs.chains.pop()
    hs.data.pop()
    # signed by another key
    assert err(emit(sio, "chunk", hs.chunk_msg(1, b"x" * 10, signer=DeviceKey()))) == \
        "bad_signature"
    hs.chains.pop()
    hs.data.pop()
    # a gap
    gap = HandStream.__new__(HandStream)
    gap.__dict__.update(hs.__dict__, chains=[*hs.chains, b"\0" * 32], data=list(hs.data))
    reply = emit(sio, "chunk", gap.chunk_msg(2, b"later"))
    assert err(reply) == "gap" and reply["error"]["next_seq"] == 1
    # a chain that does not follow
    bad = HandStream.__new__(HandStream)
    bad.__dict__.update(hs.__dict__, chains=[hs.chains[0], b"\1" * 32], data=list(hs.data))
    assert err(emit(sio, "chunk", bad.chunk_msg(1, b"chain"))) == "bad_chain"
    # unknown stream
    ghost = HandStream(device, "A" * 43)
    assert err(emit(sio, "chunk", ghost.chunk_msg(0, b"boo"))) == "unknown_stream"
    assert err(emit(sio, "resume", {"stream_id": "0" * 64})) == "unknown_stream"
    # too large
    limit = app.extensions["fieldproof"].settings.stream_max_chunk_bytes
    assert err(emit(sio, "chunk", hs.chunk_msg(1, b"\0" * (limit + 1)))) == "too_large"
    hs.chains.pop()
    hs.data.pop()
    # malformed messages
    assert err(emit(sio, "chunk", {"header": "{}"})) == "bad_request"
    assert err(emit(sio, "chunk", {"header": "{}", "signature": "x", "data": b"1"})) == \
        "schema_invalid"
    # the stream still works after all that
    assert emit(sio, "chunk", hs.chunk_msg(1, b"fine"))["ok"]
    # a stop whose manifest does not match what was streamed
    assert err(emit(sio, "stop", hs.stop_msg(chunks=1))) == "manifest_mismatch"
    assert emit(sio, "stop", hs.stop_msg())["ok"]
    # closed now
    assert err(emit(sio, "chunk", hs.chunk_msg(2, b"late"))) == "stream_closed"


def test_start_rejections(sio: Any, user: User, make_user: Any) -> None:
    device = user.enroll()
    nonce = user.nonce()
    hs = HandStream(device, nonce)
    msg = hs.start_msg()
    assert err(emit(sio, "start", {**msg, "signature": DeviceKey().sign(b"x")})) == \
        "bad_signature"
    assert emit(sio, "start", msg)["ok"]
    assert emit(sio, "start", msg)["stream_id"] == hs.id  # resent start: same stream
    reused = HandStream(device, nonce, kind="video", mime="video/webm")
    assert err(emit(sio, "start", reused.start_msg())) == "nonce_reused"
    stranger = make_user().enroll()
    assert err(emit(sio, "start", HandStream(stranger, user.nonce()).start_msg())) == \
        "device_unknown"


def test_rate_limit(app: Flask, user: User, services: Services) -> None:
    from dataclasses import replace

    services.settings = replace(services.settings, stream_max_chunks_per_second=3)
    sio = app.extensions["socketio"].test_client(app, namespace=NS,
                                                 auth={"token": user.token})
    hs = started(sio, user)
    codes = []
    for seq in range(6):
        reply = emit(sio, "chunk", hs.chunk_msg(seq, b"c%d" % seq))
        codes.append("ok" if reply["ok"] else reply["error"]["code"])
        if not reply["ok"]:
            assert reply["error"]["retry_after"] > 0
            break
    assert codes[-1] == "rate_limited" and codes.count("ok") >= 3


def test_interrupted_stream_becomes_a_partial_capture(sio: Any, user: User, client: Any,
                                                      services: Services) -> None:
    device = user.enroll()
    hs = started(sio, user, device)
    for seq in range(3):
        assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(500)))["ok"]
    assert services.streams.reap() == 0  # not silent long enough
    assert services.streams.reap(now=utcnow() + timedelta(minutes=3)) == 1
    with services.db.session() as s:
        stream = s.get(Stream, hs.id)
        assert stream is not None and stream.status == "interrupted"
        capture = s.scalar(select(Capture).where(Capture.stream_id == hs.id))
        assert capture is not None and capture.partial
    body = client.get(f"/api/v1/captures/{capture.id}", headers=user.auth).json
    assert body["stream"] == {"id": hs.id, "partial": True}
    assert body["manifest"]["type"] == "fieldproof.stream"  # the signed header
    checks = {c["name"]: c for c in body["checks"]}
    assert not checks["stream_complete"]["ok"] and "interrupted" in checks[
        "stream_complete"]["detail"]
    orig = client.get(f"/api/v1/captures/{capture.id}/original", headers=user.auth).data
    assert orig == b"".join(hs.data)
    # late chunks and stops are refused, pointing at the capture
    late = emit(sio, "chunk", hs.chunk_msg(3, b"late"))
    assert err(late) == "stream_closed" and late["error"]["capture_id"] == capture.id
    assert err(emit(sio, "stop", hs.stop_msg())) == "stream_closed"

    services.sequencer.integrate()
    receipt = client.get(f"/api/v1/captures/{capture.id}/receipt", headers=user.auth).json
    assert '"partial":true' in receipt["entry"] and "last_chunk_signature" in receipt["entry"]
    cap = client.get(f"/api/v1/captures/{capture.id}", headers=user.auth).json
    assert check_receipt(receipt, client.get("/api/v1/log").json, expected=Expected(
        capture_id=capture.id, media_sha256=cap["media"]["sha256"],
        manifest_sha256=cap["manifest_hash"])).ok

    # a continuation chains to it
    cont = started(sio, user, device, continues=hs.id, prev=capture.manifest_hash)
    assert emit(sio, "chunk", cont.chunk_msg(0, b"more"))["ok"]
    done = emit(sio, "stop", cont.stop_msg())
    assert done["ok"], done
    chain = next(c for c in done["capture"]["checks"] if c["name"] == "device_chain")
    assert chain["ok"], chain


def test_empty_abandoned_stream_leaves_no_capture(sio: Any, user: User,
                                                  services: Services) -> None:
    hs = started(sio, user)
    assert services.streams.reap(now=utcnow() + timedelta(minutes=3)) == 1
    with services.db.session() as s:
        assert s.get(Stream, hs.id).status == "interrupted"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Capture)) == 0



def test_progress_reaches_the_users_other_sessions(app: Flask, user: User,
                                                   make_user: Any) -> None:
    recorder = app.extensions["socketio"].test_client(app, namespace=NS,
                                                      auth={"token": user.token})
    dashboard = app.extensions["socketio"].test_client(app, namespace=NS,
                                                       auth={"token": user.token})
    stranger = app.extensions["socketio"].test_client(app, namespace=NS,
                                                      auth={"token": make_user().token})
    hs = started(recorder, user)
    for seq in range(3):
        assert emit(recorder, "chunk", hs.chunk_msg(seq, b"x" * 100))["ok"]
    emit(recorder, "stop", hs.stop_msg())
    seen: list[tuple[str, dict[str, Any]]] = []

    def captured() -> bool:
        seen.extend((m["name"], m["args"][0]) for m in dashboard.get_received(NS))
        return any(n == "capture" for n, _ in seen)

    wait_until("the progress events and the capture", captured, timeout=30)
    # in order: the capture after its chunks' progress (one per chunk, or the
    # newest for those that piled up behind it)
    told = [(n, e.get("bytes", e["stream_id"])) for n, e in seen]
    assert told[-2:] == [("progress", 300), ("capture", hs.id)], told
    assert set(told[:-2]) <= {("progress", 100), ("progress", 200)}
    assert told[:-2] == sorted(told[:-2]), told
    # every event is out by now (one thread sends them, in order): none to the stranger
    assert stranger.get_received(NS) == []


def test_a_stream_that_moves_between_nodes(sio: Any, user: User, services: Services,
                                           client: Any) -> None:
    """Two nodes on one database: each keeps an open stream's state between chunks,
    and a copy gone stale (the stream moved on through the other node, the device
    was revoked) never accepts or refuses a chunk the database would not."""
    from fieldproof.web import create_app

    other = Services.build(services.settings)
    try:
        app_b = create_app(services=other)
        sio_b = app_b.extensions["socketio"].test_client(app_b, namespace=NS,
                                                         auth={"token": user.token})
        device = user.enroll()
        hs = started(sio, user, device)
        for seq in (0, 1):  # node A
            assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(500)))["ok"]
        for seq in (2, 3):  # node B: A's copy says 2 is next
            assert emit(sio_b, "chunk", hs.chunk_msg(seq, os.urandom(500)))["ok"]
        # back on A: 4 is next, as the database says; a resend of 3 is a duplicate
        assert emit(sio, "chunk", hs.chunk_msg(4, os.urandom(500)))["ok"]
        again = emit(sio, "chunk", hs.chunk_msg(3, hs.data[3]))
        assert again["ok"] and again["duplicate"] is True
        # B's copy says 4 is next: a 4 with other bytes is refused as the database says
        wrong = HandStream.__new__(HandStream)
        wrong.__dict__.update(hs.__dict__, chains=hs.chains[:5], data=hs.data[:4])
        assert err(emit(sio_b, "chunk", wrong.chunk_msg(4, b"other"))) == "duplicate_mismatch"
        # ... and the acknowledged chunk 4's bytes are untouched: they are in its row
        from fieldproof.db import StreamChunk

        with services.db.reading() as s:
            kept = s.scalars(select(StreamChunk.data).where(StreamChunk.stream_id == hs.id)
                             .order_by(StreamChunk.seq)).all()
        assert kept == hs.data[:5]
        assert emit(sio_b, "chunk", hs.chunk_msg(5, os.urandom(500)))["ok"]
        # the device is revoked through node A: A refuses its very next chunk
        r = client.delete(f"/api/v1/devices/{device.key_id}", headers=user.auth)
        assert r.status_code == 200, r.json
        assert err(emit(sio, "chunk", hs.chunk_msg(6, os.urandom(500)))) == "device_revoked"
        # B heard of it (in a cluster, through Redis: web/revocations.py)
        other.streams.forget_device(_device_id(services, device.key_id))
        assert err(emit(sio_b, "chunk", hs.chunk_msg(6, os.urandom(500)))) == "device_revoked"
    finally:
        other.close()


def _device_id(services: Services, key_id: str) -> int:
    from fieldproof.db import Device

    with services.db.reading() as s:
        found = s.scalar(select(Device.id).where(Device.key_id == key_id))
    assert found is not None
    return int(found)


def test_chunks_staged_as_objects_by_an_older_version_still_assemble(
        sio: Any, user: User, services: Services, tmp_path: Any) -> None:
    """Before 0010 a chunk's bytes were an object in the store, named by the row:
    a stream open across the upgrade finishes with them."""
    from sqlalchemy import update

    from fieldproof.db import StreamChunk

    hs = started(sio, user)
    for seq in range(3):
        assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(700)))["ok"]
    legacy = tmp_path / "legacy-chunk"
    legacy.write_bytes(hs.data[1])
    services.store.put_file(f"streams/{hs.id}/0000000001", legacy)
    with services.db.session() as s:
        s.execute(update(StreamChunk).where(StreamChunk.stream_id == hs.id,
                                            StreamChunk.seq == 1)
                  .values(data=None, object_key=f"streams/{hs.id}/0000000001"))
    done = emit(sio, "stop", hs.stop_msg())
    assert done["ok"], done
    assert done["capture"]["media"]["sha256"] == hashlib.sha256(b"".join(hs.data)).hexdigest()
    with pytest.raises(FieldProofError):  # and the old object is removed with the rest
        b"".join(services.store.iter_range(f"streams/{hs.id}/0000000001"))


# ----------------------------------------------------------------- stop claims the stream
def _set(services: Services, stream_id: str, **values: Any) -> None:
    with services.db.session() as s:
        s.execute(update(Stream).where(Stream.id == stream_id).values(**values))


def test_a_stop_that_fails_gives_the_stream_back(sio: Any, user: User,
                                                 services: Services) -> None:
    hs = started(sio, user)
    for seq in range(3):
        assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(500)))["ok"]
    hs.data.append(b"not sent")  # the manifest's media now hashes what never arrived
    assert err(emit(sio, "stop", hs.stop_msg(chunks=3))) == "bad_hash"
    hs.data.pop()
    with services.db.session() as s:
        assert s.get(Stream, hs.id).status == "open"  # type: ignore[union-attr]
    # still open for chunks, then stopped for good
    assert emit(sio, "chunk", hs.chunk_msg(3, os.urandom(500)))["ok"]
    done = emit(sio, "stop", hs.stop_msg())
    assert done["ok"], done
    assert done["capture"]["manifest"]["stream"]["chunks"] == 4


def test_a_claimed_stream_refuses_chunks_and_other_stops(sio: Any, user: User,
                                                         services: Services) -> None:
    hs = started(sio, user)
    assert emit(sio, "chunk", hs.chunk_msg(0, b"a" * 100))["ok"]
    stop = hs.stop_msg()
    _set(services, hs.id, status="finalizing", last_activity=utcnow())  # another stop's claim
    assert err(emit(sio, "chunk", hs.chunk_msg(1, b"b" * 100))) == "stream_closed"
    assert err(emit(sio, "stop", stop)) == "stream_closed"
    # a stop whose manifest missed a chunk that came in meanwhile is told so
    _set(services, hs.id, status="open")
    assert emit(sio, "chunk", hs.chunk_msg(1, b"b" * 100))["ok"]
    assert err(emit(sio, "stop", stop)) == "manifest_mismatch"
    assert emit(sio, "stop", hs.stop_msg())["ok"]


def test_the_reaper_keeps_a_stream_whose_stop_died_finishing(sio: Any, user: User,
                                                             services: Services) -> None:
    hs = started(sio, user)
    for seq in range(2):
        assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(300)))["ok"]
    claimed_at = utcnow()
    _set(services, hs.id, status="finalizing", last_activity=claimed_at)  # then the process died
    stuck = timedelta(seconds=services.streams.STUCK_FINALIZING_SECONDS)
    # a claim younger than that may still be finishing: left alone
    assert services.streams.reap(now=claimed_at + stuck - timedelta(seconds=5)) == 0
    assert services.streams.reap(now=claimed_at + stuck + timedelta(seconds=5)) == 1
    with services.db.session() as s:
        stream = s.get(Stream, hs.id)
        assert stream is not None and stream.status == "interrupted" and stream.capture_id
        capture = s.scalar(select(Capture).where(Capture.id == stream.capture_id))
        assert capture is not None and capture.media_size == 600


def test_a_slow_stop_keeps_its_claim_and_the_reaper_leaves_it(
        sio: Any, user: User, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop that is alive renews its claim, however long it takes: the
    reaper takes back only the claims of a stop that died."""
    hs = started(sio, user)
    for seq in range(2):
        assert emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(300)))["ok"]
    streams = services.streams
    monkeypatch.setattr(streams, "STUCK_FINALIZING_SECONDS", 0.6)  # renewed every 0.2 s
    entered, release = threading.Event(), threading.Event()
    assemble = streams._assemble

    def slow_assemble(stream: Stream) -> Any:  # a store taking its time
        entered.set()
        assert release.wait(30)
        return assemble(stream)

    monkeypatch.setattr(streams, "_assemble", slow_assemble)
    answer: list[Any] = []
    msg = hs.stop_msg()
    principal = services.accounts.principal(user.token)
    stopper = threading.Thread(target=lambda: answer.append(
        streams.stop(principal, hs.id, msg["manifest"], msg["signature"])))
    stopper.start()
    try:
        assert entered.wait(30)

        def last_activity() -> datetime:
            with services.db.reading() as s:
                stream = s.get(Stream, hs.id)
                assert stream is not None and stream.status == "finalizing"
                return stream.last_activity

        claimed_at = last_activity()
        renewed: list[datetime] = []
        wait_until("the claim renewed",
                   lambda: renewed.append(last_activity()) or renewed[-1] > claimed_at,
                   timeout=30)
        # A moment when the claim as first made is stale, the renewed one not.
        now = renewed[-1] + timedelta(seconds=0.45)
        assert now - timedelta(seconds=0.6) > claimed_at
        assert streams.reap(now=now) == 0
    finally:
        release.set()
        stopper.join(30)
    [capture] = answer
    with services.db.session() as s:
        stream = s.get(Stream, hs.id)
        assert stream is not None and stream.status == "complete"
        assert stream.capture_id == capture.id


def test_chunks_of_many_streams_share_one_commit_and_a_resend_among_them_is_its_own(
        sio: Any, user: User, services: Services) -> None:
    """Group commit (db/group.py): 12 streams' chunks that arrive while a commit
    runs are written in the next round, one executemany per statement; a resend
    of one of them in the same round makes the round fall back to one chunk at a
    time, and it is acknowledged as the duplicate it is."""
    import threading

    streams = services.streams
    principal = services.accounts.principal(user.token)
    hands = [started(sio, user) for _ in range(12)]
    data = {hs.id: [os.urandom(2000), os.urandom(3000)] for hs in hands}
    commits = streams._commits
    real = commits.write_batch

    def send_together(sends: list[tuple[HandStream, int]]) -> tuple[list[dict[str, Any]],
                                                                     list[int]]:
        """Send each (stream, seq) from a thread of its own; the first round
        stays open until all the others wait. The acks, and each round's size."""
        calls: list[int] = []

        def first_round_waits(conn: Any, items: Any) -> Any:
            if not calls:
                wait_until("the others wait", lambda: len(commits._waiting) == len(sends) - 1,
                           timeout=30)
            calls.append(len(items))
            return real(conn, items)

        acks: dict[int, dict[str, Any]] = {}

        def send(k: int, hs: HandStream, seq: int) -> None:
            msg = hs.chunk_msg(seq, data[hs.id][seq])
            acks[k] = streams.chunk(principal, msg["header"], msg["signature"], msg["data"])

        threads = [threading.Thread(target=send, args=(k, hs, seq))
                   for k, (hs, seq) in enumerate(sends)]
        commits.write_batch = first_round_waits  # type: ignore[method-assign]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        finally:
            commits.write_batch = real  # type: ignore[method-assign]
        assert len(acks) == len(sends)
        return [acks[k] for k in range(len(sends))], calls

    # Every chunk 0, two of them twice: the round of 13 falls back to one by one.
    acks, calls = send_together([(hs, 0) for hs in hands] + [(hands[0], 0), (hands[1], 0)])
    assert calls == [1, 13] + [1] * 13
    for k in (0, 1):  # of each pair, one written, the other acknowledged as a duplicate
        pair = [acks[k], acks[12 + k]]
        assert sorted(bool(a.get("duplicate")) for a in pair) == [False, True]
        assert pair[0]["chain"] == pair[1]["chain"] == hands[k].chains[1].hex()
    # Every chunk 1, once each: 11 in one round, with no fallback.
    acks, calls = send_together([(hs, 1) for hs in hands])
    assert calls == [1, 11]
    assert [a["seq"] for a in acks] == [1] * 12 and not any(a.get("duplicate") for a in acks)
    for hs in hands:
        reply = emit(sio, "resume", {"stream_id": hs.id})
        assert reply["next_seq"] == 2 and reply["bytes"] == 5000, reply
