"""Completeness on the record: a recording's timeline, its pauses and joins, in the
API, the certificate and the offline verifier; and a call's claimed time against
the imported file's own (shared/PROTOCOL.md, Completeness, Calls and meetings)."""

from __future__ import annotations

import io
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fieldproof.bundle.verify import verify_bundle
from fieldproof.core.continuity import ChunkTime, continuity
from fieldproof.core.manifest import utc_text
from fieldproof.db import Capture
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.problems import assert_problem
from tests.support.streams import NS, HandStream

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _times(*seconds: float, rx: list[float] | None = None) -> list[ChunkTime]:
    return [ChunkTime(i, T0 + timedelta(seconds=s),
                      None if rx is None else T0 + timedelta(seconds=rx[i]))
            for i, s in enumerate(seconds)]


# --------------------------------------------------------------------------- pure
def test_a_steady_recording_is_continuous() -> None:
    c = continuity(started_at=utc_text(T0), chunks=_times(1, 2, 3, 4, 5), ended="stopped",
                   ended_at=utc_text(T0 + timedelta(seconds=5.4)))
    assert c["continuous"] is True and c["gaps"] == []
    assert (c["chunks"], c["interval_ms"], c["wall_ms"]) == (5, 1000, 5400)


def test_a_pause_is_named_with_its_time_and_cause() -> None:
    c = continuity(started_at=utc_text(T0), chunks=_times(1, 2, 3, 40, 41, 42),
                   ended="stopped")
    assert c["continuous"] is False
    (gap,) = c["gaps"]
    assert gap == {"after_seq": 2, "from": utc_text(T0 + timedelta(seconds=3)),
                   "to": utc_text(T0 + timedelta(seconds=40)), "ms": 37000,
                   "cause": "paused"}
    assert c["paused_ms"] == 37000


def test_a_network_cut_is_told_apart_from_a_pause() -> None:
    # The device recorded on; the server heard nothing for 30 s, then everything.
    c = continuity(started_at=utc_text(T0), chunks=_times(1, 2, 3, 4, 5,
                                                          rx=[1, 2, 33, 33.1, 33.2]),
                   ended="stopped")
    assert [g["cause"] for g in c["gaps"]] == ["network"]
    assert c["continuous"] is True  # nothing is missing


def test_an_interrupted_stream_or_a_clock_going_back_is_not_continuous() -> None:
    assert continuity(started_at=utc_text(T0), chunks=_times(1, 2),
                      ended="interrupted")["continuous"] is False
    back = continuity(started_at=utc_text(T0), chunks=_times(1, 2, 1.5, 3), ended="stopped")
    assert back["clock_backwards"] == 1 and back["continuous"] is False


