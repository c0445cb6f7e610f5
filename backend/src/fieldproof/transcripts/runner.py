"""Runs machine transcription jobs: one at a time, each in a child process.

A thread in `fieldproof serve` (FIELDPROOF_ASR_RUNNER=thread) or in `fieldproof
worker`. It claims the oldest queued job, copies the original out of the
object store into a private temporary file, runs the recognizer with the time
limit (asr.py) while it keeps the job's heartbeat, then signs and stores the
machine version. A worker that dies leaves a job "running" with an old
heartbeat; :meth:`Transcripts.reap_lost` queues it again.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fieldproof.capture.records import CaptureRecord
from fieldproof.core.transcript import MAX_SEGMENTS, MAX_TEXT
from fieldproof.errors import AsrFailed, AsrUnavailable, FieldProofError
from fieldproof.storage import ObjectStore
from fieldproof.storage.tmpfiles import locked_mkstemp
from fieldproof.transcripts import asr, model
from fieldproof.transcripts.versions import JobLost, Transcripts

log = logging.getLogger(__name__)

LOST_AFTER = timedelta(minutes=2)  # a running job's heartbeat older than this: requeued


class TranscriptRunner:
    def __init__(self, transcripts: Transcripts, store: ObjectStore, *, model_dir: Path | None,
                 tmp_dir: Path, timeout: float, threads: int) -> None:
        self.transcripts = transcripts
        self.store = store
        self.model_dir = model_dir
        self.tmp_dir = tmp_dir
        self.timeout = timeout
        self.threads = threads
        self.name = f"asr-{os.getpid()}-{id(self):x}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="transcriber", daemon=True)
            self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.transcripts.reap_lost(LOST_AFTER)
                while not self._stop.is_set() and self.run_once():
                    pass
            except Exception:  # a database hiccup must not end the loop
                log.exception("transcription queue")
            self._wake.wait(2.0)
            self._wake.clear()

    def run_once(self) -> bool:
        """Claim and finish one job; False when there was none."""
        claimed = self.transcripts.claim(self.name)
        if claimed is None:
            return False
        job, capture = claimed
        try:
            self._transcribe(job["id"], capture, job["language"])
        except JobLost:
            log.warning("transcription %s was taken back as lost; this worker stops", job["id"])
        except FieldProofError as exc:
            log.warning("transcription %s of capture %s failed: %s", job["id"], capture.id,
                        exc.code)
            self.transcripts.fail(job["id"], exc.code, self.name)
        except Exception:
            log.exception("transcription %s of capture %s failed", job["id"], capture.id)
            self.transcripts.fail(job["id"], AsrFailed.code, self.name)
        return True

    def _transcribe(self, job_id: str, capture: CaptureRecord, language: str | None) -> None:
        directory = model.find(self.model_dir)
        if directory is None:
            raise AsrUnavailable("no speech model installed")
        deadline = time.monotonic() + self.timeout
        beat = Heartbeat(lambda: self.transcripts.heartbeat(job_id, self.name))
        store_tmp: Path = self.store.tmp_dir  # type: ignore[attr-defined]
        held: list[tuple[int, Path]] = []  # locked temp files: swept if this process dies
        try:
            fd, media = locked_mkstemp(store_tmp, "asr-media-")
            held.append((fd, media))
            with os.fdopen(os.dup(fd), "wb") as f:
                for block in self.store.iter_range(capture.object_key):
                    f.write(block)
                    beat()
            tracks = channel_tracks(capture.manifest_data)
            parts: list[tuple[str | None, Path]] = [(None, media)]
            if tracks and (count := audio_layout(media)) is not None:
                parts = []
                for index, track_source in tracks:
                    fd, wav = locked_mkstemp(store_tmp, "asr-track-", ".wav")
                    held.append((fd, wav))
                    split_track(media, index, count, wav,
                                timeout=max(1.0, deadline - time.monotonic()))
                    parts.append((track_source, wav))
                    beat(force=True)
            self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="asr-", dir=self.tmp_dir) as tmp:
                results: list[dict[str, Any]] = []
                for source, path in parts:
                    result = asr.transcribe(
                        directory, path, Path(tmp) / f"result-{len(results)}.json",
                        language=language, threads=self.threads,
                        timeout=max(1.0, deadline - time.monotonic()), alive=beat)
                    for seg in result["segments"]:
                        seg["speaker"] = source  # the channel: who was where
                    results.append(result)
        finally:
            for fd, path in held:
                path.unlink(missing_ok=True)
                os.close(fd)
        first = results[0]
        segments = fit(sorted((seg for r in results for seg in r["segments"]),
                              key=lambda seg: (seg["start_ms"], seg["end_ms"])))
        engine = {"name": "faster-whisper", "version": str(first["engine_version"])[:32],
                  "model": model.MODEL_NAME if self.model_dir is None
                  else directory.name[:64],
                  "model_sha256": model.model_sha256(directory),
                  "language_probability": int(first["language_probability"]),
                  "vad": True, "beam_size": asr.BEAM_SIZE,
                  "duration_ms": max(int(r["duration_ms"]) for r in results)}
        beat(force=True)
        self.transcripts.add_machine(job_id, self.name, capture, segments=segments,
                                     language=first["language"], engine=engine)


class Heartbeat:
    """Calls ``send`` at most every ``every`` seconds (each is a write transaction);
    ``send`` raises JobLost once the job was taken back, which stops the work."""

    def __init__(self, send: Callable[[], None], every: float = 5.0) -> None:
        self.send = send
        self.every = every
        self.last = time.monotonic()

    def __call__(self, force: bool = False) -> None:
        if force or time.monotonic() - self.last >= self.every:
            self.send()
            self.last = time.monotonic()


def fit(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_SEGMENTS segments (a long meeting's two tracks can say more): the
    shortest neighbours of one speaker are joined, their times spanning both."""
    out = list(segments)
    while len(out) > MAX_SEGMENTS:
        joined, i = [], 0
        while i < len(out):
            a = out[i]
            b = out[i + 1] if i + 1 < len(out) else None
            if b is not None and a["speaker"] == b["speaker"] and \
                    len(a["text"]) + len(b["text"]) + 1 <= MAX_TEXT:
                joined.append({**a, "end_ms": max(a["end_ms"], b["end_ms"]),
                               "text": f"{a['text']} {b['text']}"})
                i += 2
            else:
                joined.append(a)
                i += 1
        if len(joined) == len(out):
            break  # nothing more to join: the schema says no, the job fails
        out = joined
    return out


