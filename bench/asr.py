"""Machine transcripts: the real-time factor of speech recognition on this machine.

    .venv/bin/python -m bench.asr                   # 10 s and 60 s of English speech
    .venv/bin/python -m bench.asr --seconds 30 120

Speech from espeak-ng (the same sentences as the tests, repeated to length,
Opus in WebM as a browser records), transcribed through the server's own path:
the child process of transcripts/asr.py (model load included), with the
packaged Whisper base model, int8, 2 threads, VAD on, beam 5.

Baseline, in the same run: the audio's own duration, and ffmpeg decoding the
same file to PCM (what reading it costs at all). Reported per clip:
  rtf               wall seconds to transcribe / seconds of audio (lower is better)
  x decode          transcription wall / ffmpeg decode wall
  peak RSS MiB      of the recognizer process
Benchmarks report; nothing here asserts a goal.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._util import header, log, table, write_json
from fieldproof.transcripts import asr, model

SENTENCES = (
    "The landlord promised to return the deposit of three thousand yuan on Friday.",
    "When I called him on Thursday evening he said the money would come next week.",
    "He also said that he would keep five hundred yuan for the cleaning.",
    "I told him that the apartment was in the same condition as when I moved in.",
)


def _clip(tmp: Path, seconds: int) -> Path:
    text = " ".join(SENTENCES[i % len(SENTENCES)] for i in range(max(1, seconds // 4)))
    raw = tmp / f"speech-{seconds}.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(raw), text], check=True)
    out = tmp / f"speech-{seconds}.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-af",
                    f"apad=whole_dur={seconds},atrim=0:{seconds},aresample=48000", "-ac", "1",
                    "-c:a", "libopus", "-b:a", "32k", str(out)], check=True)
    return out


def _one(directory: Path, clip: Path, seconds: int, tmp: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-f", "s16le", "-ac", "1",
                    "-ar", "16000", str(tmp / "decoded.pcm")], check=True)
    decode = time.perf_counter() - t0
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    result = asr.transcribe(directory, clip, tmp / f"out-{seconds}.json", language="en",
                            threads=2, timeout=3600)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "wall_s": round(wall, 2), "rtf": round(wall / seconds, 3),
            "decode_s": round(decode, 3), "x_decode": round(wall / max(decode, 1e-6), 1),
            "peak_rss_mib": round(max(rss, before) / 1024, 1),
            "segments": len(result["segments"])}


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.asr", description=__doc__)
    p.add_argument("--seconds", type=int, nargs="+", default=[10, 60])
    args = p.parse_args(argv)
    directory = model.find(None)
    if directory is None:
        log("asr: no speech model installed (make install assembles it)")
        return 1
    results: dict[str, Any] = {**header("asr"), "model": str(directory), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as d:
        tmp = Path(d)
        for seconds in args.seconds:
            log(f"asr: {seconds} s of speech")
            results["runs"].append(_one(directory, _clip(tmp, seconds), seconds, tmp))
    print(table([("audio s", "wall s", "rtf", "decode s", "x decode", "peak RSS MiB",
                  "segments"),
                 *[(str(r["seconds"]), str(r["wall_s"]), str(r["rtf"]), str(r["decode_s"]),
                    str(r["x_decode"]), str(r["peak_rss_mib"]), str(r["segments"]))
                   for r in results["runs"]]]))
    write_json("asr", results)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