# --------------------------------------------------------------------------- streams
def _emit(sio: Any, event: str, msg: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
    assert reply["ok"], reply
    return reply


def test_a_continued_stream_shows_its_join_and_its_pause(
        user: User, services: Services, sio: Any, tmp_path: Path) -> None:
    device = user.enroll()
    started = utcnow() - timedelta(seconds=120)
    first = HandStream(device, user.nonce(), started=started)
    _emit(sio, "start", first.start_msg())
    for seq in range(3):
        _emit(sio, "chunk", first.chunk_msg(seq, b"a" * 500,
                                            at=started + timedelta(seconds=seq + 1)))
    # the app is closed: the stream falls silent and the server closes it
    assert services.streams.reap(now=utcnow() + timedelta(minutes=5)) == 1
    with services.db.reading() as s:
        first_id = s.scalar(select(Capture.id).where(Capture.stream_id == first.id))

    # reopened 30 s later, it goes on as a new stream that names the first
    later = started + timedelta(seconds=33)
    second = HandStream(device, user.nonce(), started=later, continues=first.id,
                        prev=first.id)
    _emit(sio, "start", second.start_msg())
    for seq in range(4):
        at = later + timedelta(seconds=seq + 1 + (20 if seq == 3 else 0))  # then a pause
        _emit(sio, "chunk", second.chunk_msg(seq, b"b" * 500, at=at))
    second_id = _emit(sio, "stop", second.stop_msg(end=later + timedelta(seconds=25)))[
        "capture"]["id"]

    a = user.client.get(f"/api/v1/captures/{first_id}/continuity", headers=user.auth).json
    b = user.client.get(f"/api/v1/captures/{second_id}/continuity", headers=user.auth).json
    assert a["streamed"] and a["ended"] == "interrupted" and a["continuous"] is False
    assert a["continued_by"] == [second_id] and a["continues"] is None
    assert b["continues"] == first_id and b["ended"] == "stopped"
    assert [g["cause"] for g in b["gaps"]] == ["paused"] and b["gaps"][0]["after_seq"] == 2
    assert b["wall_ms"] == 25000

    # The certificate says it in both languages; the bundle's verifier, from the
    # signed chunk times, names the pause and the join.
    services.sequencer.integrate()
    services.sequencer.integrate()
    pdf = user.client.get(f"/api/v1/captures/{second_id}/certificate.pdf", headers=user.auth)
    assert pdf.status_code == 200, pdf.data[:300]
    (tmp_path / "c.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    for words in ("录音完整性", "Is the recording complete", "暂停", "pause", "接续自", first_id):
        assert words in text, words
    r = user.client.get(f"/api/v1/captures/{second_id}/bundle", headers=user.auth)
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    report = verify_bundle(files)
    check = next(c for c in report.results if c.name == "continuity")
    assert check.ok and "NOT continuous" in check.detail and first.id in check.detail, check


def test_a_photo_has_no_timeline(user: User) -> None:
    from tests.support.photos import jpeg

    r = user.upload(user.enroll(), jpeg())
    assert_problem(user.client.get(f"/api/v1/captures/{r.json['id']}/continuity",
                                   headers=user.auth), 409, "not_a_recording")


# --------------------------------------------------------------------------- calls
def _m4a(tmp_path: Path, made: datetime) -> bytes:
    out = tmp_path / f"call-{made:%H%M}.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=2", "-c:a", "aac", "-metadata",
                    f"creation_time={made.strftime('%Y-%m-%dT%H:%M:%S.000000Z')}",
                    str(out)], check=True, capture_output=True)
    return out.read_bytes()


def _call(claimed: datetime) -> dict[str, Any]:
    return {"type": "call", "notice": {"version": 1, "acknowledged_at": utc_text(claimed)},
            "call": {"method": "dialer_import", "party": "+8613800000000",
                     "direction": "incoming", "started_at": utc_text(claimed),
                     "brand": "huawei"}}


def test_an_imported_call_is_checked_against_its_claimed_time(
        user: User, services: Services, tmp_path: Path) -> None:
    device = user.enroll()
    claimed = utcnow().replace(microsecond=0) - timedelta(hours=3)
    near = _m4a(tmp_path, claimed + timedelta(minutes=2))
    far = _m4a(tmp_path, claimed - timedelta(days=2))
    checks = {}
    for name, media in (("near", near), ("far", far)):
        m = user.manifest(device, media, kind="import", mime="audio/mp4", name=f"{name}.m4a")
        m["context"] = _call(claimed)
        r = user.upload(device, media, m)
        assert r.status_code == 201, r.json  # flagged, never refused
        checks[name] = next(c for c in r.json["checks"] if c["name"] == "call_time")
    assert checks["near"]["ok"] and checks["near"]["code"] == "call_time.match"
    assert not checks["far"]["ok"] and checks["far"]["code"] == "call_time.mismatch"
    assert checks["far"]["params"]["diff_s"] == -2 * 86400
    # the context is in the signed manifest, as sent
    got = user.client.get(f"/api/v1/captures/{r.json['id']}", headers=user.auth).json
    assert got["manifest"]["context"]["call"]["party"] == "+8613800000000"
    # ... and on the certificate, with the flagged check
    services.sequencer.integrate()
    pdf = user.client.get(f"/api/v1/captures/{r.json['id']}/certificate.pdf",
                          headers=user.auth)
    assert pdf.status_code == 200, pdf.data[:300]
    (tmp_path / "c.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    for words in ("通话", "+8613800000000", "来电", "incoming", "合法录音提示",
                  "Lawful-recording notice", "通话时间"):
        assert words in text, words


def test_nothing_recorded_before_the_stated_end_is_a_pause_too() -> None:
    c = continuity(started_at=utc_text(T0), chunks=_times(1, 2, 3), ended="stopped",
                   ended_at=utc_text(T0 + timedelta(minutes=30)))
    assert c["continuous"] is False
    assert c["gaps"] == [{"after_seq": 2, "from": utc_text(T0 + timedelta(seconds=3)),
                          "to": utc_text(T0 + timedelta(minutes=30)), "ms": 1797000,
                          "cause": "paused"}]
