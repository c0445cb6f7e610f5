"""Real web captures against a local site (tests/support/website.py), through a live
server on PostgreSQL: each mode really recorded by Debian's Chromium in Xvfb with
PulseAudio and ffmpeg, the result read back with warcio, ffprobe and Pillow, and
the exported bundle checked by `fieldproof verify`. Also: the SSRF guard with the
flag off, abandoning, a crashed browser and recorder, and the queue."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from tests.support.live import LiveServer, run_cli
from tests.support.postgres import fresh_pg_schema
from tests.support.waiting import wait_until
from tests.support.website import (
    BANNER_RGB,
    KNOWN_TEXT,
    LocalSite,
    mean_volume_db,
    media_seconds,
)

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tmp: Path, db_url: str, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.srv = LiveServer(tmp / "var", env={"DATABASE_URL": db_url,
                                                "FIELDPROOF_SEQUENCER_INTERVAL": "0.2", **env})
        self.srv.data_dir.mkdir(parents=True, exist_ok=True)
        self.srv.start()
        self.token = self.srv.create_user("web@example.org")
        self.http = httpx.Client(base_url=self.srv.url + "/api/v1", timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def create(self, **body: Any) -> dict[str, Any]:
        r = self.http.post("/web-captures", json=body)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def task(self, task_id: str) -> dict[str, Any]:
        return self.http.get(f"/web-captures/{task_id}").json()  # type: ignore[no-any-return]

    def settled(self, task_id: str, timeout: float = 180) -> dict[str, Any]:
        wait_until("the web capture settled", lambda: self.task(task_id)["status"] not in (
            "scheduled", "recording"), timeout=timeout)
        return self.task(task_id)

    def cli(self, *args: str) -> Any:
        return run_cli("client", "--server", self.srv.url, "--token", self.token, *args,
                       timeout=300)

    def bundle(self, capture_id: str, dest: Path) -> zipfile.ZipFile:
        wait_until("anchored", lambda: self.http.get(f"/captures/{capture_id}").json()[
            "status"] == "anchored", timeout=60)
        r = self.http.get(f"/captures/{capture_id}/bundle")
        assert r.status_code == 200, r.text
        dest.write_bytes(r.content)
        return zipfile.ZipFile(dest)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    with LocalSite(tmp_path_factory.mktemp("site") / "www") as s:
        yield s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_database: str,
           site: LocalSite) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("web"), fresh_pg_schema(pg_database),
                 {"FIELDPROOF_WEB_ALLOW_PRIVATE": "1",
                  "FIELDPROOF_WEB_TRUSTED_SPKI": site.spki_sha256_b64})
    yield srv
    srv.srv.stop()


def _verify(path: Path) -> None:
    out = run_cli("verify", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS    web_files" in out.stdout and "PASS    web_recorder" in out.stdout


def _environment(zf: zipfile.ZipFile) -> dict[str, Any]:
    return json.loads(zf.read("web/environment.json"))  # type: ignore[no-any-return]


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True, timeout=60)
    return " ".join(out.stdout.split())


def _extract(zf: zipfile.ZipFile, name: str, dest: Path) -> Path:
    path = dest / name.replace("/", "_")
    path.write_bytes(zf.read(name))
    return path


def test_page_mode_with_the_cli(server: Server, site: LocalSite, tmp_path: Path) -> None:
    """The done-when: `client web URL --mode page --duration 20 --confirm --json`."""
    out = server.cli("web", f"{site.http}/page.html", "--mode", "page", "--duration", "20",
                     "--confirm", "--json", "--title", "押金页面")
    assert out.returncode == 0, out.stdout + out.stderr
    capture = json.loads(out.stdout)
    assert capture["kind"] == "web" and capture["status"] == "anchored"
    assert capture["web_capture"]["status"] == "confirmed"
    assert capture["title"] == "押金页面"  # the task's title is the capture's
    assert all(c["ok"] for c in capture["checks"]), capture["checks"]
    verdict = [p["code"] for p in capture["verdict"]]
    assert verdict[:2] == ["web_recorded", "signed_web_recorder"], verdict
    # its picture in the list is the page, not the empty window the recording starts on
    thumb = server.http.get(f"/captures/{capture['id']}/derived/thumbnail")
    assert thumb.status_code == 200, thumb.text
    from PIL import ImageStat

    assert max(ImageStat.Stat(Image.open(io.BytesIO(thumb.content)).convert("L")).stddev) > 10
    zf = server.bundle(capture["id"], tmp_path / "page.zip")
    _verify(tmp_path / "page.zip")

    # the known text is in the WARC, read back with warcio
    bodies = [r.content_stream().read() for r in ArchiveIterator(
        io.BytesIO(zf.read("web/traffic.warc.gz"))) if r.rec_type == "response"]
    assert any(KNOWN_TEXT.encode() in b for b in bodies)
    # the video lasts as long as asked
    video = _extract(zf, "media/recording.mp4", tmp_path)
    assert 19 <= media_seconds(video) <= 26
    # the screenshots show the page: its banner, and the whole page's height
    for name in ("web/screenshot-start.png", "web/screenshot-end.png"):
        shot = Image.open(io.BytesIO(zf.read(name))).convert("RGB")
        assert shot.width == 1280 and shot.height > 2000, shot.size
        assert all(abs(a - b) <= 8 for a, b in zip(shot.getpixel((20, 20)), BANNER_RGB,
                                                   strict=True))
    assert KNOWN_TEXT in zf.read("web/page.mhtml").decode("utf-8", "replace") or \
        "KNOWN-TEXT-7f3a" in zf.read("web/page.mhtml").decode("utf-8", "replace")
    env = _environment(zf)
    assert env["main_document"]["status"] == 200
    assert env["browser"]["version"] and env["browser"]["extensions"] == []
    assert env["network"]["proxy"] is None
    assert env["network"]["dns"]["127.0.0.1"] == ["127.0.0.1"]
    assert env["clock"]["tsa"] and abs(env["clock"]["offset_s"]) < 5
    custody = [json.loads(json.loads(line)["record"])["event"]
               for line in zf.read("custody.jsonl").splitlines()]
    assert "confirm" in custody
    # VERIFY.md's commands for a web capture, run with standard tools
    unpacked = tmp_path / "unpacked"
    zf.extractall(unpacked)
    readme = (unpacked / "VERIFY.md").read_text()
    for command in ("openssl verify -CAfile keys/server-ca.pem keys/web-recorder.pem",
                    "| sha256sum -c"):
        line = next(ln for ln in readme.splitlines() if command in ln)
        run = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=unpacked,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, (line, run.stdout, run.stderr)


def test_video_mode_plays_with_sound(server: Server, site: LocalSite, tmp_path: Path) -> None:
    task = server.create(url=f"{site.http}/video.html", mode="video", duration_s=40)
    # while it records, the app can show what the browser shows
    frame = f"/web-captures/{task['id']}/frame"
    wait_until("a live frame", lambda: server.http.get(frame).status_code == 200, timeout=60)
    live = server.http.get(frame)
    assert live.headers["content-type"] == "image/jpeg" and live.content[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(live.content)).size == (1280, 800)
    done = server.settled(task["id"])
    assert server.http.get(frame).status_code == 404  # only while recording
    assert done["status"] == "awaiting_confirmation", done
    zf = server.bundle(done["capture_id"], tmp_path / "video.zip")
    _verify(tmp_path / "video.zip")
    video = _extract(zf, "media/recording.mp4", tmp_path)
    # the 6 s clip played to its end: the recording stops there, not at 40 s
    assert 6 <= media_seconds(video) <= 25
    assert "media_ended" in _environment(zf)["recorded"]["notes"]
    assert mean_volume_db(video) > -40  # the page's 440 Hz tone, not silence


def test_https_records_the_sites_certificate(server: Server, site: LocalSite,
                                             tmp_path: Path) -> None:
    task = server.create(url=f"{site.https}/page.html", mode="page", duration_s=6)
    done = server.settled(task["id"])
    assert done["status"] == "awaiting_confirmation", done
    zf = server.bundle(done["capture_id"], tmp_path / "tls.zip")
    _verify(tmp_path / "tls.zip")
    tls = _environment(zf)["tls"][site.https]
    assert tls["chain_sha256"][0] == site.cert_sha256
    assert tls["protocol"].startswith("TLS") and tls["subject"] == "fieldproof-test-site"
    # the certificate PDF states the URL, the mode, the hosts and the TLS fingerprint
    text = _pdf_text(_extract(zf, "certificate.pdf", tmp_path))
    for fact in ("网页取证", "Web capture", f"{site.https}/page.html", site.cert_sha256,
                 "127.0.0.1:" + site.https.rsplit(":", 1)[1] + " → 127.0.0.1", "Chromium"):
        assert fact in text, fact


def test_a_booked_live_stream_is_recorded_in_its_window(server: Server, site: LocalSite,
                                                         tmp_path: Path) -> None:
    """Booked ahead with a start and an end time: it waits, starts on time, stops on time,
    and keeps the HLS stream itself besides the video."""
    from datetime import UTC, datetime, timedelta

    from fieldproof.core.manifest import utc_text

    site.start_live(seconds=120)
    start = datetime.now(UTC) + timedelta(seconds=20)
    end = start + timedelta(seconds=10)
    task = server.create(url=f"{site.http}/live.html", mode="live",
                         start_at=utc_text(start), end_at=utc_text(end))
    assert task["status"] == "scheduled" and task["duration_s"] == 10
    done = server.settled(task["id"], timeout=240)
    assert done["status"] == "awaiting_confirmation", done
    captured = server.http.get(f"/captures/{done['capture_id']}").json()["manifest"]["captured"]
    began = datetime.fromisoformat(captured["start"].replace("Z", "+00:00"))
    assert start - timedelta(seconds=1) <= began <= start + timedelta(seconds=15), (began, start)
    assert done["status"] == "awaiting_confirmation", done
    assert "stream.ts" in {f["name"] for f in done["files"]}
    zf = server.bundle(done["capture_id"], tmp_path / "live.zip")
    _verify(tmp_path / "live.zip")
    stream = _extract(zf, "web/stream.ts", tmp_path)
    assert media_seconds(stream) >= 4
    video = _extract(zf, "media/recording.mp4", tmp_path)
    assert 9 <= media_seconds(video) <= 16
    assert mean_volume_db(video) > -40


def test_abandon_and_the_queue(server: Server, site: LocalSite) -> None:
    """Two tasks at once with one browser allowed: the second records after the first."""
    first = server.create(url=f"{site.http}/page.html", mode="page", duration_s=5)
    second = server.create(url=f"{site.http}/page.html", mode="page", duration_s=5)
    a, b = server.settled(first["id"]), server.settled(second["id"])
    assert a["status"] == b["status"] == "awaiting_confirmation"
    ma = server.http.get(f"/captures/{a['capture_id']}").json()["manifest"]
    mb = server.http.get(f"/captures/{b['capture_id']}").json()["manifest"]
    assert mb["captured"]["start"] >= ma["captured"]["end"]
    r = server.http.post(f"/web-captures/{b['id']}/abandon")
    assert r.status_code == 200 and r.json()["status"] == "abandoned"
    assert server.http.post(f"/web-captures/{b['id']}/confirm").status_code == 409
    # abandoning keeps the anchored capture; it is a custody event of it
    capture = server.http.get(f"/captures/{b['capture_id']}").json()
    wait_until("anchored", lambda: server.http.get(f"/captures/{b['capture_id']}").json()[
        "status"] == "anchored")
    assert capture["kind"] == "web"
    events = [e["event"] for e in server.http.get(f"/captures/{b['capture_id']}/custody")
              .json()["events"]]
    assert "abandon" in events


def _command_lines() -> list[tuple[int, list[bytes]]]:
    """Every process's pid and arguments, read once each (processes come and go while
    this runs: one that ended meanwhile is simply not listed)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")))
            except OSError:
                continue
    return out


