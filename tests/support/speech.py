"""Spoken test audio: Debian's espeak-ng, padded with silence, encoded by ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

# What the English clip says, and where: speech starts after LEAD seconds.
ENGLISH = "The landlord promised to return the deposit of three thousand yuan on Friday."
LEAD = 2.0


def speech(tmp: Path, text: str = ENGLISH, *, voice: str = "en", lead: float = LEAD,
           tail: float = 1.0, codec: str = "webm") -> tuple[Path, float]:
    """A recording of ``text`` after ``lead`` s of silence, as Opus in WebM (what a
    browser records) or WAV; returns the file and where the speech ends (s)."""
    raw = tmp / f"spoken-{voice}.raw.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True,
                   capture_output=True)
    spoken = float(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(raw)], check=True, capture_output=True, text=True).stdout.strip())
    out = tmp / f"speech-{voice}.{codec}"
    ms = int(lead * 1000)
    args = ["-c:a", "libopus", "-b:a", "32k"] if codec == "webm" else ["-c:a", "pcm_s16le"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-af",
                    f"adelay={ms}|{ms},apad=pad_dur={tail},aresample=48000", "-ac", "1",
                    *args, str(out)], check=True, capture_output=True)
    return out, lead + spoken
