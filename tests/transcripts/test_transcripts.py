"""Transcripts: machine versions from real speech, human versions signed by a device,
the chain between them, the bundle and the offline verifier (shared/PROTOCOL.md)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from fieldproof.bundle.verify import verify_bundle
from fieldproof.config import Settings
from fieldproof.core.canonical import canonicalize, parse_json, sha256_hex
from fieldproof.core.manifest import utc_text
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.support.accounts import DeviceKey, User
from tests.support.problems import assert_problem
from tests.support.speech import LEAD, speech
from tests.support.streams import NS, HandStream

CHUNK = 16 * 1024


def _emit(sio: Any, event: str, msg: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
    assert reply["ok"], reply
    return reply


def stream_file(sio: Any, device: DeviceKey, nonce: str, data: bytes) -> str:
    """Stream ``data`` through the real Socket.IO path, chunk by chunk; the capture id."""
    hs = HandStream(device, nonce)
    _emit(sio, "start", hs.start_msg())
    for seq, at in enumerate(range(0, len(data), CHUNK)):
        _emit(sio, "chunk", hs.chunk_msg(seq, data[at:at + CHUNK]))
    return str(_emit(sio, "stop", hs.stop_msg())["capture"]["id"])


@pytest.fixture
def spoken(tmp_path: Path) -> tuple[bytes, float]:
    path, end = speech(tmp_path)
    return path.read_bytes(), end


def human_version(capture: dict[str, Any], latest: dict[str, Any] | None, device: DeviceKey,
                  **changes: Any) -> dict[str, Any]:
    """The next version as the app builds it: the latest one's segments, edited."""
    base = parse_json(latest["document"].encode()) if latest else None
    doc = {"v": 1, "type": "fieldproof.transcript", "capture_id": capture["id"],
           "manifest_sha256": capture["manifest_hash"],
           "media_sha256": capture["media"]["sha256"],
           "version": (latest["version"] if latest else 0) + 1,
           "prev": latest["sha256"] if latest else None, "origin": "human",
           "based_on": latest["sha256"] if latest and latest["origin"] == "machine"
           else (base or {}).get("based_on"),
           "language": "en", "created_at": utc_text(utcnow()),
           "signer": {"key_id": device.key_id}, "engine": None,
           "segments": base["segments"] if base else
           [{"start_ms": 0, "end_ms": 1000, "text": "hello", "speaker": None}],
           "key_points": []}
    doc.update(changes)
    return doc


def post_version(user: User, cid: str, doc: dict[str, Any], device: DeviceKey, *,
                 text: str | None = None, signature: str | None = None) -> Any:
    body = text if text is not None else canonicalize(doc).decode()
    return user.client.post(f"/api/v1/captures/{cid}/transcript/versions", headers=user.auth,
                            json={"document": body,
                                  "signature": signature or device.sign(body.encode())})


def get_capture(user: User, cid: str) -> dict[str, Any]:
    r = user.client.get(f"/api/v1/captures/{cid}", headers=user.auth)
    assert r.status_code == 200, r.json
    return dict(r.json)


def transcript(user: User, cid: str) -> dict[str, Any]:
    r = user.client.get(f"/api/v1/captures/{cid}/transcript", headers=user.auth)
    assert r.status_code == 200, r.json
    return dict(r.json)


