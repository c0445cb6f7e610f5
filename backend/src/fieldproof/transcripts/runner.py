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
from datetime import timedelta
from pathlib import Path
from typing import Any

from fieldproof.capture.records import CaptureRecord
from fieldproof.errors import AsrFailed, AsrUnavailable, FieldProofError
from fieldproof.storage import ObjectStore
from fieldproof.transcripts import asr, model
from fieldproof.transcripts.versions import Transcripts

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
        except FieldProofError as exc:
            log.warning("transcription %s of capture %s failed: %s", job["id"], capture.id,
                        exc.code)
            self.transcripts.fail(job["id"], exc.code)
        except Exception:
            log.exception("transcription %s of capture %s failed", job["id"], capture.id)
            self.transcripts.fail(job["id"], AsrFailed.code)
        return True

    def _transcribe(self, job_id: str, capture: CaptureRecord, language: str | None) -> None:
        directory = model.find(self.model_dir)
        if directory is None:
            raise AsrUnavailable("no speech model installed")
        self.tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tracks = channel_tracks(capture.manifest_data)
        deadline = time.monotonic() + self.timeout
        with tempfile.TemporaryDirectory(prefix="asr-", dir=self.tmp_dir) as tmp:
            media = Path(tmp) / "media"
            with open(media, "wb") as f:
                for block in self.store.iter_range(capture.object_key):
                    f.write(block)
            parts: list[tuple[str | None, Path]] = [(None, media)] if not tracks else [
                (source, split_track(media, index, Path(tmp) / f"track-{index}.wav"))
                for index, source in tracks]
            results: list[dict[str, Any]] = []
            for source, path in parts:
                result = asr.transcribe(
                    directory, path, Path(tmp) / f"result-{len(results)}.json",
                    language=language, threads=self.threads,
                    timeout=max(1.0, deadline - time.monotonic()),
                    alive=lambda: self.transcripts.heartbeat(job_id, self.name))
                for seg in result["segments"]:
                    seg["speaker"] = source  # the channel: who was where
                results.append(result)
        first = results[0]
        segments = sorted((seg for r in results for seg in r["segments"]),
                          key=lambda seg: (seg["start_ms"], seg["end_ms"]))
        engine = {"name": "faster-whisper", "version": str(first["engine_version"])[:32],
                  "model": model.MODEL_NAME if self.model_dir is None
                  else directory.name[:64],
                  "model_sha256": model.model_sha256(directory),
                  "language_probability": int(first["language_probability"]),
                  "vad": True, "beam_size": asr.BEAM_SIZE,
                  "duration_ms": max(int(r["duration_ms"]) for r in results)}
        self.transcripts.add_machine(job_id, capture, segments=segments,
                                     language=first["language"], engine=engine)


def channel_tracks(manifest: dict[str, Any]) -> list[tuple[int, str]]:
    """A meeting recorded as separate tracks (the shared tab's sound, the microphone):
    [(index, source)], transcribed one by one so that speakers separate by channel;
    empty for anything else."""
    context = manifest.get("context") or {}
    tracks = (context.get("meeting") or {}).get("tracks") or []
    out = [(int(t["index"]), str(t["source"])) for t in tracks
           if isinstance(t, dict) and isinstance(t.get("index"), int)]
    return out if context.get("type") == "meeting" and len(out) > 1 else []


def split_track(media: Path, index: int, out: Path) -> Path:
    """Track ``index`` of a recording as mono 16 kHz WAV: the index-th audio stream
    when the file has several, else the index-th channel of its one stream."""
    import av

    with av.open(str(media)) as c:
        streams = [s for s in c.streams if s.type == "audio"]
    if not streams:
        raise AsrFailed("the recording has no sound")
    if len(streams) > 1:
        select = ["-map", f"0:a:{min(index, len(streams) - 1)}", "-ac", "1"]
    else:
        select = ["-af", f"pan=mono|c0=c{index}"]
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(media), *select,  # noqa: S603, S607 - Debian's ffmpeg, paths we made
                    "-ar", "16000", str(out)], check=True, capture_output=True, timeout=600)
    return out