def channel_tracks(manifest: dict[str, Any]) -> list[tuple[int, str]]:
    """A meeting recorded as separate tracks (the shared tab's sound, the microphone):
    [(index, source)], transcribed one by one so that speakers separate by channel;
    empty for anything else."""
    context = manifest.get("context") or {}
    tracks = (context.get("meeting") or {}).get("tracks") or []
    out = [(int(t["index"]), str(t["source"])) for t in tracks
           if isinstance(t, dict) and isinstance(t.get("index"), int)]
    return out if context.get("type") == "meeting" and len(out) > 1 else []


def audio_layout(media: Path) -> int | None:
    """How many audio streams the file has (2+: tracks are streams) or, with one,
    how many channels it has as a negative number (tracks are channels); None when
    there is nothing to split (mono, or unreadable): then the whole file is one."""
    proc = subprocess.run(  # noqa: S603 - Debian's ffprobe, a path we made
        ["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",  # noqa: S607
         "stream=channels", "-of", "csv=p=0", str(media)],
        capture_output=True, text=True, timeout=60, check=False)
    channels = [int(c) for c in proc.stdout.split() if c.strip().isdigit()]
    if len(channels) > 1:
        return len(channels)
    if channels and channels[0] > 1:
        return -channels[0]
    return None


def split_track(media: Path, index: int, layout: int, out: Path, *, timeout: float) -> None:
    """Track ``index`` of a recording as mono 16 kHz WAV: the index-th audio stream
    (``layout`` > 0 streams) or the index-th channel (``layout`` < 0 channels)."""
    if index >= abs(layout):
        raise AsrFailed(f"the recording has no audio track {index}")
    select = ["-map", f"0:a:{index}", "-ac", "1"] if layout > 0 else \
        ["-af", f"pan=mono|c0=c{index}"]
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(media), *select,  # noqa: S603, S607 - Debian's ffmpeg, paths we made
                    "-ar", "16000", str(out)], check=True, capture_output=True, timeout=timeout)