# --------------------------------------------------------------------------- machine
@pytest.mark.slow
def test_streamed_speech_gets_a_signed_machine_transcript(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float]) -> None:
    data, speech_end = spoken
    device = user.enroll()
    cid = stream_file(sio, device, user.nonce(), data)
    url = f"/api/v1/captures/{cid}/transcript"
    assert transcript(user, cid) == {"job": None, "latest": None, "versions": []}

    r = user.client.post(url, headers=user.auth, json={"language": "en"})
    assert r.status_code == 202, r.json
    assert r.json["state"] == "queued"
    assert_problem(user.client.post(url, headers=user.auth, json={}), 409, "transcript_busy")

    assert services.transcript_runner.run_once()
    state = transcript(user, cid)
    assert state["job"]["state"] == "done" and state["job"]["version"] == 1
    latest = state["latest"]
    doc = parse_json(latest["document"].encode())
    assert latest["origin"] == "machine" and doc["origin"] == "machine"
    assert doc["media_sha256"] == get_capture(user, cid)["media"]["sha256"]
    assert doc["engine"]["name"] == "faster-whisper" and doc["engine"]["vad"] is True
    words = " ".join(s["text"] for s in doc["segments"]).lower()
    for word in ("landlord", "deposit", "friday"):
        assert word in words, words
    # The words sit where they were spoken, on the recording's clock (Whisper's
    # times are coarse: within half a second).
    assert doc["segments"][0]["start_ms"] >= (LEAD - 0.5) * 1000, doc["segments"]
    assert doc["segments"][-1]["end_ms"] <= (speech_end + 0.5) * 1000, doc["segments"]
    assert latest["leaf_index"] is None
    services.sequencer.integrate()
    assert transcript(user, cid)["versions"][0]["leaf_index"] is not None


def test_no_model_answers_asr_unavailable_and_typing_still_works(
        tmp_path: Path, db_url: str, spoken: tuple[bytes, float]) -> None:
    from fieldproof.web.app import create_app

    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, testing=True,
                        asr_model=tmp_path / "no-model")
    services = Services.build(settings)
    try:
        app = create_app(settings, services=services)
        client: FlaskClient = app.test_client()
        uid = services.accounts.create_user("a@example.org", "correct horse battery")
        user = User("a@example.org", services.accounts.issue_token(uid), client)
        sio = app.extensions["socketio"].test_client(app, namespace=NS,
                                                     auth={"token": user.token})
        device = user.enroll()
        cid = stream_file(sio, device, user.nonce(), spoken[0])
        assert_problem(client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth,
                                   json={}), 503, "asr_unavailable")
        r = post_version(user, cid, human_version(get_capture(user, cid), None, device), device)
        assert r.status_code == 201, r.json
    finally:
        services.close()


@pytest.mark.slow
def test_a_job_past_its_time_limit_fails_as_asr_timeout(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float]) -> None:
    cid = stream_file(sio, user.enroll(), user.nonce(), spoken[0])
    # The limit is shorter than loading the model alone takes.
    services.transcript_runner.timeout = 0.2
    r = user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    assert r.status_code == 202
    assert services.transcript_runner.run_once()
    job = transcript(user, cid)["job"]
    assert (job["state"], job["code"]) == ("failed", "asr_timeout")
    # A failed job does not block another.
    r = user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    assert r.status_code == 202


def test_a_photo_has_nothing_to_transcribe(user: User) -> None:
    from tests.support.photos import jpeg

    device = user.enroll()
    r = user.upload(device, jpeg())
    assert r.status_code == 201
    assert_problem(user.client.post(f"/api/v1/captures/{r.json['id']}/transcript",
                                    headers=user.auth, json={}), 409, "not_a_recording")


