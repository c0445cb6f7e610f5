"""Thumbnails: what a person recognises in a list, made from the original.

- a photo (any image Pillow reads): turned upright, at most 480 px, no metadata;
- a video or screen recording: its first frame;
- an audio recording: its waveform, drawn.

Images are decoded here (Pillow, with its decompression-bomb limit). Audio and
video are decoded by FFmpeg (PyAV), which parses untrusted files: that runs in
a child process (this file run as a script with ``python -I``: only PyAV,
Pillow and the standard library) with a time and memory limit, as
evidence/remux.py does. Thumbnails are cached in the object store by the
original's SHA-256, so each is made once.
"""

from __future__ import annotations

import array
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Final

SIZE: Final = 480  # px, the long side
WAVE: Final = (480, 160)
TIMEOUT: Final = 60.0  # seconds for the child
MAX_INPUT: Final = 4 << 30
VERSION: Final = "v1"  # in the cache key: bump when the pictures change
_INK, _PAPER = (40, 92, 160), (244, 246, 250)


class NoThumbnail(Exception):
    """This original has no picture to show (a PDF, an unreadable file)."""


def cache_key(media_sha256: str) -> str:
    return f"thumbs/{VERSION}/{media_sha256[:2]}/{media_sha256}.jpg"


def _jpeg(img: object) -> bytes:
    from PIL import Image

    assert isinstance(img, Image.Image)
    img = img.convert("RGB")
    img.thumbnail((SIZE, SIZE))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, optimize=True)  # no EXIF: nothing private rides along
    return out.getvalue()


def image_thumbnail(data: IO[bytes]) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(data) as img:
            img.draft("RGB", (SIZE * 2, SIZE * 2))  # JPEG: decode at a reduced scale
            return _jpeg(ImageOps.exif_transpose(img))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NoThumbnail(f"the image cannot be read ({exc})") from exc


def media_thumbnail(src: IO[bytes], kind: str, *, timeout: float = TIMEOUT) -> bytes:
    """First frame (``kind="video"``), the page once loaded (``"web"``) or waveform
    (``"audio"``), made in a child."""
    with tempfile.TemporaryDirectory(prefix="fieldproof-thumb-") as tmp:
        source = Path(tmp) / "original"
        with open(source, "wb") as f:
            while block := src.read(1 << 20):
                f.write(block)
        try:
            proc = subprocess.run(  # noqa: S603 - our interpreter and this file
                [sys.executable, "-I", __file__, kind, str(source)], capture_output=True,
                timeout=timeout, check=False, cwd=tmp,
                env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")})
        except subprocess.TimeoutExpired as exc:
            raise NoThumbnail("making the thumbnail took too long") from exc
    if proc.returncode != 0 or not proc.stdout.startswith(b"\xff\xd8"):
        raise NoThumbnail(proc.stderr.decode("utf-8", "replace").strip()[-300:]
                          or "no picture in this recording")
    return proc.stdout


# --------------------------------------------------------------------------- the child
def _first_frame(path: str, at: float = 0.0) -> bytes:
    """The first frame at or after ``at`` seconds (or the last one, if shorter)."""
    import av

    last = None
    with av.open(path) as container:
        stream = next((s for s in container.streams if s.type == "video"), None)
        if stream is None:
            return _waveform(path)  # a recording with sound only
        for frame in container.decode(stream):
            if isinstance(frame, av.VideoFrame):
                last = frame
                if frame.time is None or (frame.time >= at and not _blank(frame)):
                    break
    if last is None:
        raise SystemExit("no video frame")
    return _jpeg(last.to_image())  # type: ignore[no-untyped-call]


def _blank(frame: Any) -> bool:
    """A frame of one colour (an empty window before a page paints)."""
    from PIL import ImageStat

    small = frame.to_image().convert("L").resize((64, 40))
    return bool(ImageStat.Stat(small).stddev[0] < 2.0)


# A web capture's recording starts on an empty window: its picture is the first
# frame from this time on that is not one colour (the page, once it painted).
WEB_PICTURE_AT: Final = 3.0


_SAMPLES: Final = {"flt": ("f", 1.0), "s16": ("h", 32768.0), "s32": ("i", 2147483648.0)}


def a_size(code: str) -> int:
    return array.array(code).itemsize


def _waveform(path: str) -> bytes:
    import av
    from PIL import Image, ImageDraw

    width, height = WAVE
    peaks: list[float] = []
    with av.open(path) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise SystemExit("no audio stream")
        for frame in container.decode(stream):
            if not isinstance(frame, av.AudioFrame):
                continue
            plane = bytes(frame.planes[0])
            # The peak of each decoded frame, from its first plane (no NumPy here).
            code, scale = _SAMPLES.get(frame.format.name[:3], ("", 1.0))
            if code:
                a = array.array(code, plane[: len(plane) // a_size(code) * a_size(code)])
                peaks.append(max((abs(x) for x in a), default=0) / scale)
            if len(peaks) > 200_000:
                break
    if not peaks:
        raise SystemExit("no audio samples")
    img = Image.new("RGB", (width, height), _PAPER)
    draw = ImageDraw.Draw(img)
    mid, top = height // 2, max(peaks) or 1.0
    per = len(peaks) / width
    for x in range(width):
        chunk = peaks[int(x * per): max(int(x * per) + 1, int((x + 1) * per))]
        h = int((max(chunk) / top) * (height * 0.45)) if chunk else 0
        draw.line([(x, mid - h), (x, mid + h)], fill=_INK)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _child(argv: list[str]) -> int:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    kind, path = argv
    data = (_first_frame(path) if kind == "video" else
            _first_frame(path, WEB_PICTURE_AT) if kind == "web" else _waveform(path))
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
