"""Real recordings for tests, made by Debian's ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def ffmpeg(out: Path, *args: str) -> bytes:
    """Run ffmpeg (quietly) to write ``out``; returns its bytes."""
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args, str(out)],
                   check=True, timeout=120)
    return out.read_bytes()


def video_mp4(tmp: Path, seconds: float = 1.0) -> bytes:
    """A test pattern (red at the first frame) with a tone, MPEG-4 Part 2 + AAC."""
    return ffmpeg(tmp / "clip.mp4", "-f", "lavfi", "-i",
                  f"color=c=red:size=320x240:rate=10:duration={seconds}",
                  "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                  "-c:v", "mpeg4", "-c:a", "aac", "-shortest")


def audio_webm(tmp: Path, seconds: float = 2.0) -> bytes:
    """A tone that swells, Opus in WebM (what a browser records)."""
    return ffmpeg(tmp / "talk.webm", "-f", "lavfi", "-i",
                  f"sine=frequency=300:duration={seconds}", "-af",
                  f"volume='t/{seconds}':eval=frame", "-c:a", "libopus")