# --------------------------------------------------------------------------- human
def test_human_versions_form_a_chain_signed_by_the_owners_device(
        user: User, make_user: Any, sio: Any, spoken: tuple[bytes, float]) -> None:
    device = user.enroll()
    cid = stream_file(sio, device, user.nonce(), spoken[0])
    capture = get_capture(user, cid)
    v1 = human_version(capture, None, device)
    r = post_version(user, cid, v1, device)
    assert r.status_code == 201, r.json
    assert r.json["version"] == 1 and r.json["sha256"] == sha256_hex(canonicalize(v1))

    latest = transcript(user, cid)["latest"]
    v2 = human_version(capture, latest, device,
                       key_points=[{"start_ms": 0, "end_ms": 1000, "label": "退押金承诺"}])
    first_save = post_version(user, cid, v2, device)
    assert first_save.status_code == 201
    # The same signed version again (a retry after a lost answer) is the same version;
    # another one made on the same stale version: someone saved first.
    again = post_version(user, cid, v2, device)
    assert again.status_code == 201 and again.json == first_save.json
    other_v2 = {**v2, "segments": [{"start_ms": 0, "end_ms": 900, "text": "hi",
                                    "speaker": None}]}
    assert_problem(post_version(user, cid, other_v2, device), 409, "transcript_conflict")
    state = transcript(user, cid)
    assert [v["version"] for v in state["versions"]] == [1, 2]
    assert parse_json(state["latest"]["document"].encode())["prev"] == \
        state["versions"][0]["sha256"]

    v3 = human_version(capture, state["latest"], device)
    body = canonicalize(v3).decode()
    other = DeviceKey()  # not enrolled
    v3_other = {**v3, "signer": {"key_id": other.key_id}}
    assert_problem(post_version(user, cid, v3_other, other), 404, "device_not_found")
    assert_problem(post_version(user, cid, v3, device, signature=other.sign(body.encode())),
                   422, "signature_invalid")
    assert_problem(post_version(user, cid, v3, device, text=json.dumps(v3, indent=1)),
                   400, "transcript_invalid")
    assert_problem(post_version(user, cid, {**v3, "origin": "machine"}, device),
                   400, "transcript_invalid")
    assert_problem(post_version(user, cid, {**v3, "media_sha256": "0" * 64}, device),
                   400, "transcript_invalid")
    bad_times = {**v3, "segments": [{"start_ms": 5, "end_ms": 1, "text": "x", "speaker": None}]}
    assert_problem(post_version(user, cid, bad_times, device), 400, "transcript_invalid")

    stranger = make_user()
    their = stranger.enroll()
    assert_problem(post_version(stranger, cid, {**v3, "signer": {"key_id": their.key_id}},
                                their), 404, "capture_not_found")
    assert_problem(stranger.client.get(f"/api/v1/captures/{cid}/transcript",
                                       headers=stranger.auth), 404, "capture_not_found")
    assert_problem(stranger.client.get(f"/api/v1/captures/{cid}/transcript.pdf",
                                       headers=stranger.auth), 404, "capture_not_found")


def test_no_pdf_before_a_transcript(user: User, sio: Any, spoken: tuple[bytes, float]) -> None:
    cid = stream_file(sio, user.enroll(), user.nonce(), spoken[0])
    assert_problem(user.client.get(f"/api/v1/captures/{cid}/transcript.pdf",
                                   headers=user.auth), 409, "transcript_missing")


# --------------------------------------------------------------------------- bundle
def _bundle(user: User, cid: str) -> dict[str, bytes]:
    r = user.client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth)
    assert r.status_code == 200, r.data[:300]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _check(report: Any, name: str) -> Any:
    return next(c for c in report.results if c.name == name)