def _processes(needle: str) -> list[int]:
    return [pid for pid, args in _command_lines()
            if any(needle.encode() in part for part in args)]


def _browser() -> list[int]:
    """The recording browser's main process (Chromium's children carry --type=)."""
    return [pid for pid, args in _command_lines()
            if any(b"--proxy-bypass-list=<-loopback>" in a for a in args)
            and not any(a.startswith(b"--type=") for a in args)]


@pytest.mark.parametrize(("victim", "code"), [("browser", "browser"), ("recorder", "crashed")])
def test_a_crash_fails_the_task_and_keeps_nothing(server: Server, site: LocalSite,
                                                  victim: str, code: str) -> None:
    before = server.http.get("/captures").json()["items"]
    task = server.create(url=f"{site.http}/page.html", mode="page", duration_s=60)
    find = _browser if victim == "browser" else (
        lambda: _processes("fieldproof.webcap.record"))
    # the page loaded and frames flow (a recorder that dies while starting is retried)
    wait_until(f"the {victim} records", lambda: bool(find()) and server.http.get(
        f"/web-captures/{task['id']}/frame").status_code == 200, timeout=90)
    for pid in find():
        with contextlib.suppress(ProcessLookupError):  # gone meanwhile: the next one
            os.kill(pid, signal.SIGKILL)
    done = server.settled(task["id"], timeout=120)
    assert done["status"] == "failed" and done["reason"]["code"] == code, done
    assert done["capture_id"] is None
    assert server.http.get("/captures").json()["items"] == before
    wait_until("nothing of the recording left running",
               lambda: not _browser() and not _processes("recorder.monitor"), timeout=30)


def test_private_addresses_are_refused_with_the_flag_off(
        tmp_path: Path, pg_database: str, site: LocalSite) -> None:
    srv = Server(tmp_path, fresh_pg_schema(pg_database), {})
    try:
        port = site.http.rsplit(":", 1)[1]
        r = srv.http.post("/web-captures", json={"url": f"{site.http}/page.html",
                                                 "mode": "page", "duration_s": 5})
        assert r.status_code == 403 and r.json()["code"] == "web_address_refused"
        # a name that is not obviously private: refused by the recorder's guard when
        # its DNS answer is a loopback address
        host = socket.gethostname()
        address = socket.getaddrinfo(host, None)[0][4][0]
        from fieldproof.core.netguard import is_public

        assert not is_public(address), f"{host} resolves to {address}, a public address"
        task = srv.create(url=f"http://{host}:{port}/page.html", mode="page", duration_s=5)
        done = srv.settled(task["id"])
        assert done["status"] == "failed", done
        assert done["reason"]["code"] == "address_refused", done["reason"]
        assert srv.http.get("/captures").json()["items"] == []
    finally:
        srv.srv.stop()
