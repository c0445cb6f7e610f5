"""Speech to text with faster-whisper, in a child process with a time limit.

``python -m fieldproof.transcripts.asr MODEL MEDIA OUT [--language xx]
[--threads N]`` writes ``OUT`` (JSON: segments, language, engine) and exits 0.
The parent (:func:`transcribe`) kills it when the time limit passes: a decoder
stuck in Whisper's known repetition loop, or a huge file, never holds the
worker. ``condition_on_previous_text`` is off, which is what keeps that loop
from feeding on itself; voice activity detection (Silero, shipped inside
faster-whisper) skips silence, so times stay on the recording's clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldproof.errors import AsrFailed, AsrTimeout

BEAM_SIZE = 5
MAX_SEGMENT_TEXT = 2000
# Whisper writes Chinese in traditional characters as often as not; a short
# simplified-Chinese prompt steers it to 简体 (and, measured on espeak-ng's
# Mandarin, to fewer invented words). Only when the language is set to zh.
PROMPTS = {"zh": "以下是普通话的句子。"}


def transcribe(model: Path, media: Path, out: Path, *, language: str | None, threads: int,
               timeout: float, alive: Callable[[], None] = lambda: None,
               poll: float = 1.0) -> dict[str, Any]:
    """Run the child and return what it wrote; AsrTimeout / AsrFailed otherwise.

    ``alive`` is called about every ``poll`` seconds while it runs (the job's
    heartbeat)."""
    cmd = [sys.executable, "-m", "fieldproof.transcripts.asr", str(model), str(media),
           str(out), "--threads", str(threads)]
    if language:
        cmd += ["--language", language]
    # HF_HUB_OFFLINE: a directory missing a file must fail, not wait on huggingface.co;
    # HOME: onnxruntime (the VAD) writes a cache under it, which belongs with the job.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads),
           "HOME": str(out.parent)}
    errors = out.with_name(out.name + ".err")  # a file, not a pipe nobody drains meanwhile
    with open(errors, "wb") as err_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err_file,  # noqa: S603 - our own module, paths we made
                                env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                proc.wait(timeout=poll)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    raise AsrTimeout(
                        f"speech recognition took more than {timeout:.0f} s") from None
                alive()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0 or not out.is_file():
        err = errors.read_text("utf-8", "replace").strip()
        raise AsrFailed(f"the speech recognizer stopped with status {proc.returncode}: "
                        f"{err.splitlines()[-1][:300] if err else 'no message'}")
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def run(model: str, media: str, language: str | None, threads: int) -> dict[str, Any]:
    """In the child: load the model, transcribe, return JSON-ready results."""
    import faster_whisper
    from faster_whisper import WhisperModel

    whisper = WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=threads,
                           local_files_only=True)
    segments, info = whisper.transcribe(
        media, language=language, vad_filter=True, condition_on_previous_text=False,
        beam_size=BEAM_SIZE, word_timestamps=False,
        initial_prompt=PROMPTS.get((language or "").split("-")[0]))
    out = []
    duration = round(float(info.duration) * 1000)
    for seg in segments:  # a generator: the decoding happens here
        text = seg.text.strip()[:MAX_SEGMENT_TEXT]
        start = max(0, round(seg.start * 1000))
        # Whisper can invent words past the end of what it heard (measured on poor
        # audio: segments at 31 s of a 7 s clip): none may lie outside the recording.
        if not text or start >= duration:
            continue
        end = min(max(start, round(seg.end * 1000)), duration)
        out.append({"start_ms": start, "end_ms": end, "text": text, "speaker": None})
    return {"segments": out, "language": info.language,
            "language_probability": round(float(info.language_probability) * 1000),
            "duration_ms": duration,
            "engine_version": faster_whisper.__version__}


def main(argv: list[str]) -> int:
    import argparse
    import contextlib
    import ctypes

    # Die with the worker that started us (Linux): a killed server must not leave a
    # recognizer using the CPU while its job runs again elsewhere.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG

    p = argparse.ArgumentParser(prog="fieldproof.transcripts.asr")
    p.add_argument("model")
    p.add_argument("media")
    p.add_argument("out")
    p.add_argument("--language")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    result = run(a.model, a.media, a.language, a.threads)
    tmp = Path(a.out + ".part")
    tmp.write_text(json.dumps(result, ensure_ascii=False))
    tmp.rename(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