@pytest.mark.slow
def test_the_bundle_carries_and_proves_both_versions(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float],
        tmp_path: Path) -> None:
    device = user.enroll()
    cid = stream_file(sio, device, user.nonce(), spoken[0])
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth,
                     json={"language": "en"})
    assert services.transcript_runner.run_once()
    latest = transcript(user, cid)["latest"]
    machine = parse_json(latest["document"].encode())
    first = machine["segments"][0]
    v2 = human_version(get_capture(user, cid), latest, device, key_points=[
        {"start_ms": first["start_ms"], "end_ms": first["end_ms"], "label": "退押金承诺"}])
    assert post_version(user, cid, v2, device).status_code == 201
    services.sequencer.integrate()
    services.sequencer.integrate()

    files = _bundle(user, cid)
    assert {"transcript/v1.json", "transcript/v1.sig", "transcript/v2.json",
            "transcript/v2.sig", "transcript/v2.jwk", "transcript/log.jsonl",
            "transcript.pdf", "keys/transcriber.pem"} <= set(files)
    assert "transcript/v1.jwk" not in files
    report = verify_bundle(files)
    assert report.ok, [(c.name, c.detail) for c in report.results if not c.ok]
    check = _check(report, "transcript")
    assert "v1 machine draft" in check.detail and "v2 checked by a person" in check.detail
    assert "2 of 2 proven in the log" in check.detail

    # VERIFY.md's own commands check both signatures with standard tools.
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    readme = files["VERIFY.md"].decode()
    snippet = readme.split("with `check_transcript.py`:")[1].split("```python\n")[1] \
        .split("```")[0]
    (tmp_path / "check_transcript.py").write_text(snippet)
    for n in (1, 2):
        out = subprocess.run([sys.executable, "check_transcript.py", str(n)], cwd=tmp_path,
                             capture_output=True, text=True)
        assert out.returncode == 0 and f"v{n}: signature OK" in out.stdout, out.stderr
    out = subprocess.run(["openssl", "verify", "-CAfile", "keys/server-ca.pem",
                          "keys/transcriber.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    (tmp_path / "transcript/v2.json").write_bytes(files["transcript/v2.json"] + b" ")
    out = subprocess.run([sys.executable, "check_transcript.py", "2"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "InvalidSignature" in out.stderr

    # A changed word, re-canonicalized (so it still parses) but not re-signed.
    doc = parse_json(files["transcript/v2.json"])
    doc["segments"][0]["text"] = doc["segments"][0]["text"].replace("Friday", "Monday")
    tampered = {**files, "transcript/v2.json": canonicalize(doc)}
    report = verify_bundle(tampered)
    assert not _check(report, "transcript").ok
    assert "transcript/v2" in _check(report, "transcript").detail

    # A version left out breaks the chain.
    dropped = {n: d for n, d in files.items() if not n.startswith("transcript/v1.")}
    assert not _check(verify_bundle(dropped), "transcript").ok



@pytest.mark.slow
def test_a_meeting_is_transcribed_channel_by_channel(
        user: User, services: Services, sio: Any, tmp_path: Path) -> None:
    # The shared tab's sound on channel 0, the microphone on channel 1, each saying
    # something else: the speakers separate by channel.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other, _ = speech(tmp_path / "a", "The landlord promised to return the deposit.",
                      tail=8.0, codec="wav")  # as long as the other channel: join stops short
    mine, _ = speech(tmp_path / "b", "I asked him to send the money by bank transfer.",
                     lead=5.0, codec="wav")
    stereo = tmp_path / "meeting.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(other), "-i", str(mine),
                    "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo",
                    "-c:a", "libopus", "-b:a", "48k", str(stereo)], check=True)
    context = {"type": "meeting", "notice": {"version": 1, "acknowledged_at": utc_text(utcnow())},
               "meeting": {"tracks": [{"index": 0, "source": "display"},
                                      {"index": 1, "source": "microphone"}], "video": False}}
    device = user.enroll()
    hs = HandStream(device, user.nonce(), context=context)
    _emit(sio, "start", hs.start_msg())
    data = stereo.read_bytes()
    for seq, at in enumerate(range(0, len(data), CHUNK)):
        _emit(sio, "chunk", hs.chunk_msg(seq, data[at:at + CHUNK]))
    cid = _emit(sio, "stop", hs.stop_msg())["capture"]["id"]
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth,
                     json={"language": "en"})
    assert services.transcript_runner.run_once()
    state = transcript(user, cid)
    assert state["job"]["state"] == "done", state["job"]
    doc = parse_json(state["latest"]["document"].encode())
    said = {who: " ".join(s["text"] for s in doc["segments"] if s["speaker"] == who).lower()
            for who in ("display", "microphone")}
    assert "landlord" in said["display"] and "landlord" not in said["microphone"], said
    assert "transfer" in said["microphone"] and "transfer" not in said["display"], said
    starts = [s["start_ms"] for s in doc["segments"]]
    assert starts == sorted(starts)


