"""The recording queue: start recorder processes, at most N at once, and store their results.

Runs as a thread in the server (FIELDPROOF_WEB_RECORDER=thread) or in
``fieldproof worker``. Each recording is a child process
(``python -m fieldproof.webcap.record``) with its own desktop and browser: a
crash or a hang there kills only that child, and the task fails with a
reason. Only after the child has finished does this process hash, sign and
store the files; the capture, its files and the task's new state are one
transaction, so nothing is ever half-stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fieldproof import __version__
from fieldproof.accounts.accounts import Accounts, Principal
from fieldproof.capture.ingest import Claim, Ingest
from fieldproof.capture.objects import ObjectRefs
from fieldproof.capture.spool import HashingSpool
from fieldproof.config import Settings
from fieldproof.core import checks as ck
from fieldproof.core.canonical import canonicalize
from fieldproof.core.files import file_sha256
from fieldproof.core.manifest import new_manifest, parse_manifest, parse_time, utc_text
from fieldproof.core.timestamp import parse_token
from fieldproof.db import Capture, CaptureAnnotation, Database, User, WebCaptureFile
from fieldproof.db.models import utcnow
from fieldproof.storage import media_key
from fieldproof.tsa import TimestampAuthority, in_signing_order
from fieldproof.webcap.browser import HEIGHT, WIDTH, kill_marked, missing_tools
from fieldproof.webcap.keys import RecorderKeys
from fieldproof.webcap.tasks import WebTasks

log = logging.getLogger(__name__)
HEARTBEAT_S = 10.0
FRAME_S = 2.0  # how often the live thumbnail may change
MAX_FRAME = 256 * 1024
OVERHEAD_S = 120  # browser start, page load, screenshots, WARC: beyond the recording itself
# The files a recording may leave, in manifest order, with their MIME types.
FILES = (("environment.json", "application/json"),
         ("screenshot-start.png", "image/png"),
         ("screenshot-end.png", "image/png"),
         ("page.mhtml", "multipart/related"),
         ("traffic.warc.gz", "application/warc"),
         ("stream.ts", "video/mp2t"))
VIDEO = "recording.mp4"


@dataclass
class _Job:
    task: dict[str, Any]
    nonce: dict[str, Any]
    thread: threading.Thread | None = None
    result: dict[str, Any] | None = None  # the recorder's result.json, once it succeeded


class WebRunner:
    def __init__(self, db: Database, tasks: WebTasks, ingest: Ingest, accounts: Accounts,
                 keys: RecorderKeys, tsas: list[TimestampAuthority], settings: Settings) -> None:
        self.db = db
        self.tasks = tasks
        self.ingest = ingest
        self.accounts = accounts
        self.keys = keys
        self.tsas = in_signing_order(tsas)
        self.settings = settings
        self.name = f"recorder-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp = settings.data_dir / "tmp"
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._finish_lock = threading.Lock()  # one device chain per account: one at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- the loop
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="web-recorder", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def sweep_leftovers(self) -> int:
        """Remove the work folders of recordings whose process died (a killed server):
        every webcap-* folder whose lock nobody holds."""
        removed = 0
        for d in self.tmp.glob("webcap-*"):
            try:
                fd = os.open(d / ".lock", os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # recording now, in this or another process
            finally:
                os.close(fd)
            kill_marked(str(d.resolve()))
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
        return removed

    def run(self) -> None:
        try:
            self.sweep_leftovers()
        except OSError:
            log.warning("could not sweep old web capture folders", exc_info=True)
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("web recorder tick failed")
            self._wake.wait(1.0)
            self._wake.clear()

    def tick(self, now: datetime | None = None) -> None:
        """Confirm what is due, fail what is lost, start what fits."""
        self.tasks.auto_confirm(now)
        self.tasks.reap_lost(now)
        with self._lock:
            for tid in [t for t, job in self._jobs.items()
                        if job.thread is not None and not job.thread.is_alive()]:
                del self._jobs[tid]
        while len(self._jobs) < self.settings.web_concurrency and not self._stop.is_set():
            task = self.tasks.claim(self.name, self.settings.web_concurrency, now)
            if task is None:
                return
            principal = self._principal(task["user_id"])
            job = _Job(task, self.ingest.issue_nonce(principal))  # before the recording starts
            job.thread = threading.Thread(target=self._record, args=(job, principal),
                                          name=f"web-{task['id'][:8]}", daemon=True)
            with self._lock:
                self._jobs[task["id"]] = job
            job.thread.start()

    def _principal(self, user_id: int) -> Principal:
        with self.db.reading() as s:
            user = s.get(User, user_id)
            assert user is not None
            return Principal(user_id=user.id, email=user.email)

    # ---------------------------------------------------------------- one recording
    def _record(self, job: _Job, principal: Principal) -> None:
        task = job.task
        if missing := missing_tools():
            self.tasks.fail(task["id"], "recorder_unavailable: not installed on the server: "
                            + ", ".join(missing))
            return
        self.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(prefix=f"webcap-{task['id'][:8]}-", dir=self.tmp))
        held = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(held, fcntl.LOCK_EX)  # this recording's: sweep_leftovers leaves it alone
        try:
            try:
                reason = self._run_child(job, out)
                if reason is not None and reason.startswith("crashed:") and \
                        not (out / "loaded").exists() and not self._stop.is_set():
                    # killed while starting, before the page answered: nothing of the
                    # page was seen yet, so once more, from a clean folder
                    log.warning("web capture %s: the recorder died while starting (%s); "
                                "trying once more", task["id"], reason)
                    for leftover in out.iterdir():
                        if leftover.name == ".lock":
                            continue
                        if leftover.is_dir():
                            shutil.rmtree(leftover, ignore_errors=True)
                        else:
                            leftover.unlink(missing_ok=True)
                    reason = self._run_child(job, out)
            except Exception as exc:  # e.g. the child could not be started
                log.exception("web capture %s: the recorder did not run", task["id"])
                reason = f"crashed: {type(exc).__name__}: {exc}"
            if reason is not None:
                self.tasks.fail(task["id"], reason)
                return
            try:
                with self._finish_lock:
                    self._store(job, principal, out)
            except Exception as exc:
                log.exception("storing web capture %s failed", task["id"])
                self.tasks.fail(task["id"], f"store_failed: {type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(out, ignore_errors=True)
            os.close(held)

    def _spec(self, task: dict[str, Any]) -> dict[str, Any]:
        def epoch(text: str | None) -> float | None:
            return parse_time(text).timestamp() if text else None

        return {"url": task["url"], "mode": task["mode"], "duration_s": task["duration_s"],
                "start_at": epoch(task["start_at"]), "end_at": epoch(task["end_at"]),
                "allow_private": self.settings.web_allow_private,
                "max_bytes": self.settings.web_max_bytes,
                "trusted_spki": list(self.settings.web_trusted_spki), "version": __version__,
                "sandbox": self.settings.web_sandbox and os.geteuid() != 0}

    def _run_child(self, job: _Job, out: Path) -> str | None:
        """Run the recorder process; None when it recorded (``job.result``), else the
        failure reason."""
        task = job.task
        spec = self._spec(task)
        (out / "spec.json").write_text(json.dumps(spec), "utf-8")
        wait = max(0.0, (spec["start_at"] or 0) - time.time())
        limit = wait + task["duration_s"] + OVERHEAD_S
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDPROOF_", "AWS_"))}
        with (out / "recorder.log").open("wb") as errors:
            proc = subprocess.Popen(  # noqa: S603 - our interpreter and module
                [sys.executable, "-m", "fieldproof.webcap.record", str(out / "spec.json"),
                 str(out)], cwd=out, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        deadline = time.monotonic() + limit
        timed_out = False
        beat = time.monotonic()
        frame_at = 0.0
        while True:
            try:
                proc.wait(timeout=FRAME_S)
                break
            except subprocess.TimeoutExpired:
                frame_at = self._pass_frame(task["id"], out / "frame.jpg", frame_at)
                if time.monotonic() - beat >= HEARTBEAT_S:
                    self.tasks.heartbeat(task["id"], self.name)
                    beat = time.monotonic()
                if time.monotonic() > deadline or self._stop.is_set():
                    timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
        _kill_group(proc.pid)
        kill_marked(str(out.resolve()))  # Xvfb, PulseAudio, ffmpeg, a browser it left behind
        if timed_out:
            return f"timeout: the recording did not finish within {limit:.0f} s"
        result_file = out / "result.json"
        if not result_file.exists():
            return f"crashed: the recorder exited with status {proc.returncode}"
        result = json.loads(result_file.read_text("utf-8"))
        if not result.get("ok"):
            return str(result.get("reason") or "crashed: no reason given")
        if not (out / VIDEO).exists() or not (out / "environment.json").exists():
            return "crashed: the recorder left no video"
        job.result = result
        return None

    def _pass_frame(self, task_id: str, path: Path, seen: float) -> float:
        """Hand the recorder's newest frame to the app (GET /web-captures/{id}/frame)."""
        try:
            mtime = path.stat().st_mtime
            if mtime == seen:
                return seen
            data = path.read_bytes()
        except OSError:
            return seen
        if 0 < len(data) <= MAX_FRAME:
            self.tasks.set_frame(task_id, data)
        return mtime

    # ---------------------------------------------------------------- storing it
    def _clock(self, environment: dict[str, Any]) -> dict[str, Any]:
        """The server's clock against a TSA's, right after the recording."""
        before = datetime.now(UTC)
        for tsa in self.tsas:
            try:
                token = tsa.stamp(canonicalize(environment))
            except Exception as exc:
                log.warning("clock check with %s failed: %s", tsa.name, exc)
                continue
            after = datetime.now(UTC)
            gen = parse_token(token).gen_time
            middle = before + (after - before) / 2
            return {"server_time": utc_text(middle), "tsa": tsa.name, "tsa_embedded": tsa.embedded,
                    "tsa_time": utc_text(gen),
                    "offset_s": round((middle - gen).total_seconds(), 3),
                    "round_trip_s": round((after - before).total_seconds(), 3)}
        return {"server_time": utc_text(before), "tsa": None, "error": "no TSA answered"}

    def _store(self, job: _Job, principal: Principal, out: Path) -> None:
        task, result = job.task, job.result
        assert result is not None
        env_path = out / "environment.json"
        environment = json.loads(env_path.read_text("utf-8"))
        environment["clock"] = self._clock(environment)
        env_path.write_text(json.dumps(environment, ensure_ascii=False, indent=2,
                                       sort_keys=True), "utf-8")
        files = []
        for name, mime in FILES:
            path = out / name
            if path.exists():
                files.append(_describe(path, name, mime))
        video = _describe(out / VIDEO, VIDEO, "video/mp4")
        key = self.keys.for_user(principal.user_id)
        device = self.accounts.recorder_device(principal.user_id, key.device)
        pins: list[int] = []
        spool = HashingSpool(self.tmp)
        try:
            for f in files:
                pins.append(self.ingest.store_file(out / f["name"], f["sha256"], f["size"]))
            with (out / VIDEO).open("rb") as fh:
                while block := fh.read(1 << 20):
                    spool.write(block)
            browser = environment.get("browser") or {}
            data = new_manifest(
                kind="web", sha256=video["sha256"], size=video["size"], mime="video/mp4",
                start=parse_time(result["started_at"]), end=parse_time(result["ended_at"]),
                nonce=job.nonce["nonce"], key_id=key.device.key_id,
                prev=device.head_manifest,
                device={"user_agent": str(browser.get("user_agent", ""))[:1024],
                        "platform": "FieldProof web recorder (server)",
                        "app_version": __version__, "timezone": task["timezone"],
                        "language": "en",
                        "screen": {"width": WIDTH, "height": HEIGHT, "pixel_ratio": 1}},
                name=VIDEO)
            data["web"] = {"url": task["url"], "mode": task["mode"],
                           "duration_s": task["duration_s"], "start_at": task["start_at"],
                           "end_at": task["end_at"], "files": files}
            manifest = parse_manifest(canonicalize(data))
            signature = key.sign(manifest.canonical)
            now = utcnow()
            checks = ck.CheckList(
                (ck.Check.of("schema", True, "schema.v1"),
                 ck.Check.of("signature", True, "signature.web_recorder",
                             key_id=key.device.key_id),
                 ck.Check.of("nonce", True, "nonce.single_use",
                             issued_at=job.nonce["issued_at"])),
                (ck.Check.of("media_sha256", True, "media_sha256.ok", sha256=video["sha256"]),
                 ck.Check.of("media_size", True, "media_size.ok", size=video["size"]),
                 ck.mime_check("video/mp4", "video/mp4"),
                 ck.kind_check("web", "video/mp4"),
                 ck.Check.of("web_files", True, "web_files.stored", count=len(files)),
                 ck.capture_time_check(manifest.started_at, manifest.ended_at,
                                       parse_time(job.nonce["issued_at"]), now,
                                       skew=timedelta(seconds=self.settings.clock_skew_seconds))))

            def with_capture(s: Any, capture: Capture) -> None:
                if task["title"]:  # the owner's words for it, as for any capture
                    s.add(CaptureAnnotation(capture_id=capture.id, title=task["title"],
                                            note="", tags=[]))
                for f in files:
                    s.add(WebCaptureFile(capture_id=capture.id, name=f["name"],
                                         object_key=media_key(f["sha256"]),
                                         sha256=f["sha256"], size=f["size"], mime=f["mime"]))
                for pin in pins:
                    ObjectRefs.unpin_in(s, pin)
                self.tasks.stored(s, task["id"], capture.id, now)

            self.ingest.record(principal, device, Claim.of(manifest), signature, spool, checks,
                               received_at=now, on_commit=with_capture)
        except BaseException:
            for pin in pins:
                self.ingest.objects.unpin(pin)
            raise
        finally:
            spool.discard()


def _describe(path: Path, name: str, mime: str) -> dict[str, Any]:
    sha256, size = file_sha256(path, fsync=True)  # the recorder just wrote it
    return {"name": name, "sha256": sha256, "size": size, "mime": mime}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def capture_files(db: Database, capture_id: str) -> list[WebCaptureFile]:
    with db.reading() as s:
        return list(s.scalars(select(WebCaptureFile).where(
            WebCaptureFile.capture_id == capture_id).order_by(WebCaptureFile.name)).all())