# --------------------------------------------------------------------------- the job queue
def _age_heartbeat(services: Services, job_id: str) -> None:
    from sqlalchemy import update

    from fieldproof.db import TranscriptJob

    with services.db.session() as s:
        s.execute(update(TranscriptJob).where(TranscriptJob.id == job_id)
                  .values(heartbeat_at=utcnow() - timedelta(hours=1)))


SEGMENT = [{"start_ms": 0, "end_ms": 1000, "text": "hello", "speaker": None}]
ENGINE = {"name": "faster-whisper", "version": "test", "model": "whisper-base"}


def test_a_worker_that_lost_its_job_stores_nothing(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float]) -> None:
    from fieldproof.transcripts.versions import MAX_ATTEMPTS, JobLost

    cid = stream_file(sio, user.enroll(), user.nonce(), spoken[0])
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    job, capture = services.transcripts.claim("worker-a")
    _age_heartbeat(services, job["id"])  # worker A went quiet: taken back, claimed by B
    assert services.transcripts.reap_lost(timedelta(minutes=2)) == 1
    assert services.transcripts.claim("worker-b")[0]["id"] == job["id"]
    with pytest.raises(JobLost):
        services.transcripts.heartbeat(job["id"], "worker-a")
    with pytest.raises(JobLost):  # A's late result is rolled back, B's stands
        services.transcripts.add_machine(job["id"], "worker-a", capture, segments=SEGMENT,
                                         language="en", engine=ENGINE)
    services.transcripts.fail(job["id"], "asr_failed", "worker-a")  # no effect on B's
    assert transcript(user, cid)["job"]["state"] == "running"
    services.transcripts.add_machine(job["id"], "worker-b", capture, segments=SEGMENT,
                                     language="en", engine=ENGINE)
    state = transcript(user, cid)
    assert state["job"]["state"] == "done" and len(state["versions"]) == 1

    # A file that kills every worker that takes it fails after MAX_ATTEMPTS.
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    for attempt in range(MAX_ATTEMPTS):
        job = services.transcripts.claim(f"worker-{attempt}")[0]
        _age_heartbeat(services, job["id"])
        services.transcripts.reap_lost(timedelta(minutes=2))
    job = transcript(user, cid)["job"]
    assert (job["state"], job["code"]) == ("failed", "asr_failed")


def test_a_job_read_as_done_always_comes_with_its_version(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cid = stream_file(sio, user.enroll(), user.nonce(), spoken[0])
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    job, capture = services.transcripts.claim("worker")
    read_versions = services.transcripts.versions

    def worker_finishes_meanwhile(capture_id: str) -> Any:
        versions = read_versions(capture_id)
        monkeypatch.undo()  # once (add_machine reads the versions too)
        # the worker commits its version and "done" right after this read
        services.transcripts.add_machine(job["id"], "worker", capture, segments=SEGMENT,
                                         language="en", engine=ENGINE)
        return versions

    monkeypatch.setattr(services.transcripts, "versions", worker_finishes_meanwhile)
    state = transcript(user, cid)
    assert state["job"]["state"] == "running" and state["latest"] is None  # before it
    state = transcript(user, cid)
    assert state["job"]["state"] == "done" and state["latest"]["version"] == 1


def test_a_machine_draft_never_buries_a_checked_version(
        user: User, services: Services, sio: Any, spoken: tuple[bytes, float]) -> None:
    from fieldproof.errors import TranscriptConflict

    device = user.enroll()
    cid = stream_file(sio, device, user.nonce(), spoken[0])
    user.client.post(f"/api/v1/captures/{cid}/transcript", headers=user.auth, json={})
    job, capture = services.transcripts.claim("worker")
    # meanwhile the person types and saves a checked version
    assert post_version(user, cid, human_version(get_capture(user, cid), None, device),
                        device).status_code == 201
    with pytest.raises(TranscriptConflict):
        services.transcripts.add_machine(job["id"], "worker", capture, segments=SEGMENT,
                                         language="en", engine=ENGINE)
    state = transcript(user, cid)
    assert [v["origin"] for v in state["versions"]] == ["human"]
